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
  account?: { hasPassword: boolean; mfaEnabled: boolean; emailProven: boolean };
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
  { kind: 'allow'; amr: string[] } | EnforcementRefusal | { kind: 'refuse'; code: PasswordRefusalCode };

/**
 * Check order, and why:
 * 1-2. Enforcement (client_upgrade_required, then sso_required): see enforcementRefusal.
 * 3. Unknown email → invalid_credentials, the same answer as a wrong password, so the endpoint
 *    does not reveal which addresses have accounts.
 * 3b. Unproven email: no password opens it (anyone could have typed that address). A wrong one
 *    → invalid_credentials as above; the right one → email_unverified, which only tells the
 *    person who chose that password to enter the emailed code.
 * 4. Account without a password → password_setup_required: it cannot sign in with a password
 *    at all (e.g. it only ever used SSO, and that connection was deleted), and the setup token
 *    goes to the mailbox, so the answer helps only the owner.
 * 5. Wrong password → invalid_credentials.
 * 6-7. Only now the second factor: asking for it earlier would tell anyone without the password
 *    which accounts have MFA. Missing → mfa_required, wrong → mfa_invalid.
 * The allowed session records RFC 8176 `amr` values: pwd, plus otp and mfa when TOTP was used.
 */
export function passwordSignInPolicy(facts: PasswordSignInFacts): PasswordSignInDecision {
  const enforced = enforcementRefusal(facts);
  if (enforced) return enforced;
  const { account } = facts;
  if (!account) return { kind: 'refuse', code: 'invalid_credentials' };
  if (!account.emailProven)
    return { kind: 'refuse', code: facts.passwordValid ? 'email_unverified' : 'invalid_credentials' };
  if (!account.hasPassword) return { kind: 'refuse', code: 'password_setup_required' };
  if (!facts.passwordValid) return { kind: 'refuse', code: 'invalid_credentials' };
  if (!account.mfaEnabled) return { kind: 'allow', amr: ['pwd'] };
  if (!facts.totpGiven) return { kind: 'refuse', code: 'mfa_required' };
  if (!facts.totpValid) return { kind: 'refuse', code: 'mfa_invalid' };
  return { kind: 'allow', amr: ['pwd', 'otp', 'mfa'] };
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
