// Typed access to every collection. Documents use string IDs chosen by the application, so an
// activity that runs twice can derive the same ID and upsert instead of inserting a duplicate.
import type { Collection, Db, Document, OptionalUnlessRequiredId } from 'mongodb';
import type { ConnectorId, DomainId, OrgId, UserId } from '../domain/ids';
import type { AttributeMapping } from '../domain/attributeMapping';
import type { DomainStatus } from '../domain/domainVerification';
import type { EmailVerification } from '../domain/signInPolicy';
import type { OidcProviderMetadata } from '../sso/oidc/oidcClient';
import type { TeardownPhase } from '../domain/teardown';
import type { SignInDiagnosticDoc } from './signInDiagnostics';

export type Plan = 'free' | 'team' | 'business';

export interface OrgDoc {
  _id: OrgId;
  name: string;
  plan: Plan;
  createdAt: Date;
  updatedAt: Date;
}

export interface ApiKeyDoc {
  _id: string;
  orgId: OrgId;
  /** Keyed digest of the secret; the key itself is shown once and never stored. */
  digest: string;
  createdAt: Date;
}

export interface UserDoc {
  _id: UserId;
  /** Normalized (NFC, lower case, punycode domain); unique. */
  email: string;
  /**
   * Null (or absent, on accounts older than email proof) until the mailbox is proven: such an
   * account cannot sign in and SSO identities never attach to it (domain/signInPolicy.ts).
   */
  emailVerified: EmailVerification | null;
  name: string | null;
  avatarUrl: string | null;
  passwordHash: string | null;
  /**
   * Set when the account has no password but may need one: SSO was removed from a user who never
   * had one (teardown), or an IdP reclaimed an unproven account and removed its password.
   */
  needsPasswordSetup: boolean;
  /** The confirmed TOTP secret, sealed (security/secretBox.ts); null when TOTP is off. */
  totpSecret: string | null;
  /** An enrollment waiting for its first code (sealed); absent or null otherwise. */
  totpPending?: string | null;
  /** Keyed digests of the unused recovery codes (each works once, in place of a TOTP code). */
  recoveryCodes?: string[];
  /** The last TOTP time step accepted: an older or equal one is a replay. */
  totpLastStep?: number;
  createdAt: Date;
  updatedAt: Date;
}

/** A break-glass account: exempt from its organization's SSO enforcement (api/services/breakGlass.ts). */
export interface BreakGlassDoc {
  /** `${orgId}:${slot}`: slots 0..BREAK_GLASS_MAX-1, so the limit holds without a count-then-insert. */
  _id: string;
  orgId: OrgId;
  userId: UserId;
  createdAt: Date;
}

export interface MembershipDoc {
  /** `${orgId}:${userId}`: one membership per user and org, whoever creates it first. */
  _id: string;
  orgId: OrgId;
  userId: UserId;
  role: string;
  createdAt: Date;
}

export type { DomainStatus };

export interface DomainDoc {
  _id: DomainId;
  orgId: OrgId;
  domain: string;
  status: DomainStatus;
  token: string;
  checks: number;
  lastCheckedAt: Date | null;
  verifiedAt: Date | null;
  failureReason: string | null;
  /** Re-verification: when the TXT record was first seen missing after verification. */
  missingSince: Date | null;
  /**
   * Which verification run owns the record: raised each time verification restarts, and every
   * write of a run is conditional on it, so a late write of an earlier run matches nothing.
   * Absent on records from before generations existed, which counts as 0.
   */
  generation?: number;
  createdAt: Date;
  updatedAt: Date;
}

/** `_id` is the domain name: a verified domain belongs to exactly one organization. */
export interface DomainClaimDoc {
  _id: string;
  orgId: OrgId;
  domainId: DomainId;
  /** The domain's generation whose run claimed it (absent = 0): only that run may undo it. */
  generation?: number;
  claimedAt: Date;
}

export type ConnectorType = 'saml' | 'entra-id' | 'oidc';
export type ConnectorStatus = 'active' | 'deleting';

export interface SamlIdpSettings {
  entityId: string;
  ssoUrl: string;
  /** How AuthnRequests reach ssoUrl; absent on older documents, which means HTTP-Redirect. */
  ssoBinding?: 'HTTP-Redirect' | 'HTTP-POST';
  certificates: string[];
  metadataUrl: string | null;
}

/** An OIDC or Entra ID connection's provider and client (api/services/oidcConnectors.ts). */
export interface OidcIdpSettings {
  issuer: string;
  /** Entra ID connections only: the tenant whose users may sign in. */
  tenantId: string | null;
  clientId: string;
  /** Sealed (security/secretBox.ts, key purpose client-secret, bound to the connection ID). */
  clientSecret: string;
  /** Which key sealed it (security/keys.ts keyId), so a rotation can be followed. */
  clientSecretKeyId: string;
  /** From the provider's discovery document, read when the connection was created. */
  provider: OidcProviderMetadata;
}

