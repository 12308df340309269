// One-time codes sent to a mailbox (sign-up proof today; email-code sign-in can reuse them with
// its own purpose). A code is six digits, so what keeps it safe is what surrounds it: only a keyed
// digest is stored, it expires soon, it dies after a few wrong guesses, and it is used once.
// Every step is a single-document conditional write (FerretDB has no transactions).
import { randomInt, randomUUID, type KeyObject } from 'node:crypto';
import type { UserId } from '../domain/ids';
import { safeEqual, tokenDigest } from '../security/tokens';
import {
  isDuplicateKeyError,
  type Collections,
  type EmailCodeDoc,
  type EmailCodePurpose,
} from './collections';
import { takeSlot } from './locks';

/** Wrong guesses a code survives; then only a new code (a new sign-up) helps. */
export const EMAIL_CODE_MAX_ATTEMPTS = 5;

export function emailCodeId(purpose: EmailCodePurpose, userId: UserId): string {
  return `${purpose}:${userId}`;
}

/** The digest binds the code to its document, so a digest copied elsewhere proves nothing. */
function codeDigest(id: string, code: string, key: KeyObject): string {
  return tokenDigest(`${id}:${code}`, key);
}

/**
 * Issues a fresh code, replacing the previous one of the same purpose (so only the latest email
 * works, and with it the password chosen in the latest sign-up). Returns the code to send.
 */
export async function issueEmailCode(
  c: Collections,
  fields: { purpose: EmailCodePurpose; userId: UserId; passwordHash?: string; name?: string | null },
  options: { key: KeyObject; ttlMs: number },
  now: Date,
): Promise<{ code: string; expiresAt: Date }> {
  const _id = emailCodeId(fields.purpose, fields.userId);
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const doc: EmailCodeDoc = {
    _id,
    purpose: fields.purpose,
    userId: fields.userId,
    codeDigest: codeDigest(_id, code, options.key),
    issueId: randomUUID(),
    passwordHash: fields.passwordHash ?? null,
    name: fields.name ?? null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + options.ttlMs),
  };
  try {
    await c.emailCodes.replaceOne({ _id }, doc, { upsert: true });
  } catch (error) {
    // Two sign-ups racing on a new _id: one inserts, the other replaces what it inserted.
    if (!isDuplicateKeyError(error)) throw error;
    await c.emailCodes.replaceOne({ _id }, doc);
  }
  return { code, expiresAt: doc.expiresAt };
}

/**
 * Spends one guess on the live code and, when it matches, consumes it. Returns the consumed
 * document, or null for a wrong, expired, exhausted, replaced or already used code.
 */
export async function consumeEmailCode(
  c: Collections,
  fields: { purpose: EmailCodePurpose; userId: UserId; code: string },
  key: KeyObject,
  now: Date,
): Promise<EmailCodeDoc | null> {
  const live = await matchEmailCode(c, fields, key, now);
  return live && (await spendEmailCode(c, live)) ? live : null;
}

/**
 * Spends one guess on the live code and returns it when it matches, without using it up: a
 * sign-in that still needs the second factor keeps the code for the retry with it.
 */
export async function matchEmailCode(
  c: Collections,
  fields: { purpose: EmailCodePurpose; userId: UserId; code: string },
  key: KeyObject,
  now: Date,
): Promise<EmailCodeDoc | null> {
  const _id = emailCodeId(fields.purpose, fields.userId);
  const live = await c.emailCodes.findOne({ _id, expiresAt: { $gt: now } });
  if (!live) return null;
  // Each guess takes a numbered slot before it is checked, so parallel guesses cannot exceed the
  // limit (a counter would be a read-modify-write, which FerretDB does not make atomic).
  const guessed = await takeSlot(c, `email-code:${live.issueId}`, EMAIL_CODE_MAX_ATTEMPTS, live.expiresAt);
  if (!guessed || !safeEqual(codeDigest(_id, fields.code, key), live.codeDigest)) return null;
  return live;
}

/** Single use: of two requests with the right code, only the one that deletes it goes on. */
export async function spendEmailCode(c: Collections, live: EmailCodeDoc): Promise<boolean> {
  return (await c.emailCodes.deleteOne({ _id: live._id, issueId: live.issueId })).deletedCount === 1;
}

/** Every pending code of the account, e.g. once an IdP has taken it over. */
export async function deleteEmailCodes(c: Collections, userId: UserId): Promise<void> {
  await c.emailCodes.deleteMany({ userId });
}

/** The live sign-up code, for checking a password chosen with it before the proof. */
export function findLiveEmailCode(
  c: Collections,
  purpose: EmailCodePurpose,
  userId: UserId,
  now: Date,
): Promise<EmailCodeDoc | null> {
  return c.emailCodes.findOne({ _id: emailCodeId(purpose, userId), expiresAt: { $gt: now } });
}
