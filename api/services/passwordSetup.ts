// Password setup for accounts that have none (a connection was deleted, or an IdP reclaimed an
// unproven account): POST /v1/auth/password/setup/start mails a fresh one-time link, answering
// 202 whatever the address (no enumeration); POST /v1/auth/password/setup sets the password with
// the link's token, once. Tokens are random and stored as keyed digests (db/passwordSetupTokens.ts).
import { tryLock } from '../../db/locks';
import { consumeSetupToken, deleteSetupTokens, issueSetupTokens } from '../../db/passwordSetupTokens';
import { findUserByEmail, isEmailProven } from '../../db/users';
import { DomainError } from '../../domain/errors';
import { passwordSetupLink, passwordSetupMessage } from '../../notifications/messages';
import { hashPassword } from '../../security/passwords';
import type { ApiDeps } from '../context';
import { sendEmail } from './email';
import { domainConnectionFacts, isExempt } from './enforcement';

/** One link per account per this long, whatever the number of requests (full limits: issue 11). */
export const PASSWORD_SETUP_RESEND_MS = 60_000;

/**
 * A fresh link, only for a proven account that needs a password and whose domain does not
 * enforce SSO (a password would not open it). The new link replaces earlier ones.
 */
export async function startPasswordSetup(
  deps: ApiDeps,
  input: { email: string; emailDomain: string },
): Promise<void> {
  const [domain, user] = await Promise.all([
    domainConnectionFacts(deps, input.emailDomain),
    findUserByEmail(deps.c, input.email),
  ]);
  if (!user || !isEmailProven(user) || user.passwordHash !== null || !user.needsPasswordSetup) return;
  if (domain.enforcing && !(await isExempt(deps, domain, user))) return;
  const now = deps.clock();
  if (!(await tryLock(deps.c, `password-setup-start:${user._id}`, now, PASSWORD_SETUP_RESEND_MS))) return;
  await deleteSetupTokens(deps.c, user._id);
  const issued = (
    await issueSetupTokens(
      deps.c,
      [user._id],
      {
        key: deps.keys.current('setup-token'),
        ttlMs: deps.config.email.passwordSetupTtlMs,
        reason: 'request',
      },
      now,
    )
  ).get(user._id)!;
  const appOrigin = deps.config.allowedReturnOrigins[0] ?? new URL(deps.config.publicUrl).origin;
  await sendEmail(
    deps,
    passwordSetupMessage({
      userId: user._id,
      to: user.email,
      link: passwordSetupLink(appOrigin, issued.token),
      issuedAt: now,
      expiresAt: issued.expiresAt,
    }),
  );
}

/** Sets the password of the token's account; a used, expired or unknown token is refused. */
export async function completePasswordSetup(
  deps: ApiDeps,
  input: { token: string; password: string },
): Promise<void> {
  // Hashed first, so a wrong token takes as long as a right one.
  const passwordHash = await hashPassword(input.password);
  const now = deps.clock();
  const userId = await consumeSetupToken(deps.c, input.token, deps.keys.verifying('setup-token'), now);
  if (!userId) throw new DomainError('setup_token_invalid');
  // Only an account still without a password: a token is no way to replace one.
  const result = await deps.c.users.updateOne(
    { _id: userId, passwordHash: null },
    { $set: { passwordHash, needsPasswordSetup: false, updatedAt: now } },
  );
  await deleteSetupTokens(deps.c, userId);
  if (result.matchedCount !== 1) throw new DomainError('setup_token_invalid');
}
