// Binds an SP-initiated sign-in to the browser that started it (see sso/relayState.ts). The nonce
// lives in an HttpOnly cookie, signed by the server: a value the server did not set (planted, or
// made up) is ignored, never adopted. The IdP's POST back is a cross-site request, so the cookie
// must be SameSite=None, which browsers accept only with Secure: the check is therefore enforced
// when PUBLIC_URL is https (every real deployment), where the cookie is also `__Host-` prefixed
// so a sibling subdomain cannot plant one of its own (api/cookies.ts), and skipped on plain-http
// development setups, where no browser would send the cookie back.
import { bindingDigest } from '../sso/relayState';
import { isDigestUnderAny, randomToken, safeEqual, tokenDigest } from '../security/tokens';
import { cookieName, servesHttps } from './cookies';
import type { ApiContext, ApiDeps } from './context';

const NONCE = /^[A-Za-z0-9_-]{22,64}$/;

/** The nonce in the browser's binding cookie, if the server signed it; otherwise undefined. */
function signedNonce(deps: ApiDeps, ctx: ApiContext): string | undefined {
  const [nonce, mac, extra] = (ctx.cookies.get(cookieName(deps.config, 'sso_binding')) ?? '').split('.');
  if (!nonce || !mac || extra !== undefined || !NONCE.test(nonce)) return undefined;
  return isDigestUnderAny(nonce, mac, deps.keys.verifying('browser-binding')) ? nonce : undefined;
}

/** The digest to put into the relay state; sets (or refreshes) the browser's nonce cookie. */
export function bindBrowser(deps: ApiDeps, ctx: ApiContext): string {
  // Reused across tabs, so two sign-ins started side by side both finish.
  const nonce = signedNonce(deps, ctx) ?? randomToken(16);
  const value = `${nonce}.${tokenDigest(nonce, deps.keys.current('browser-binding'))}`;
  ctx.cookies.set(cookieName(deps.config, 'sso_binding'), value, {
    httpOnly: true,
    path: '/',
    maxAge: 24 * 3_600_000,
    ...(servesHttps(deps.config) ? { secure: true, sameSite: 'none' } : { sameSite: 'lax' }),
  });
  return bindingDigest(nonce);
}

export function isSameBrowser(deps: ApiDeps, ctx: ApiContext, expectedDigest: string): boolean {
  if (!servesHttps(deps.config)) return true;
  const nonce = signedNonce(deps, ctx);
  return nonce !== undefined && safeEqual(bindingDigest(nonce), expectedDigest);
}
