import type { Middleware } from 'koa';
import type { Logger } from '../../logger';
import type { ApiState } from '../context';

/**
 * One line per request. The route pattern is logged, not the URL: query strings carry returnTo
 * targets and emails, and paths carry IDs that are fine but patterns group better.
 */
export function accessLog(logger: Logger): Middleware<ApiState> {
  return async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      logger.info(
        {
          requestId: ctx.state.requestId,
          method: ctx.method,
          route: typeof route === 'string' ? route : 'unmatched',
          status: ctx.status,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    }
  };
}
