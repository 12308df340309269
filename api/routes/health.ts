import Router from '@koa/router';
import { pingMongo } from '../../db/client';
import { openApiDocument } from '../openapi';
import { TIMED_OUT, withinBound } from '../withinBound';
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
        check('temporal', () => deps.temporal.workflowService.getSystemInfo({}), 3_000),
      ]),
    );
    const ready = Object.values(checks).every((state) => state === 'ok');
    ctx.status = ready ? 200 : 503;
    if (!ready) ctx.type = 'application/problem+json';
    ctx.body = ready
      ? { status: 'ready', checks }
      : { type: 'urn:sso:problem:not_ready', title: 'Not ready', status: 503, code: 'not_ready', checks };
  });
  return router;
}
