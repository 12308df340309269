// One-time password-setup tokens: random, handed out in an email link, stored only as a keyed
// digest (security/keys.ts 'setup-token') with an expiry. Using one is a delete by its digest, the
// single-document write FerretDB v1 makes atomic, so of two requests with the same token only one
// sets a password.
import type { KeyObject } from 'node:crypto';
import type { UserId } from '../domain/ids';
import { randomToken, tokenDigest } from '../security/tokens';
import type { Collections, PasswordSetupTokenDoc } from './collections';

export interface IssuedSetupToken {
  token: string;
  expiresAt: Date;
}

/** New tokens for `userIds` (one each), written in one bulk insert. */
export async function issueSetupTokens(
  c: Collections,
  userIds: readonly UserId[],
  options: { key: KeyObject; ttlMs: number; reason: string },
  now: Date,
): Promise<Map<UserId, IssuedSetupToken>> {
  const expiresAt = new Date(now.getTime() + options.ttlMs);
  const issued = new Map<UserId, IssuedSetupToken>();
  const docs: PasswordSetupTokenDoc[] = userIds.map((userId) => {
    const token = randomToken();
    issued.set(userId, { token, expiresAt });
    return {
      _id: tokenDigest(token, options.key),
      userId,
      reason: options.reason,
      createdAt: now,
      expiresAt,
    };
  });
  if (docs.length > 0) await c.passwordSetupTokens.insertMany(docs, { ordered: false });
  return issued;
}

/**
 * Uses the token up: the user it was for, or null when it is unknown, expired or already used.
 * Tokens made under a previous SESSION_SECRET still work until they expire.
 */
export async function consumeSetupToken(
  c: Collections,
  token: string,
  keys: readonly KeyObject[],
  now: Date,
): Promise<UserId | null> {
  for (const key of keys) {
    const _id = tokenDigest(token, key);
    const live = await c.passwordSetupTokens.findOne({ _id, expiresAt: { $gt: now } });
    if (live && (await c.passwordSetupTokens.deleteOne({ _id })).deletedCount === 1) return live.userId;
  }
  return null;
}

/** Every other token of the user dies once a password is set (or a fresh link replaces them). */
export async function deleteSetupTokens(c: Collections, userId: UserId): Promise<void> {
  await c.passwordSetupTokens.deleteMany({ userId });
}
