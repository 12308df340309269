// Email-code sign-in: POST /v1/auth/email-code/start mails a six-digit code, .../verify signs in
// with it. Start answers the same 202 for every address (no enumeration) and sends nothing to
// unknown addresses or to a domain whose organization enforces SSO (except a break-glass
// account); verify goes through the one sign-in table (domain/signInPolicy.ts decideSignIn).
// The code proves the mailbox, so it may also prove an account that was never proven: its
// password (set by whoever typed the address) goes, as when an IdP reclaims one.
import type { UserDoc } from '../../db/collections';
import { issueEmailCode, matchEmailCode, spendEmailCode } from '../../db/emailCodes';
import { tryLock } from '../../db/locks';
import { revokeUserSessions } from '../../db/sessions';
import { findUserByEmail, isEmailProven, proveEmailWithCode } from '../../db/users';
import { DomainError } from '../../domain/errors';
import { signInCodeMessage } from '../../notifications/messages';
import type { ApiDeps } from '../context';
import { sendEmail } from './email';
import { domainConnectionFacts, isExempt } from './enforcement';
import { decideLocalSignIn } from './localSignIn';

/** One code per account per this long, whatever the number of requests (full limits: issue 11). */
export const EMAIL_CODE_RESEND_MS = 60_000;

const resendKey = (userId: UserDoc['_id']) => `email-code-start:${userId}`;

export async function startEmailCodeSignIn(
  deps: ApiDeps,
  input: { email: string; emailDomain: string },
): Promise<void> {
  const [domain, user] = await Promise.all([
    domainConnectionFacts(deps, input.emailDomain),
    findUserByEmail(deps.c, input.email),
  ]);
  if (!user) return;
  if (domain.enforcing && !(await isExempt(deps, domain, user))) return;
  const now = deps.clock();
  if (!(await tryLock(deps.c, resendKey(user._id), now, EMAIL_CODE_RESEND_MS))) return;
  const { code, expiresAt } = await issueEmailCode(
    deps.c,
    { purpose: 'sign_in', userId: user._id },
    { key: deps.keys.current('email-code'), ttlMs: deps.config.email.codeTtlMs },
    now,
  );
  await sendEmail(
    deps,
    signInCodeMessage({ userId: user._id, to: user.email, code, issuedAt: now, expiresAt }),
  );
}

export async function verifyEmailCodeSignIn(
  deps: ApiDeps,
  input: { email: string; emailDomain: string; code: string; totp?: string; clientVersion?: string },
): Promise<{ user: UserDoc; amr: string[] }> {
  const now = deps.clock();
  const [domain, user] = await Promise.all([
    domainConnectionFacts(deps, input.emailDomain),
    findUserByEmail(deps.c, input.email),
  ]);
  const exempt = await isExempt(deps, domain, user);
  // Under enforcement only a break-glass account's code is looked at (and a guess spent on it).
  const live =
    user && (!domain.enforcing || exempt)
      ? await matchEmailCode(
          deps.c,
          { purpose: 'sign_in', userId: user._id, code: input.code },
          deps.keys.current('email-code'),
          now,
        )
      : null;
  const amr = await decideLocalSignIn(deps, {
    method: 'email_code',
    domain,
    user,
    exempt,
    credentialValid: live !== null,
    ...(input.totp !== undefined ? { totp: input.totp } : {}),
    ...(input.clientVersion !== undefined ? { clientVersion: input.clientVersion } : {}),
  });
  // Allowed means an account and a matching code; of two requests with it, one goes on.
  if (!user || !live || !(await spendEmailCode(deps.c, live))) throw new DomainError('email_code_invalid');
  // The code did its job: the resend cap guards mailboxes from floods, not the next sign-in.
  await deps.c.locks.deleteOne({ _id: resendKey(user._id) });
  if (!isEmailProven(user)) {
    // The mailbox's owner takes over an account someone else may have claimed: no password or
    // session of that claim survives.
    await proveEmailWithCode(deps.c, user._id, { passwordHash: null, name: null }, now);
    await revokeUserSessions(deps.c, user._id);
  }
  return { user, amr };
}