export interface ConnectorDoc {
  _id: ConnectorId;
  orgId: OrgId;
  type: ConnectorType;
  name: string;
  domains: string[];
  status: ConnectorStatus;
  enforced: boolean;
  jit: { enabled: boolean; defaultRole: string };
  attributeMapping: Partial<AttributeMapping>;
  saml: SamlIdpSettings | null;
  /** OIDC and Entra ID connections; absent or null for SAML ones. */
  oidc?: OidcIdpSettings | null;
  createdAt: Date;
  updatedAt: Date;
}

/** `_id` is the domain name: a domain is tied to at most one active connection. */
export interface ConnectorDomainDoc {
  _id: string;
  connectorId: ConnectorId;
  orgId: OrgId;
}

export interface SsoIdentityDoc {
  /** Deterministic: `${connectorId}:${digest(subject)}`, so concurrent sign-ins upsert one identity. */
  _id: string;
  connectorId: ConnectorId;
  orgId: OrgId;
  subject: string;
  userId: UserId;
  profile: Record<string, string | string[]>;
  createdAt: Date;
  lastSignInAt: Date;
}

/**
 * What the IdP said about a person, kept here for the sign-in workflow so that Temporal's history
 * (and so the Temporal UI) holds only this document's ID, never emails or IdP attributes.
 */
export interface SignInAttemptDoc {
  _id: string;
  connectorId: ConnectorId;
  orgId: OrgId;
  subject: string;
  email: string | null;
  name: string | null;
  avatarUrl: string | null;
  profile: Record<string, string | string[]>;
  createdAt: Date;
  /** Long enough for provisioning to keep retrying through an outage, and to be retried by hand. */
  expiresAt: Date;
}

