// Secrets handed to clients (session tokens, API keys, setup tokens) are random and stored only
// as keyed digests, so a copy of the database does not let anyone sign in.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** A keyed digest: the database holds this, never the token itself. */
export function tokenDigest(token: string, secret: string): string {
  return createHmac('sha256', secret).update(token).digest('base64url');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
