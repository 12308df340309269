// A browser names the page's origin on every cross-origin POST. A state-changing request sent
// from a page on another origin is refused before its body is read, whatever it carries: a second
// line against login CSRF behind JSON-only bodies (requestBody.ts). Clients outside browsers (the
// desktop app, curl, servers) send no Origin and are let through: they hold no ambient cookies
// for a hostile page to ride on. The ACS is exempt: the IdP's page posts it from the IdP's origin.
import type { Middleware } from 'koa';
import { DomainError } from '../../domain/errors';
import type { ApiState } from '../context';
import { isSamlFormPost, STATE_CHANGING_METHODS } from './requestBody';

/** `allowedOrigins`: PUBLIC_URL's origin and the origins users return to (ALLOWED_RETURN_ORIGINS). */
export function originCheck(allowedOrigins: readonly string[]): Middleware<ApiState> {
  const allowed = new Set(allowedOrigins);
  return async (ctx, next) => {
    const origin = ctx.get('origin');
    // `Origin: null` (sandboxed frames, file: pages, some redirects) is present and not ours.
    if (
      origin !== '' &&
      STATE_CHANGING_METHODS.has(ctx.method) &&
      !isSamlFormPost(ctx) &&
      !allowed.has(origin)
    )
      throw new DomainError('origin_not_allowed');
    await next();
  };
}
