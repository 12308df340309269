import Router from '@koa/router';
import { pingMongo } from '../../db/client';
import { DomainError } from '../../domain/errors';
import { toProblem } from '../middleware/errors';
import { openApiDocument } from '../openapi';
import { TIMED_OUT, withinBound } from '../withinBound';
import { pingTemporal } from '../workflowClient';
import type { ApiDeps, ApiState } from '../context';

async function check(
  name: string,
  probe: () => Promise<unknown>,
  timeoutMs: number,
): Promise<[string, string]> {
  try {
    return [name, (await withinBound(probe(), timeoutMs)) === TIMED_OUT ? 'unavailable' : 'ok'];
  } catch {
    return [name, 'unavailable'];
  }
}

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
    const checks = Object.fromEntries(
      await Promise.all([
        check('mongodb', () => pingMongo(deps.db), 3_000),
        check('temporal', () => pingTemporal(deps), 3_000),
      ]),
    );
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
