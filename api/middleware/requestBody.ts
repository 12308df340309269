// JSON in, everywhere but the SAML assertion consumer. Browsers send form-encoded and text/plain
// bodies cross-site without asking first (no CORS preflight), so a hostile page could auto-submit
// a form to the sign-up or sign-in routes and sign the victim into the attacker's account (login
// CSRF). A cross-site application/json request needs a preflight, which this API never grants.
// The ACS is the one route that must take a form: the SAML HTTP-POST binding is a form the IdP's
// page submits, and what protects it is the relay state, the browser binding and InResponseTo.
import { bodyParser } from '@koa/bodyparser';
import type { Middleware, ParameterizedContext } from 'koa';
import { DomainError } from '../../domain/errors';
import type { ApiState } from '../context';

/** The path of every connector's ACS URL (sso/connectorUrls.ts: `${base}/acs`). */
const FORM_BODY_PATH = /^\/v1\/sso\/[^/]+\/acs$/;

export const STATE_CHANGING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The request that may (and must) carry a form body: the SAML HTTP-POST binding. */
export function isSamlFormPost(ctx: ParameterizedContext<ApiState>): boolean {
  return ctx.method === 'POST' && FORM_BODY_PATH.test(ctx.path);
}

/** A body is present when it is chunked or has a non-zero length (a bodiless POST sends `0`). */
function hasBody(ctx: ParameterizedContext<ApiState>): boolean {
  const length = ctx.get('content-length');
  return ctx.get('transfer-encoding') !== '' || (length !== '' && length !== '0');
}

export function requestBodies(limit: string): Middleware<ApiState> {
  // A JSON body must be an object or array; a bare string or number is refused.
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: limit, jsonStrict: true });
  const form = bodyParser({ enableTypes: ['form'], formLimit: limit });
  return async (ctx, next) => {
    const takesForm = isSamlFormPost(ctx);
    if (STATE_CHANGING_METHODS.has(ctx.method) && hasBody(ctx)) {
      const expected = takesForm ? 'application/x-www-form-urlencoded' : 'application/json';
      if (!ctx.is(expected))
        throw new DomainError('unsupported_media_type', `The request body must be ${expected}`);
    }
    await (takesForm ? form : json)(ctx, next);
  };
}
