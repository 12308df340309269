// The account's TOTP state: a pending enrollment, the confirmed (sealed) secret, the digests of
// its recovery codes and the last time step used. Each change is one conditional update.
import type { UserId } from '../domain/ids';
import type { Collections } from './collections';

/** Starts (or restarts) an enrollment; refused (false) while a confirmed secret exists. */
export async function setPendingTotp(
  c: Collections,
  userId: UserId,
  sealed: string,
  now: Date,
): Promise<boolean> {
  const result = await c.users.updateOne(
    { _id: userId, totpSecret: null },
    { $set: { totpPending: sealed, updatedAt: now } },
  );
  return result.matchedCount === 1;
}

/** Confirms the pending enrollment `sealed` (still the pending one), with fresh recovery codes. */
export async function confirmTotp(
  c: Collections,
  userId: UserId,
  fields: { sealed: string; recoveryDigests: string[]; timeStep: number },
  now: Date,
): Promise<boolean> {
  const result = await c.users.updateOne(
    { _id: userId, totpSecret: null, totpPending: fields.sealed },
    {
      $set: {
        totpSecret: fields.sealed,
        totpPending: null,
        recoveryCodes: fields.recoveryDigests,
        totpLastStep: fields.timeStep,
        updatedAt: now,
      },
    },
  );
  return result.matchedCount === 1;
}

export async function disableTotp(c: Collections, userId: UserId, now: Date): Promise<void> {
  await c.users.updateOne(
    { _id: userId },
    { $set: { totpSecret: null, totpPending: null, recoveryCodes: [], updatedAt: now } },
  );
}

/** Records the time step just accepted, so the same code cannot be used again. */
export async function recordTotpStep(c: Collections, userId: UserId, timeStep: number): Promise<void> {
  await c.users.updateOne({ _id: userId }, { $max: { totpLastStep: timeStep } });
}

/** Removes a used recovery code. */
export async function dropRecoveryCode(c: Collections, userId: UserId, digest: string): Promise<void> {
  await c.users.updateOne({ _id: userId }, { $pull: { recoveryCodes: digest } });
}
