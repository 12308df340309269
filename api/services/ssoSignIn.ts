// SP-initiated SSO sign-in: the login request to the IdP and the assertion consumer's part after
// the HTTP edge. Every response from the IdP is hostile until sso/saml has validated it; then the
// relay state and the browser binding are checked, the profile is mapped and parked in a sign-in
// attempt, and the ssoSignIn workflow decides who signs in (linking, JIT, refusals).
import type { ConnectorDoc } from '../../db/collections';
import { createMongoSamlRequestStore } from '../../db/samlRequests';
import { insertSignInAttempt } from '../../db/signInAttempts';
import { mapProfile, mergeAttributeMapping, type MappedProfile } from '../../domain/attributeMapping';
import { DomainError } from '../../domain/errors';
import { asUserId, type ConnectorId, type OrgId, type UserId } from '../../domain/ids';
import { allowedReturnTo } from '../../domain/returnTo';
import { spUrls } from '../../sso/connectorUrls';
import { decodeRelayState, encodeRelayState } from '../../sso/relayState';
import { SamlValidationError } from '../../sso/saml/errors';
import { createSamlClient, type SamlClient, type SamlClientOptions } from '../../sso/saml/samlClient';
import { inlineSamlValidator } from '../../sso/saml/validationPool';
import { ambiguousEmail } from '../../domain/identityAmbiguity';
import { refusalWithDetails } from '../../domain/signInDiagnostics';
import type { SsoSignInResult } from '../../workflows/shared';
import type { ApiDeps } from '../context';
import type { AfterSignIn } from './afterSignIn';
import { recordSignInAttempt, type SignInRecorder } from './signInDiagnostics';
import { assertSsoSignInAllowed } from './enforcement';
import { runAccountLinking, runJitProvisioning, ssoSignInWorkflowId } from '../workflowClient';
import { identityId, refreshIdentity, verifiedDomainsOf } from '../../db/ssoIdentities';
import { findUserByEmail, isEmailProven } from '../../db/users';
import { decideSsoSignIn, type SsoSignInFacts } from '../../domain/signInPolicy';
import { timed } from '../../runtime/stepTimings';
import { findByIdShared } from '../../db/sharedReads';

/** Who signed in through which connection (of which organization), and where the browser goes. */
export interface SsoSignedIn {
  userId: UserId;
  connectorId: ConnectorId;
  orgId: OrgId;
  returnTo: string;
}

/** A connection that may be used to sign in right now (docs/rules.md, rule 1: Business plan only). */
export async function usableConnector(deps: ApiDeps, connectorId: ConnectorId): Promise<ConnectorDoc> {
  const connector = await activeConnector(deps, connectorId);
  await assertBusinessPlan(deps, connector);
  return connector;
}

async function activeConnector(deps: ApiDeps, connectorId: ConnectorId): Promise<ConnectorDoc> {
  // Shared between concurrent sign-ins, never older than this one (db/sharedReads.ts).
  const connector = await timed('db: read connection', () => findByIdShared(deps.c.connectors, connectorId));
  if (!connector) throw new DomainError('not_found', 'Connection not found');
  if (connector.status !== 'active') throw new DomainError('connector_deleting');
  return connector;
}

async function assertBusinessPlan(deps: ApiDeps, connector: ConnectorDoc): Promise<void> {
  const org = await timed('db: read organization', () => findByIdShared(deps.c.orgs, connector.orgId));
  if (org?.plan !== 'business')
    throw new DomainError('connector_disabled', 'This organization is not on the Business plan');
}

function samlClientFor(deps: ApiDeps, connector: ConnectorDoc): SamlClient {
  return createSamlClient(samlClientOptions(deps, connector));
}

function samlClientOptions(deps: ApiDeps, connector: ConnectorDoc): SamlClientOptions {
  if (!connector.saml) throw new DomainError('connector_disabled', 'This connection has no SAML settings');
  const sp = spUrls(deps.config.publicUrl, connector._id);
  return {
    connectorId: connector._id,
    spEntityId: sp.entityId,
    acsUrl: sp.acsUrl,
    idp: connector.saml,
    clockSkewMs: deps.config.saml.clockSkewMs,
    requestTtlMs: deps.config.saml.requestTtlMs,
    requestStore: createMongoSamlRequestStore(deps.c.samlRequests, { now: deps.clock }),
  };
}

/** The connection to start a login with, after the desktop version gate (rule 9). */
export async function connectorForLogin(
  deps: ApiDeps,
  connectorId: ConnectorId,
  clientVersion: string | undefined,
): Promise<ConnectorDoc> {
  const connector = await usableConnector(deps, connectorId);
  // Once SSO is enforced, desktop clients below the minimum version must upgrade first (rule 9).
  assertSsoSignInAllowed(deps, connector, clientVersion);
  return connector;
}

