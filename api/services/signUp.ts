// Personal sign-up in two steps. POST /v1/auth/sign-up answers the same whatever the address
// (no enumeration) and lets the mailbox hear the rest: a code for a new or still unproven
// account, "you already have an account" for a proven one. POST /v1/auth/sign-up/verify proves
// the mailbox with the code; only then does the account get the password chosen with that
// sign-up and become usable, so typing someone's address creates nothing anyone can open.
import type { UserDoc } from '../../db/collections';
import { isDuplicateKeyError } from '../../db/collections';
import { findConnectorForDomain } from '../../db/connectors';
import { consumeEmailCode, issueEmailCode } from '../../db/emailCodes';
import { newId } from '../../db/ids';
import { revokeUserSessions } from '../../db/sessions';
import { findUserByEmail, isEmailProven, newUserDoc, proveEmailWithCode } from '../../db/users';
import { isDesktopClientTooOld } from '../../domain/clientVersion';
import { DomainError } from '../../domain/errors';
import type { UserId } from '../../domain/ids';
import { enforcementRefusal } from '../../domain/signInPolicy';
import { accountExistsMessage, signUpCodeMessage } from '../../notifications/messages';
import { hashPassword } from '../../security/passwords';
import type { ApiDeps } from '../context';
import { sendEmail } from './email';
import { clientUpgradeRequired } from './enforcement';
import { assertSignUpAllowed, ssoRequired } from './passwordSignIn';

export interface SignUpInput {
  /** Normalized (domain/email.ts). */
  email: string;
  emailDomain: string;
  password: string;
  name?: string;
}

export async function signUp(deps: ApiDeps, input: SignUpInput): Promise<void> {
  await assertSignUpAllowed(deps, input.emailDomain);
  // Hashed on every path, so the time taken does not tell a known address from a new one.
  const passwordHash = await hashPassword(input.password);
  const now = deps.clock();
  const user = await findOrCreateUnprovenUser(deps, input.email, now);
  if (isEmailProven(user)) {
    // Nothing changes on a proven account; its owner hears about the attempt.
    await sendEmail(deps, accountExistsMessage({ userId: user._id, to: user.email, now }));
    return;
  }
  // New or unproven: the password waits with the code and applies only if the code is proven.
  // A new sign-up replaces the previous code, so only the latest email works.
  const { code, expiresAt } = await issueEmailCode(
    deps.c,
    { purpose: 'sign_up', userId: user._id, passwordHash, name: input.name ?? null },
    { key: deps.keys.current('email-code'), ttlMs: deps.config.email.codeTtlMs },
    now,
  );
  await sendEmail(
    deps,
    signUpCodeMessage({ userId: user._id, to: user.email, code, issuedAt: now, expiresAt }),
  );
}

/** An unproven account holds the email and nothing else: no password, no name, no sessions. */
async function findOrCreateUnprovenUser(deps: ApiDeps, email: string, now: Date): Promise<UserDoc> {
  const existing = await findUserByEmail(deps.c, email);
  if (existing) return existing;
  const user = newUserDoc(newId<UserId>('usr'), { email, emailVerified: null }, now);
  try {
    await deps.c.users.insertOne(user);
    return user;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
  // A concurrent sign-up or SSO provisioning created it first.
  const raced = await findUserByEmail(deps.c, email);
  if (!raced) throw new DomainError('try_again_later');
  return raced;
}

/**
 * Proves the mailbox with the code and returns the account, now with the password chosen in the
 * sign-up that sent this code. Every failure (unknown address, proven account, wrong, expired,
 * exhausted or used code) is the same `email_code_invalid`.
 */
export async function verifySignUp(
  deps: ApiDeps,
  input: { email: string; emailDomain: string; code: string; clientVersion?: string },
): Promise<UserDoc> {
  const now = deps.clock();
  const user = await findUserByEmail(deps.c, input.email);
  const proof =
    user && !isEmailProven(user)
      ? await consumeEmailCode(
          deps.c,
          { purpose: 'sign_up', userId: user._id, code: input.code },
          // Codes live minutes: one made just before a rotation fails, and a new sign-up sends another.
          deps.keys.current('email-code'),
          now,
        )
      : null;
  if (!user || !proof) throw new DomainError('email_code_invalid');
  const proven = await proveEmailWithCode(
    deps.c,
    user._id,
    { passwordHash: proof.passwordHash, name: proof.name },
    now,
  );
  // An IdP reclaimed the account between the code check and now: the code proves nothing more.
  if (!proven) throw new DomainError('email_code_invalid');
  // Sessions opened before the proof (accounts older than email proof) belonged to whoever knew a
  // password nobody had proven; the mailbox's owner starts from a clean slate.
  await revokeUserSessions(deps.c, user._id);
  // The proof stands either way, but it is no way around enforcement (docs/rules.md, rules 7 and 9).
  const connector = await findConnectorForDomain(deps.c, input.emailDomain);
  const refusal = enforcementRefusal({
    ...(connector?.enforced ? { enforcedDomain: { connectorId: connector._id } } : {}),
    clientTooOld: isDesktopClientTooOld(input.clientVersion, deps.config.desktopMinVersion),
  });
  if (refusal?.code === 'sso_required') throw ssoRequired(deps, refusal.connectorId);
  if (refusal) throw clientUpgradeRequired(deps, input.clientVersion);
  return user;
}
