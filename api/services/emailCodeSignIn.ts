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
import { decideSignIn } from '../../domain/signInPolicy';
import { signInCodeMessage } from '../../notifications/messages';
import { enqueueEmail } from '../../notifications/outbox';
import type { ApiDeps } from '../context';
import {
  auditEnforcedSignIn,
  domainConnectionFacts,
  isClientTooOld,
  isExempt,
  signInRefusalError,
} from './enforcement';
import { checkSecondFactor } from './mfa';

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
  try {
    await enqueueEmail(
      deps,
      signInCodeMessage({ userId: user._id, to: user.email, code, issuedAt: now, expiresAt }),
    );
  } catch (error) {
    deps.logger.error({ errorName: (error as Error)?.name }, 'could not queue an email');
    throw new DomainError('try_again_later', 'The email could not be sent; try again shortly');
  }
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
  const decide = (totp?: { valid: boolean }) =>
    decideSignIn({
      method: 'email_code',
      connection: domain.connection,
      clientTooOld: isClientTooOld(deps, input.clientVersion),
      ...(user
        ? {
            account: {
              hasPassword: user.passwordHash !== null,
              mfaEnabled: user.totpSecret !== null,
              emailProven: isEmailProven(user),
              exempt,
            },
          }
        : {}),
      credentialValid: live !== null,
      ...(totp ? { totp } : {}),
    });
  let decision = decide();
  // mfa_required leaves the code unused, so the retry with the TOTP code can present it again.
  if (decision.kind === 'refuse' && decision.code === 'mfa_required' && input.totp !== undefined && user)
    decision = decide({ valid: await checkSecondFactor(deps, user, input.totp) });
  await auditEnforcedSignIn(deps, domain, 'email_code', user, decision);
  if (decision.kind === 'refuse') throw signInRefusalError(deps, decision, input.clientVersion);
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
  return { user, amr: decision.amr };
}
