// Local TOTP (docs/rules.md, rule 8): enrollment that counts only once a first code proves the
// app has the secret, recovery codes shown once and kept as keyed digests, and the check password
// and email-code sign-ins use. The secret is sealed at rest (security/secretBox.ts) and never
// shown again after enrollment. A code is accepted once: its time step is taken under a unique
// key, and steps up to the last one used are refused.
import { randomBytes } from 'node:crypto';
import type { UserDoc } from '../../db/collections';
import { tryLock } from '../../db/locks';
import { confirmTotp, disableTotp, dropRecoveryCode, recordTotpStep, setPendingTotp } from '../../db/mfa';
import { DomainError } from '../../domain/errors';
import { open, seal } from '../../security/secretBox';
import { tokenDigest } from '../../security/tokens';
import { newTotpSecret, totpUri, verifyTotp } from '../../security/totp';
import type { ApiDeps } from '../context';

export const RECOVERY_CODE_COUNT = 10;
/** Longer than the ±1 step window, so a used step's key outlives every chance to replay it. */
const STEP_KEY_TTL_MS = 3 * 30_000;
/** A recovery code is spent for good: its key only has to outlive the account's code list. */
const RECOVERY_KEY_TTL_MS = 10 * 365 * 86_400_000;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function recoveryCode(): string {
  const chars = [...randomBytes(10)].map((byte) => BASE32[byte % 32]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}

function recoveryDigest(deps: ApiDeps, user: UserDoc, code: string): string {
  return tokenDigest(`${user._id}:${code.toLowerCase()}`, deps.keys.current('recovery-code'));
}

function openSecret(deps: ApiDeps, user: UserDoc, sealed: string): string | null {
  return open(sealed, deps.keys.verifying('totp-secret'), user._id);
}

/** Starts an enrollment: the secret and its otpauth:// URI, shown this once. */
export async function enrollTotp(
  deps: ApiDeps,
  user: UserDoc,
): Promise<{ secret: string; otpauthUri: string }> {
  if (user.totpSecret !== null) throw new DomainError('mfa_already_enabled');
  const secret = newTotpSecret();
  const sealed = seal(secret, deps.keys.current('totp-secret'), user._id);
  if (!(await setPendingTotp(deps.c, user._id, sealed, deps.clock())))
    throw new DomainError('mfa_already_enabled');
  const issuer = new URL(deps.config.publicUrl).hostname;
  return { secret, otpauthUri: totpUri({ issuer, label: user.email, secret }) };
}

/** The first code proves the app holds the secret: TOTP is on, and the recovery codes are shown once. */
export async function confirmTotpEnrollment(deps: ApiDeps, user: UserDoc, code: string): Promise<string[]> {
  if (user.totpSecret !== null) throw new DomainError('mfa_already_enabled');
  const pending = user.totpPending ?? null;
  const secret = pending && openSecret(deps, user, pending);
  if (!pending || !secret) throw new DomainError('mfa_not_enrolled', 'Start the enrollment first');
  const timeStep = await verifyTotp(secret, code, deps.clock());
  if (timeStep === null) throw new DomainError('mfa_invalid');
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, recoveryCode);
  const confirmed = await confirmTotp(
    deps.c,
    user._id,
    { sealed: pending, recoveryDigests: codes.map((c) => recoveryDigest(deps, user, c)), timeStep },
    deps.clock(),
  );
  // A parallel confirmation or a new enrollment won the race: this secret is not the account's.
  if (!confirmed) throw new DomainError('mfa_not_enrolled', 'The enrollment changed; start it again');
  return codes;
}

/** Turning TOTP off takes a current code (or a recovery code), not just a session. */
export async function disableTotpWithCode(deps: ApiDeps, user: UserDoc, code: string): Promise<void> {
  if (user.totpSecret === null) throw new DomainError('mfa_not_enrolled');
  if (!(await checkSecondFactor(deps, user, code))) throw new DomainError('mfa_invalid');
  await disableTotp(deps.c, user._id, deps.clock());
}

/**
 * Whether `code` is a valid TOTP code (within ±1 step, not used before) or an unused recovery
 * code of the account. Either is used up by a true answer.
 */
export async function checkSecondFactor(deps: ApiDeps, user: UserDoc, code: string): Promise<boolean> {
  if (user.totpSecret === null) return false;
  const now = deps.clock();
  if (/^\d{6}$/.test(code)) {
    const secret = openSecret(deps, user, user.totpSecret);
    if (!secret) return false;
    const step = await verifyTotp(secret, code, now, user.totpLastStep);
    if (step === null) return false;
    // Two requests with the same code at once: only the one that takes the step goes on.
    if (!(await tryLock(deps.c, `totp:${user._id}:${step}`, now, STEP_KEY_TTL_MS))) return false;
    await recordTotpStep(deps.c, user._id, step);
    return true;
  }
  const digest = recoveryDigest(deps, user, code);
  if (!(user.recoveryCodes ?? []).includes(digest)) return false;
  if (!(await tryLock(deps.c, `recovery:${digest}`, now, RECOVERY_KEY_TTL_MS))) return false;
  await dropRecoveryCode(deps.c, user._id, digest);
  return true;
}
