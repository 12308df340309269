// Operators and org admins see sign-in provisioning that is still running (retrying on its own)
// or that ended without success, and can start a failed one again (api/services/provisioning.ts).
import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import {
  provisioningListQuery as listQuery,
  provisioningListResponse,
  provisioningRetryResponse,
} from '../schemas';
import {
  provisioningRuns,
  retryProvisioningRun,
  SIGN_IN_ID,
  type ProvisioningRun,
} from '../services/provisioning';
import { parse } from '../validate';
import { loadOrg } from './orgs';

const retryParams = z.object({
  orgId: z.string(),
  id: z
    .string()
    .max(200)
    .regex(new RegExp(`${SIGN_IN_ID.source}(-jit|-link)?$`), 'not a provisioning ID'),
});

type RunView = z.output<typeof provisioningListResponse>['runs'][number];

function runView(run: ProvisioningRun): RunView {
  return {
    ...run,
    startedAt: run.startedAt.toISOString(),
    closedAt: run.closedAt?.toISOString() ?? null,
  };
}

export function provisioningRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  router.use('/v1/orgs/:orgId/provisioning', requireOrgAccess(deps));

  router.get('/v1/orgs/:orgId/provisioning', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { status, limit } = parse(listQuery, ctx.query);
    const runs = await provisioningRuns(deps, org._id, status, limit);
    const view: z.output<typeof provisioningListResponse> = { status, runs: runs.map(runView) };
    ctx.body = view;
  });

  router.post('/v1/orgs/:orgId/provisioning/:id/retry', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { id } = parse(retryParams, ctx.params);
    const view: z.output<typeof provisioningRetryResponse> = await retryProvisioningRun(deps, org._id, id);
    ctx.status = 202;
    ctx.body = view;
  });

  return router;
}
