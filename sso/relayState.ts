// RelayState carries the returnTo target through the IdP and back. It is signed (HMAC with the
// relay-state key derived from SESSION_SECRET, security/keys.ts) and expires, so an attacker can neither swap in their own redirect target nor
// replay an old one; returnTo itself was checked against allowed origins before signing.
//
// It also carries a digest of the browser's binding nonce (a cookie set when the sign-in
// started), so a response can only finish the sign-in in the browser that began it: without
// that, an attacker could post their own valid response from a victim's browser and sign the
// victim in as the attacker (login CSRF).
import { createHash } from 'node:crypto';
import type { KeyRing } from '../security/keys';
import { isDigestUnderAny, tokenDigest } from '../security/tokens';

interface RelayPayload {
  /** Connector the sign-in started at: a relay state is valid only where it was issued. */
  c: string;
  r: string;
  /** Expiry, epoch milliseconds. */
  e: number;
  /** Digest of the browser binding nonce. */
  b: string;
}

export interface RelayState {
  returnTo: string;
  bindingDigest: string;
}

export function bindingDigest(nonce: string): string {
  return createHash('sha256').update(`sso-binding:${nonce}`).digest('base64url');
}

export function encodeRelayState(
  connectorId: string,
  state: RelayState,
  expiresAt: Date,
  keys: KeyRing,
): string {
  const payload: RelayPayload = {
    c: connectorId,
    r: state.returnTo,
    e: expiresAt.getTime(),
    b: state.bindingDigest,
  };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${tokenDigest(body, keys.current('relay-state'))}`;
}

/** The relay state, or undefined when it is missing, forged, foreign or expired. */
export function decodeRelayState(
  relayState: string | undefined,
  connectorId: string,
  now: Date,
  keys: KeyRing,
): RelayState | undefined {
  const [body, signature, extra] = (relayState ?? '').split('.');
  // Relay states signed before a SESSION_SECRET rotation stay valid until they expire.
  if (!body || !signature || extra !== undefined) return undefined;
  if (!isDigestUnderAny(body, signature, keys.verifying('relay-state'))) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<RelayPayload>;
    if (payload.c !== connectorId || typeof payload.r !== 'string' || typeof payload.b !== 'string')
      return undefined;
    if (typeof payload.e !== 'number' || payload.e <= now.getTime()) return undefined;
    return { returnTo: payload.r, bindingDigest: payload.b };
  } catch {
    return undefined;
  }
}
