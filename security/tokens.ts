// Secrets handed to clients (session tokens, API keys, setup tokens) are random and stored only
// as keyed digests, so a copy of the database does not let anyone sign in. Keys come from
// security/keys.ts, one per purpose: never pass the raw SESSION_SECRET here.
import { createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A keyed digest (HMAC-SHA256): the database holds this, never the token itself. */
export function tokenDigest(token: string, key: KeyObject): string {
  return createHmac('sha256', key).update(token).digest('base64url');
}

/** The token's digest under each key, in the keys' order (current first during a rotation). */
export function tokenDigests(token: string, keys: readonly KeyObject[]): string[] {
  return keys.map((key) => tokenDigest(token, key));
}

/** Whether `mac` is `value`'s digest under one of `keys`. */
export function isDigestUnderAny(value: string, mac: string, keys: readonly KeyObject[]): boolean {
  return keys.some((key) => safeEqual(mac, tokenDigest(value, key)));
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
