// GET /metrics in Prometheus' text format. It sits on the public API port, so it is not open:
// Prometheus scrapes with METRICS_TOKEN, a credential that can read metrics and nothing else (so
// the operator token, which can do everything, need not sit in a scrape config); the operator
// token works too. Labels hold protocols, codes, workflow types and route patterns only.
import Router from '@koa/router';
import { DomainError } from '../../domain/errors';
import { safeEqual } from '../../security/tokens';
import type { ApiDeps, ApiState } from '../context';
import type { ApiMetrics } from '../metrics';
import { bearerToken } from '../middleware/auth';

export function metricsRoutes(deps: ApiDeps & { metrics: ApiMetrics }): Router<ApiState> {
  const router = new Router<ApiState>();
  const accepted = [deps.config.metricsToken, deps.config.adminToken].filter(
    (token): token is string => token !== undefined,
  );

  router.get('/metrics', async (ctx) => {
    const token = bearerToken(ctx.get('authorization') || undefined);
    if (!token || !accepted.some((candidate) => safeEqual(token, candidate)))
      throw new DomainError('unauthorized', 'The metrics token or the operator token is required');
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  return router;
}
