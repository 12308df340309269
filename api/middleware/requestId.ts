import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { ApiState } from '../context';

// A caller-supplied ID is kept only if it is short and plain, so it cannot smuggle text into logs.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

export function requestId(): Middleware<ApiState> {
  return async (ctx, next) => {
    const given = ctx.get('x-request-id');
    ctx.state.requestId = SAFE_REQUEST_ID.test(given) ? given : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    await next();
  };
}
