// TOTP (RFC 6238) through otplib: 6 digits, 30-second steps, SHA-1 (what authenticator apps
// implement), accepting one step either side for clock drift. The clock is injected.
import { generate, generateSecret, generateURI, verify } from 'otplib';

const PERIOD_S = 30;

export function newTotpSecret(): string {
  return generateSecret();
}

export function totpUri(fields: { issuer: string; label: string; secret: string }): string {
  return generateURI(fields);
}

/**
 * The time step the code belongs to when it is valid within ±1 step of `now` and later than
 * `afterStep` (a code already used, or older, is refused: RFC 6238 §5.2), else null.
 */
export async function verifyTotp(
  secret: string,
  code: string,
  now: Date,
  afterStep?: number,
): Promise<number | null> {
  const result = await verify({
    secret,
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: PERIOD_S,
    ...(afterStep === undefined ? {} : { afterTimeStep: afterStep }),
  });
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

/** For tests and tools: the code an authenticator app shows at `now`. */
export function totpCode(secret: string, now: Date): Promise<string> {
  return generate({ secret, epoch: Math.floor(now.getTime() / 1000) });
}
