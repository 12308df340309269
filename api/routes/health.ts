import Router from '@koa/router';
import { DomainError } from '../../domain/errors';
import { toProblem } from '../middleware/errors';
import { openApiDocument } from '../openapi';
import { readinessChecks } from '../services/readiness';
import type { ApiDeps, ApiState } from '../context';

export function healthRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  const document = openApiDocument(deps.config.publicUrl);
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  router.get('/readyz', async (ctx) => {
    const checks = await readinessChecks(deps);
    const ready = Object.values(checks).every((state) => state === 'ok');
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.type = 'application/problem+json';
    // Rendered here rather than thrown: a failing probe is routine, not an error for the log.
    ctx.body = ready
      ? { status: 'ready', checks }
      : { ...toProblem(new DomainError('not_ready', undefined, { checks })), instance: ctx.state.requestId };
  });
  return router;
}
