// Who may sign in, and how: the decisions behind rules 4-9 of docs/rules.md, as pure functions of
// facts the caller has already looked up. Callers turn a refusal into an error with
// refusalError(), so the codes and extensions stay the same on every path.
import { DomainError, type ErrorCode } from './errors';
import { emailDomain } from './email';
import type { ConnectorId, UserId } from './ids';

// ---------------------------------------------------------------------------------------------
// Proven mailboxes
//
// An account's email is either proven or not. Only the mailbox's owner can prove it: with a code
// sent to it, or through an IdP of a domain its organization verified (which vouches for every
// address in that domain). Until then the account is a claim anyone could have made by typing
// the address, so nothing may trust it: it cannot sign in, and no SSO identity attaches to it.

/** How the mailbox was proven. `sso_reclaim` marks an unproven account taken back by an IdP. */
export type EmailVerification =
  { at: Date; method: 'email_code' } | { at: Date; method: 'sso' | 'sso_reclaim'; identityId: string };

export type AccountClaim =
  /** The account is proven: attach the identity, keep everything else (rule 5). */
  | { kind: 'attach' }
  /** Unproven: the IdP's word wins over whoever typed the address (see reclaimUnprovenAccount). */
  | { kind: 'reclaim' }
  /** This identity already reclaimed it (a retried step): finish the steps after the proof. */
  | { kind: 'finish_reclaim' };

/**
 * What attaching SSO identity `identityId` to an existing account means, decided on the account
 * as it is at write time (not at decision time: a code may have proven it in between).
 */
export function accountClaim(verification: EmailVerification | null, identityId: string): AccountClaim {
  if (verification === null) return { kind: 'reclaim' };
  if (verification.method === 'sso_reclaim' && verification.identityId === identityId)
    return { kind: 'finish_reclaim' };
  return { kind: 'attach' };
}

// ---------------------------------------------------------------------------------------------
// SSO sign-in (rules 4, 5, 6)

export interface SsoSignInFacts {
  /** The SSO identity already known for this connection + subject (NameID / `sub`). */
  existingIdentity?: { userId: UserId };
  /** The account whose (normalized) email equals the IdP's email, if any. */
  existingUserByEmail?: { userId: UserId; emailProven: boolean };
  /** The email from attribute mapping, if the IdP sent a usable one. */
  email?: string;
  /** The connection's verified domains, in canonical form. */
  connectorVerifiedDomains: readonly string[];
  jitEnabled: boolean;
}

export type SsoRefusalCode = Extract<
  ErrorCode,
  'email_missing' | 'email_domain_not_allowed' | 'jit_disabled'
>;

/** A connection that cannot be used (any more) refuses before any rule is asked. */
export type ConnectorRefusalCode = Extract<ErrorCode, 'connector_deleting' | 'connector_disabled'>;

/** Every code an SSO sign-in run can end refused with. */
export type SsoSignInRefusalCode = SsoRefusalCode | ConnectorRefusalCode;

export type SsoSignInDecision =
  | { kind: 'returning'; userId: UserId }
  | { kind: 'link'; userId: UserId }
  | { kind: 'reclaim'; userId: UserId }
  | { kind: 'provision' }
  | { kind: 'refuse'; code: SsoRefusalCode };

/**
 * Order matters:
 * 1. A known identity signs in whatever the email says now: the subject is the stable key, and
 *    a changed or dropped email attribute must not lock out someone already linked (rule 6).
 * 2. A new identity needs an email to be linked or provisioned at all (rule 6).
 * 3. That email must be in one of the connection's verified domains, exactly (subdomains are
 *    separate claims): this is the only thing stopping an IdP from taking over accounts outside
 *    the domains its organization proved it owns (rule 5), so it precedes linking.
 * 4. An existing account is linked even when JIT is off: linking creates no account, and
 *    switching JIT off is about unknown people, not existing users (rule 4). Only an account
 *    whose email is proven is linked as it is; an unproven one is reclaimed: the IdP of a
 *    verified domain speaks for the mailbox, while the sign-up only claimed it (pre-hijacking).
 * 5. Otherwise a new account is provisioned, if JIT allows it.
 */
export function decideSsoSignIn(facts: SsoSignInFacts): SsoSignInDecision {
  if (facts.existingIdentity) return { kind: 'returning', userId: facts.existingIdentity.userId };
  const domain = facts.email === undefined ? undefined : emailDomain(facts.email);
  if (domain === undefined) return { kind: 'refuse', code: 'email_missing' };
  if (!isInDomains(domain, facts.connectorVerifiedDomains))
    return { kind: 'refuse', code: 'email_domain_not_allowed' };
  const account = facts.existingUserByEmail;
  if (account) return { kind: account.emailProven ? 'link' : 'reclaim', userId: account.userId };
  if (!facts.jitEnabled) return { kind: 'refuse', code: 'jit_disabled' };
  return { kind: 'provision' };
}

