// Sessions are opaque random tokens (cookie for browsers, Bearer for API clients). The database
// keeps a keyed digest only, and the session records how the user authenticated (amr).
import type { ConnectorId, UserId } from '../domain/ids';
import { findLiveSession, insertSession } from '../db/sessions';
import type { SessionDoc } from '../db/collections';
import { randomToken, tokenDigest } from '../security/tokens';
import { bearerToken } from './middleware/auth';
import type { ApiContext, ApiDeps } from './context';

export const SESSION_COOKIE = 'sso_session';

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
    { digest: tokenDigest(token, deps.config.sessionSecret), userId, amr, connectorId, expiresAt },
    now,
  );
  ctx.cookies.set(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'lax',
    secure: deps.config.publicUrl.startsWith('https://'),
    expires: expiresAt,
    path: '/',
  });
  return token;
}

export async function readSession(deps: ApiDeps, ctx: ApiContext): Promise<SessionDoc | null> {
  const token = bearerToken(ctx.get('authorization') || undefined) ?? ctx.cookies.get(SESSION_COOKIE);
  if (!token) return null;
  return findLiveSession(deps.c, tokenDigest(token, deps.config.sessionSecret), deps.clock());
}
