// Secrets the service must read back later (TOTP seeds) are sealed with AES-256-GCM under a key
// from the key ring (security/keys.ts), bound to the record they belong to (the AAD), so a copy
// of the database alone yields nothing and a sealed value moved to another record fails to open.
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;

export function seal(plaintext: string, key: KeyObject, boundTo: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(boundTo));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv, body, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/**
 * Opens a sealed value with the first of `keys` that fits (the current key, then those of
 * previous secrets during a rotation); null when none does or the value was tampered with.
 */
export function open(sealed: string, keys: readonly KeyObject[], boundTo: string): string | null {
  const [version, iv, body, tag] = sealed.split('.');
  if (version !== VERSION || !iv || !body || !tag) return null;
  for (const key of keys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      // Wrong key or altered value: try the next key.
    }
  }
  return null;
}