/** Where the browser goes after signing in: only ever an allowed origin (no open redirect). */
export function loginReturnTo(deps: ApiDeps, returnTo: string | undefined): string {
  const target = allowedReturnTo(
    returnTo,
    deps.config.allowedReturnOrigins,
    `${deps.config.allowedReturnOrigins[0] ?? deps.config.publicUrl}/`,
  );
  if (!target) throw new DomainError('return_to_not_allowed');
  return target;
}

/** Either a redirect to the IdP, or (for IdPs that take requests by POST only) a self-submitting form. */
export type SsoLoginRequest =
  { kind: 'redirect'; url: string } | { kind: 'form'; html: string; idpOrigin: string };

/**
 * The AuthnRequest for the IdP. `bindBrowser` ties the sign-in to the browser that starts it
 * (api/browserBinding.ts) and answers the digest that goes into the relay state.
 */
export async function ssoLoginRequest(
  deps: ApiDeps,
  connector: ConnectorDoc,
  returnTo: string | undefined,
  bindBrowser: () => string,
): Promise<SsoLoginRequest> {
  const target = loginReturnTo(deps, returnTo);
  const expiresAt = new Date(deps.clock().getTime() + deps.config.saml.requestTtlMs);
  const relayState = encodeRelayState(
    connector._id,
    { returnTo: target, bindingDigest: bindBrowser() },
    expiresAt,
    deps.keys,
  );
  const client = samlClientFor(deps, connector);
  if (connector.saml?.ssoBinding === 'HTTP-POST') {
    return {
      kind: 'form',
      html: (await client.buildLoginForm(relayState)).html,
      idpOrigin: new URL(connector.saml.ssoUrl).origin,
    };
  }
  return { kind: 'redirect', url: (await client.buildLoginUrl(relayState)).url };
}

/**
 * The assertion consumer: who signs in, and where the browser goes next. `isSameBrowser` checks
 * the relay state's binding digest against the browser that posts the response.
 */
export async function completeSsoSignIn(
  deps: ApiDeps,
  connectorId: ConnectorId,
  body: { SAMLResponse?: unknown; RelayState?: unknown },
  clientVersion: string | undefined,
  isSameBrowser: (bindingDigest: string) => boolean,
  /** Where a success's diagnostic write goes to finish alongside the session. */
  after?: AfterSignIn,
): Promise<SsoSignedIn> {
  // Every attempt leaves a sign-in diagnostic for the connection's admin (signInDiagnostics.ts).
  return recordSignInAttempt(
    deps,
    connectorId,
    'saml',
    (recorder) => consumeSamlResponse(deps, connectorId, body, clientVersion, isSameBrowser, recorder),
    after,
  );
}

async function consumeSamlResponse(
  deps: ApiDeps,
  connectorId: ConnectorId,
  body: { SAMLResponse?: unknown; RelayState?: unknown },
  clientVersion: string | undefined,
  isSameBrowser: (bindingDigest: string) => boolean,
  recorder: SignInRecorder,
): Promise<SsoSignedIn> {
  const connector = await activeConnector(deps, connectorId);
  recorder.note({ connector });
  // The plan is read while the response is validated (one round trip less per sign-in). The
  // refusals keep connectorForLogin's order and win over any validation error: plan, then the
  // desktop version gate (rule 9), which also comes before validation starts, so a refused
  // desktop client does not use up its sign-in request.
  const planChecked = assertBusinessPlan(deps, connector);
  try {
    assertSsoSignInAllowed(deps, connector, clientVersion);
  } catch (gate) {
    await planChecked;
    throw gate;
  }
  const [plan, validated] = await Promise.allSettled([
    planChecked,
    timed('SAML validation (incl. request ID consume)', () =>
      (deps.samlValidator ?? inlineSamlValidator).validate(samlClientOptions(deps, connector), body),
    ),
  ]);
  if (plan.status === 'rejected') throw plan.reason;
  if (validated.status === 'rejected') {
    const error: unknown = validated.reason;
    // The cause keeps the validation's details for the diagnostics; the answer carries code and message.
    if (error instanceof SamlValidationError)
      throw new DomainError(error.code, error.message, {}, { cause: error });
    throw error;
  }
  const assertion = validated.value;
  const state = decodeRelayState(assertion.relayState, connector._id, deps.clock(), deps.keys);
  if (!state)
    throw new DomainError('return_to_not_allowed', 'The sign-in state is missing, expired or not ours');
  if (!isSameBrowser(state.bindingDigest)) throw new DomainError('sso_browser_mismatch');

  const mapping = mergeAttributeMapping(connector.attributeMapping);
  // Rule 11, on the signed assertion's own values (node-saml's profile hides repeated elements).
  const ambiguous = ambiguousEmail(assertion.signedAttributeValues, mapping);
  if (ambiguous) {
    throw refusalWithDetails('sso_ambiguous_identity', 'The assertion gives more than one email address', {
      ambiguous: { source: 'email', ...ambiguous },
    });
  }
  const mapped = mapProfile(assertion.attributes, assertion.nameId, assertion.nameIdFormat, mapping);
  recorder.note({
    attributeNames: Object.keys(assertion.signedAttributeValues),
    ...(mapped.email === undefined ? {} : { email: mapped.email }),
  });
  const userId = await signInAs(deps, connector, assertion.nameId, mapped, recorder.signedIn);
  return { userId, connectorId: connector._id, orgId: connector.orgId, returnTo: state.returnTo };
}

