// RelayState carries the returnTo target through the IdP and back. It is signed (HMAC with the
// session secret) and expires, so an attacker can neither swap in their own redirect target nor
// replay an old one; returnTo itself was checked against allowed origins before signing.
import { createHmac } from 'node:crypto';
import { safeEqual } from '../security/tokens';

interface RelayPayload {
  /** Connector the sign-in started at: a relay state is valid only where it was issued. */
  c: string;
  r: string;
  /** Expiry, epoch milliseconds. */
  e: number;
}

function sign(body: string, secret: string): string {
  return createHmac('sha256', secret).update(`relay-state:${body}`).digest('base64url');
}

export function encodeRelayState(
  connectorId: string,
  returnTo: string,
  expiresAt: Date,
  secret: string,
): string {
  const body = Buffer.from(
    JSON.stringify({ c: connectorId, r: returnTo, e: expiresAt.getTime() } satisfies RelayPayload),
  ).toString('base64url');
  return `${body}.${sign(body, secret)}`;
}

/** The returnTo URL, or undefined when the relay state is missing, forged, foreign or expired. */
export function decodeRelayState(
  relayState: string | undefined,
  connectorId: string,
  now: Date,
  secret: string,
): string | undefined {
  const [body, signature, extra] = (relayState ?? '').split('.');
  if (!body || !signature || extra !== undefined || !safeEqual(signature, sign(body, secret)))
    return undefined;
  try {
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<RelayPayload>;
    if (payload.c !== connectorId || typeof payload.r !== 'string' || typeof payload.e !== 'number')
      return undefined;
    return payload.e > now.getTime() ? payload.r : undefined;
  } catch {
    return undefined;
  }
}