/** Exact match on canonical domains; `domains` may come from storage in any letter case. */
export function isInDomains(domain: string, domains: readonly string[]): boolean {
  const wanted = domain.toLowerCase();
  return domains.some((candidate) => candidate.toLowerCase() === wanted);
}

// ---------------------------------------------------------------------------------------------
// Any sign-in that is not SSO: password, email code, social (rules 7 and 9)

export interface EnforcementFacts {
  /** Set when the email's domain is tied to an enforced connection. */
  enforcedDomain?: { connectorId: ConnectorId };
  /** From isDesktopClientTooOld(); web clients are never too old. */
  clientTooOld: boolean;
}

export type EnforcementRefusal =
  | { kind: 'refuse'; code: 'client_upgrade_required' }
  | { kind: 'refuse'; code: 'sso_required'; connectorId: ConnectorId };

/**
 * The gate every non-SSO method passes first. It looks at the email's domain only, never at
 * the account, so it answers the same for existing and unknown addresses (home-realm discovery
 * already makes SSO routing public) and no password is ever evaluated for an enforced domain.
 * An outdated desktop client hears "upgrade" rather than "use SSO": it cannot perform SSO, so
 * upgrading is the only step that helps it; web clients are never too old.
 */
export function enforcementRefusal({
  enforcedDomain,
  clientTooOld,
}: EnforcementFacts): EnforcementRefusal | undefined {
  if (!enforcedDomain) return undefined;
  if (clientTooOld) return { kind: 'refuse', code: 'client_upgrade_required' };
  return { kind: 'refuse', code: 'sso_required', connectorId: enforcedDomain.connectorId };
}

export interface PasswordSignInFacts extends EnforcementFacts {
  /** Undefined when no account has this email. */
  account?: { hasPassword: boolean; mfaEnabled: boolean; emailProven: boolean; exempt?: boolean };
  /**
   * Whether the password matched the stored hash (false when there is no account or hash). For
   * an unproven account: the hash chosen with its pending sign-up.
   */
  passwordValid: boolean;
  totpGiven: boolean;
  /** Whether the given TOTP code is valid; ignored when none was given. */
  totpValid: boolean;
}

export type PasswordRefusalCode = Extract<
  ErrorCode,
  'invalid_credentials' | 'email_unverified' | 'password_setup_required' | 'mfa_required' | 'mfa_invalid'
>;

export type PasswordSignInDecision =
  | { kind: 'allow'; amr: string[]; exempted: boolean }
  | EnforcementRefusal
  | { kind: 'refuse'; code: PasswordRefusalCode };

/** Password sign-in in the terms of decideSignIn (the one table every method goes through). */
export function passwordSignInPolicy(facts: PasswordSignInFacts): PasswordSignInDecision {
  const decision = decideSignIn({
    method: 'password',
    ...(facts.enforcedDomain
      ? {
          connection: {
            connectorId: facts.enforcedDomain.connectorId,
            enforced: true,
            status: 'active',
            domainVerified: true,
          },
        }
      : {}),
    clientTooOld: facts.clientTooOld,
    ...(facts.account ? { account: { exempt: false, ...facts.account } } : {}),
    credentialValid: facts.passwordValid,
    ...(facts.totpGiven ? { totp: { valid: facts.totpValid } } : {}),
  });
  return decision as PasswordSignInDecision;
}

// ---------------------------------------------------------------------------------------------
// Every sign-in method in one table (rules 7, 8 and 9, and break-glass accounts)

export type SignInMethod = 'password' | 'email_code' | 'sso';

export interface SignInFacts {
  method: SignInMethod;
  /**
   * Password and email code: the connection the email's domain is tied to, if any. SSO: the
   * connection signed in through. `domainVerified` says whether the email's domain is (still)
   * verified by the connection's organization; enforcement only holds for verified domains.
   */
  connection?: {
    connectorId: ConnectorId;
    enforced: boolean;
    status: 'active' | 'deleting';
    domainVerified: boolean;
  };
  /** From isDesktopClientTooOld(); web clients are never too old. */
  clientTooOld: boolean;
  /**
   * Undefined when no account has this email (or, for SSO, before the workflow has decided).
   * `exempt`: a break-glass account of the enforcing organization.
   */
  account?: { emailProven: boolean; hasPassword: boolean; mfaEnabled: boolean; exempt: boolean };
  /** The password matched, or the email code matched; for SSO, the IdP's answer passed validation. */
  credentialValid: boolean;
  /** The TOTP (or recovery) code given, and whether it matched; absent when none was given. */
  totp?: { valid: boolean };
}