/**
 * After any protocol has validated the IdP's answer: who signs in. The API decides on a fast read
 * with the one sign-in policy (domain/signInPolicy.ts `decideSsoSignIn`, which the workflows use
 * too); the connection's state and plan and the desktop gate were checked before the response was
 * even read (connectorForLogin).
 * - A returning identity needs no durable process: one idempotent write refreshes its profile and
 *   last sign-in and finds its user in the same round trip, and the person is in.
 * - A refusal is answered at once.
 * - Linking and JIT provisioning park what the IdP said in a sign-in attempt (no personal data
 *   goes to Temporal) and run the one workflow that applies, which decides again on the account
 *   as it is when it writes.
 */
export async function signInAs(
  deps: ApiDeps,
  connector: ConnectorDoc,
  subject: string,
  mapped: MappedProfile,
  /** Told which way the person got in (the sign-in diagnostics record it). */
  onSignedIn?: (result: Extract<SsoSignInResult, { userId: string }>) => void,
): Promise<UserId> {
  const returningUser = await timed('db: refresh identity (finds a returning one)', () =>
    refreshIdentity(deps.c, identityId(connector._id, subject), mapped.profile, deps.clock()),
  );
  // A known identity signs in whatever else is true now (rule 6): the other facts are only read
  // for a new one.
  const decision = decideSsoSignIn(
    returningUser
      ? { existingIdentity: { userId: returningUser }, connectorVerifiedDomains: [], jitEnabled: false }
      : await timed('db: read account by email, verified domains', () =>
          newIdentityFacts(deps, connector, mapped.email),
        ),
  );
  if (decision.kind === 'returning') {
    onSignedIn?.({ outcome: 'returning', userId: decision.userId });
    return decision.userId;
  }
  if (decision.kind === 'refuse') throw new DomainError(decision.code);

  const attemptId = await timed('db: insert sign-in attempt', () =>
    insertSignInAttempt(
      deps.c,
      {
        connectorId: connector._id,
        orgId: connector.orgId,
        subject,
        ...(mapped.email ? { email: mapped.email } : {}),
        ...(mapped.name ? { name: mapped.name } : {}),
        ...(mapped.avatarUrl ? { avatarUrl: mapped.avatarUrl } : {}),
        profile: mapped.profile,
      },
      deps.clock(),
    ),
  );
  const workflowId = ssoSignInWorkflowId(deps.keys, connector._id, subject);
  const step = {
    attemptId,
    connectorId: connector._id,
    orgId: connector.orgId,
    role: connector.jit.defaultRole,
  };
  if (decision.kind === 'provision') {
    const provisioned = await runJitProvisioning(deps, workflowId, step);
    onSignedIn?.(provisioned);
    return asUserId(provisioned.userId);
  }
  // 'reclaim' (an unproven account) runs the same workflow as 'link': it decides on the account as
  // it is when it writes, and says which it did.
  const linked = await runAccountLinking(deps, workflowId, { ...step, userId: decision.userId });
  onSignedIn?.({ outcome: linked.reclaimed ? 'reclaimed' : 'linked', userId: linked.userId });
  return asUserId(linked.userId);
}

/** What decideSsoSignIn needs about an identity this connection has not seen yet. */
async function newIdentityFacts(
  deps: ApiDeps,
  connector: ConnectorDoc,
  email: string | undefined,
): Promise<SsoSignInFacts> {
  const [userByEmail, verified] = await Promise.all([
    email !== undefined ? findUserByEmail(deps.c, email) : null,
    verifiedDomainsOf(deps.c, connector),
  ]);
  return {
    ...(userByEmail
      ? { existingUserByEmail: { userId: userByEmail._id, emailProven: isEmailProven(userByEmail) } }
      : {}),
    ...(email !== undefined ? { email } : {}),
    connectorVerifiedDomains: verified,
    jitEnabled: connector.jit.enabled,
  };
}
