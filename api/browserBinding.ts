// Binds an SP-initiated sign-in to the browser that started it (see sso/relayState.ts). The nonce
// lives in an HttpOnly cookie scoped to the SSO routes; the IdP's POST back is a cross-site
// request, so the cookie must be SameSite=None, which browsers accept only with Secure: the check
// is therefore enforced when PUBLIC_URL is https (every real deployment) and skipped on plain-http
// development setups, where no browser would send the cookie back.
import { bindingDigest } from '../sso/relayState';
import { randomToken, safeEqual } from '../security/tokens';
import type { ApiContext, ApiDeps } from './context';

const BINDING_COOKIE = 'sso_binding';

function isHttps(deps: ApiDeps): boolean {
  return deps.config.publicUrl.startsWith('https://');
}

/** The digest to put into the relay state; sets (or refreshes) the browser's nonce cookie. */
export function bindBrowser(deps: ApiDeps, ctx: ApiContext): string {
  const existing = ctx.cookies.get(BINDING_COOKIE);
  // Reused across tabs, so two sign-ins started side by side both finish.
  const nonce = existing && /^[A-Za-z0-9_-]{22,64}$/.test(existing) ? existing : randomToken(16);
  ctx.cookies.set(BINDING_COOKIE, nonce, {
    httpOnly: true,
    path: '/v1/sso',
    maxAge: 24 * 3_600_000,
    ...(isHttps(deps) ? { secure: true, sameSite: 'none' } : { sameSite: 'lax' }),
  });
  return bindingDigest(nonce);
}

export function isSameBrowser(deps: ApiDeps, ctx: ApiContext, expectedDigest: string): boolean {
  if (!isHttps(deps)) return true;
  const nonce = ctx.cookies.get(BINDING_COOKIE);
  return nonce !== undefined && safeEqual(bindingDigest(nonce), expectedDigest);
}
