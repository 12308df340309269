// Sessions are opaque random tokens (cookie for browsers, Bearer for API clients). The database
// keeps a keyed digest only, and the session records how the user authenticated (amr).
import type { ConnectorId, UserId } from '../domain/ids';
import { findLiveSession, insertSession } from '../db/sessions';
import type { SessionDoc } from '../db/collections';
import { randomToken, tokenDigest, tokenDigests } from '../security/tokens';
import { cookieName, servesHttps } from './cookies';
import { bearerToken } from './middleware/auth';
import type { ApiContext, ApiDeps } from './context';

export async function startSession(
  deps: ApiDeps,
  ctx: ApiContext,
  userId: UserId,
  amr: string[],
  connectorId: ConnectorId | null = null,
): Promise<string> {
  const token = randomToken();
  const now = deps.clock();
  const expiresAt = new Date(now.getTime() + deps.config.sessionTtlMs);
  await insertSession(
    deps.c,
    { digest: tokenDigest(token, deps.keys.current('session')), userId, amr, connectorId, expiresAt },
    now,
  );
  ctx.cookies.set(cookieName(deps.config, 'sso_session'), token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: servesHttps(deps.config),
    expires: expiresAt,
    path: '/',
  });
  return token;
}

export async function readSession(deps: ApiDeps, ctx: ApiContext): Promise<SessionDoc | null> {
  const token =
    bearerToken(ctx.get('authorization') || undefined) ??
    ctx.cookies.get(cookieName(deps.config, 'sso_session'));
  if (!token) return null;
  // Sessions made before a SESSION_SECRET rotation stay valid until they expire.
  return findLiveSession(deps.c, tokenDigests(token, deps.keys.verifying('session')), deps.clock());
}
