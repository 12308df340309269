// Every use of SESSION_SECRET gets its own key, derived with HKDF (RFC 5869) and labelled with its
// purpose, so a digest or signature made for one purpose is never accepted for another (a relay
// state signature is not a session digest), and the secret itself is never a key.
//
// Rotation: keys derived from SESSION_SECRET make every new value; keys derived from each
// SESSION_SECRET_PREVIOUS value still verify, so what was issued before a rotation stays valid
// until it expires (sessions, relay states) or is re-keyed on use (API keys).
import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';

export const KEY_PURPOSES = [
  'session',
  'api-key',
  'relay-state',
  'browser-binding',
  'workflow-id',
  'setup-token',
  'email-code',
  'user-id',
  'totp-secret',
  'recovery-code',
  'client-secret',
  'rate-limit',
] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

/** Fixed HKDF salt: it names this application, so the same secret reused elsewhere gives other keys. */
const SALT = 'sso-provisioning-backend/keys/v1';
const KEY_BYTES = 32;

export interface KeyRing {
  /** The key new values are made with. */
  current(purpose: KeyPurpose): KeyObject;
  /** The current key first, then those of previous secrets: for checking values, never for making them. */
  verifying(purpose: KeyPurpose): readonly KeyObject[];
}

function derive(secret: string, purpose: KeyPurpose): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', secret, SALT, `purpose:${purpose}`, KEY_BYTES)));
}

export function createKeyRing(secret: string, previousSecrets: readonly string[] = []): KeyRing {
  const secrets = [secret, ...previousSecrets.filter((previous) => previous !== secret)];
  const keys = new Map(KEY_PURPOSES.map((purpose) => [purpose, secrets.map((s) => derive(s, purpose))]));
  const verifying = (purpose: KeyPurpose) => keys.get(purpose)!;
  return { current: (purpose) => verifying(purpose)[0]!, verifying };
}

/**
 * A short, stable name for a key (not the key): stored next to what it sealed, so an operator can
 * tell which values a rotation has not re-sealed yet.
 */
export function keyId(key: KeyObject): string {
  return createHmac('sha256', key).update('sso-provisioning-backend/key-id').digest('hex').slice(0, 16);
}