export interface SessionDoc {
  /** Keyed digest of the session token. */
  _id: string;
  userId: UserId;
  amr: string[];
  connectorId: ConnectorId | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface AuditEventDoc {
  _id: string;
  type: string;
  orgId: OrgId | null;
  /** The target: the organization, domain, connection or user the event is about. */
  subjectId: string | null;
  /** Who acted (`operator`, `api-key`, `user:<id>`, `anonymous`); absent: the system itself. */
  actor?: string;
  at: Date;
  data: Record<string, unknown>;
}

export type EmailCodePurpose = 'sign_up' | 'sign_in';

/** A one-time code sent to a mailbox; only a keyed digest of the code is stored. */
export interface EmailCodeDoc {
  /** `${purpose}:${userId}`: one live code per purpose and account; a new one replaces the old. */
  _id: string;
  purpose: EmailCodePurpose;
  userId: UserId;
  codeDigest: string;
  /** Random per code: its guesses are counted under this (db/locks.ts takeSlot). */
  issueId: string;
  /** sign_up: the password chosen with this sign-up, applied only when this code is proven. */
  passwordHash: string | null;
  name: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'expired';

/** An email to deliver (db/outbox.ts); the emailDelivery workflow sends it once. */
export interface OutboxDoc {
  /** Deterministic per message (outboxMessageId), so enqueueing it twice stores it once. */
  _id: string;
  kind: string;
  to: string;
  subject: string;
  /** Cleared once sent or given up: it may carry a code or a link. */
  text: string | null;
  status: OutboxStatus;
  createdAt: Date;
  sentAt: Date | null;
  failure: string | null;
  /** Sending is pointless after this (the code or link inside expired); the document goes too. */
  expiresAt: Date;
}

/** A key held by one writer at a time, or a counted slot (db/locks.ts). */
export interface LockDoc {
  _id: string;
  owner: string;
  expiresAt: Date;
}

/**
 * A connection's teardown (api/services/connectorTeardown.ts, workflows/connectorTeardown.ts).
 * `_id` is the connection ID: inserting it is how one DELETE among concurrent ones wins, and a
 * restore deletes it, so the next DELETE starts a new teardown. Kept after the connection is
 * gone, as the record of what was removed (IDs and counts only).
 */
export interface TeardownDoc {
  _id: ConnectorId;
  teardownId: string;
  orgId: OrgId;
  /** Who asked: `operator`, or `api-key` (an organization API key). */
  requestedBy: string;
  requestedAt: Date;
  deleteAfter: Date;
  phase: TeardownPhase;
  /** SSO identities removed so far, and the number there were when removal started. */
  processed: number;
  total: number | null;
  /** Users sent a password-setup link. */
  passwordSetups: number;
  finishedAt: Date | null;
}

/**
 * One batch of a teardown: the identity IDs it removes are written before anything is removed,
 * so a retried batch works on exactly the same identities and counts them once.
 */
export interface TeardownBatchDoc {
  /** `${teardownId}:${batch number}` */
  _id: string;
  teardownId: string;
  identityIds: string[];
  /** Their users (each once): read before the identities go, so a retry still knows them. */
  userIds: UserId[];
  /** The users this batch sent a setup link to (set when the batch is done). */
  passwordSetups?: number | null;
  createdAt: Date;
}

/** A one-time password-setup token; only its keyed digest is stored. */
export interface PasswordSetupTokenDoc {
  /** Keyed digest of the token (security/keys.ts 'setup-token'). */
  _id: string;
  userId: UserId;
  /** Why it was issued: a teardown ID, or `request` (POST /v1/auth/password/setup/start). */
  reason: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface SamlRequestDoc {
  _id: string;
  connectorId: string;
  expiresAt: Date;
}

/** A pending OIDC authorization request (db/oidcRequests.ts); `_id` is a digest of its state. */
export interface OidcRequestDoc {
  _id: string;
  connectorId: ConnectorId;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /** Digest of the browser-binding nonce of the browser that started the sign-in. */
  bindingDigest: string;
  expiresAt: Date;
}

/** One hit counted against a rate limit (db/rateLimits.ts); `_id` is `<bucket>:<slot>`. */
export interface RateLimitSlotDoc {
  _id: string;
  bucket: string;
  expiresAt: Date;
}

export interface Collections {
  orgs: Collection<OrgDoc>;
  apiKeys: Collection<ApiKeyDoc>;
  users: Collection<UserDoc>;
  memberships: Collection<MembershipDoc>;
  domains: Collection<DomainDoc>;
  domainClaims: Collection<DomainClaimDoc>;
  connectors: Collection<ConnectorDoc>;
  connectorDomains: Collection<ConnectorDomainDoc>;
  ssoIdentities: Collection<SsoIdentityDoc>;
  sessions: Collection<SessionDoc>;
  signInAttempts: Collection<SignInAttemptDoc>;
  auditEvents: Collection<AuditEventDoc>;
  samlRequests: Collection<SamlRequestDoc>;
  oidcRequests: Collection<OidcRequestDoc>;
  emailCodes: Collection<EmailCodeDoc>;
  outbox: Collection<OutboxDoc>;
  locks: Collection<LockDoc>;
  breakGlass: Collection<BreakGlassDoc>;
  teardowns: Collection<TeardownDoc>;
  teardownBatches: Collection<TeardownBatchDoc>;
  passwordSetupTokens: Collection<PasswordSetupTokenDoc>;
  signInDiagnostics: Collection<SignInDiagnosticDoc>;
  rateLimits: Collection<RateLimitSlotDoc>;
}

export function collections(db: Db): Collections {
  return {
    orgs: db.collection('orgs'),
    apiKeys: db.collection('api_keys'),
    users: db.collection('users'),
    memberships: db.collection('memberships'),
    domains: db.collection('domains'),
    domainClaims: db.collection('domain_claims'),
    connectors: db.collection('connectors'),
    connectorDomains: db.collection('connector_domains'),
    ssoIdentities: db.collection('sso_identities'),
    sessions: db.collection('sessions'),
    signInAttempts: db.collection('sign_in_attempts'),
    auditEvents: db.collection('audit_events'),
    samlRequests: db.collection('saml_requests'),
    oidcRequests: db.collection('oidc_requests'),
    emailCodes: db.collection('email_codes'),
    outbox: db.collection('outbox'),
    locks: db.collection('locks'),
    breakGlass: db.collection('break_glass'),
    teardowns: db.collection('teardowns'),
    teardownBatches: db.collection('teardown_batches'),
    passwordSetupTokens: db.collection('password_setup_tokens'),
    signInDiagnostics: db.collection('sign_in_diagnostics'),
    rateLimits: db.collection('rate_limits'),
  };
}

export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/**
 * For `$setOnInsert` upserts: when two writers race on a new key, one inserts and the other may
 * get a duplicate-key error (FerretDB always, MongoDB in some cases). Either way the document
 * now exists as the first writer left it, which is all such an upsert promises.
 */
export async function upsertOnce(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

/**
 * Writes `doc` under its deterministic `_id` unless a document with that key is there already:
 * what a `$setOnInsert` upsert does, as a plain insert. An insert is a single indexed write on
 * every server, where FerretDB v1 applies an upsert as a scan of the whole collection followed by
 * a write (measured on the sign-in path). A duplicate key means the first writer's document
 * stands; answers whether this call wrote it.
 */
export async function insertOnce<T extends Document>(
  collection: Collection<T>,
  doc: OptionalUnlessRequiredId<T>,
): Promise<boolean> {
  try {
    await collection.insertOne(doc);
    return true;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    return false;
  }
}
