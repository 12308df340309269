// openid-client's HTTP requests (discovery, the token endpoint, the JWKS) go to URLs that an org
// admin chose, so they take the same road as the SAML metadata fetch (security/untrustedFetch.ts):
// checked and pinned addresses, no redirects, a time limit and a size limit. openid-client takes
// the fetch function to use (`customFetch`); this is it.
import type { CustomFetch } from 'openid-client';
import {
  requestUntrustedUrl,
  type UntrustedFetchOptions,
  type UntrustedRequest,
} from '../../security/untrustedFetch';

/** Bodies of these statuses must be null in a fetch Response. */
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

function bodyText(body: Parameters<CustomFetch>[1]['body']): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString('utf8');
  // openid-client sends forms and JSON only; a stream would mean a feature we do not use.
  throw new TypeError('streamed request bodies are not supported');
}

export function untrustedCustomFetch(options: UntrustedFetchOptions): CustomFetch {
  return async (url, init) => {
    const method = init.method.toUpperCase();
    if (method !== 'GET' && method !== 'POST') throw new TypeError(`unsupported method ${method}`);
    const request: UntrustedRequest = { method, headers: init.headers, errorAnswers: true };
    const body = bodyText(init.body);
    if (body !== undefined) request.body = body;
    const answer = await requestUntrustedUrl(url, request, options);
    return new Response(NULL_BODY_STATUSES.has(answer.status) ? null : answer.body, {
      status: answer.status,
      headers: answer.headers,
    });
  };
}