export type SignInRefusalCode =
  | PasswordRefusalCode
  | Extract<ErrorCode, 'email_code_invalid' | 'connector_deleting' | 'sso_response_invalid'>;

export type SignInDecision =
  /** `exempted`: allowed only because the account is a break-glass account (audit it). */
  | { kind: 'allow'; amr: string[]; exempted: boolean }
  | EnforcementRefusal
  | { kind: 'refuse'; code: SignInRefusalCode };

/**
 * The sign-in table. Check order, and why:
 * SSO: a connection being deleted refuses at once; an enforced connection turns away desktop
 *   clients below the minimum (they cannot finish SSO); the local second factor is never asked,
 *   MFA being the IdP's job (rule 8).
 * Password and email code:
 * 1. Enforcement holds when the domain's connection is enforced, active and the domain still
 *    verified. Then an outdated desktop hears "upgrade" and everyone else "use SSO" with the
 *    connection, before the account is looked at, so the answer is the same for unknown
 *    addresses (home-realm discovery already makes SSO routing public). The one way through is
 *    a break-glass account with TOTP enrolled, and only once its credential is proven: a wrong
 *    password still hears sso_required, so probing does not reveal who is exempt.
 * 2. Unknown email: the same answer as a wrong credential (no enumeration).
 * 3. Password only: an unproven email opens nothing (email_unverified only to whoever knows the
 *    pending password), an account without a password is guided to set one up, then the
 *    password itself. An email code proves the mailbox, so it may open an unproven account too
 *    (the caller records the proof).
 * 4. Only now the second factor, so nobody without the first learns which accounts have MFA.
 * `amr` holds RFC 8176 values: pwd or otp (the emailed code), plus otp and mfa with TOTP.
 */
export function decideSignIn(facts: SignInFacts): SignInDecision {
  const { connection, account } = facts;
  if (facts.method === 'sso') {
    if (!connection || connection.status !== 'active') return { kind: 'refuse', code: 'connector_deleting' };
    if (connection.enforced && facts.clientTooOld) return { kind: 'refuse', code: 'client_upgrade_required' };
    if (!facts.credentialValid) return { kind: 'refuse', code: 'sso_response_invalid' };
    return { kind: 'allow', amr: ['sso'], exempted: false };
  }
  const enforcing =
    connection !== undefined &&
    connection.enforced &&
    connection.status === 'active' &&
    connection.domainVerified;
  let exempted = false;
  if (enforcing) {
    if (facts.clientTooOld) return { kind: 'refuse', code: 'client_upgrade_required' };
    const breakGlass =
      account !== undefined &&
      account.exempt &&
      account.mfaEnabled &&
      account.emailProven &&
      facts.credentialValid;
    if (!breakGlass) return { kind: 'refuse', code: 'sso_required', connectorId: connection.connectorId };
    exempted = true;
  }
  const wrongCredential = facts.method === 'password' ? 'invalid_credentials' : 'email_code_invalid';
  if (!account) return { kind: 'refuse', code: wrongCredential };
  if (facts.method === 'password') {
    if (!account.emailProven)
      return { kind: 'refuse', code: facts.credentialValid ? 'email_unverified' : 'invalid_credentials' };
    if (!account.hasPassword) return { kind: 'refuse', code: 'password_setup_required' };
  }
  if (!facts.credentialValid) return { kind: 'refuse', code: wrongCredential };
  const first = facts.method === 'password' ? 'pwd' : 'otp';
  if (!account.mfaEnabled) return { kind: 'allow', amr: [first], exempted };
  if (!facts.totp) return { kind: 'refuse', code: 'mfa_required' };
  if (!facts.totp.valid) return { kind: 'refuse', code: 'mfa_invalid' };
  return { kind: 'allow', amr: [...new Set([first, 'otp', 'mfa'])], exempted };
}

/** The error for a refusal; `sso_required` carries the connectorId the client should use. */
export function refusalError(refusal: {
  kind: 'refuse';
  code: ErrorCode;
  connectorId?: ConnectorId;
}): DomainError {
  return new DomainError(
    refusal.code,
    undefined,
    refusal.connectorId === undefined ? {} : { connectorId: refusal.connectorId },
  );
}
