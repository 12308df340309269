// Break-glass accounts of an organization (api/services/breakGlass.ts), for its admins.
import Router from '@koa/router';
import { z } from 'zod';
import type { UserId } from '../../domain/ids';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import {
  breakGlassAccounts,
  breakGlassView,
  grantBreakGlass,
  revokeBreakGlass,
} from '../services/breakGlass';
import { parse } from '../validate';
import { loadOrg } from './orgs';

const breakGlassParams = z.object({
  orgId: z.string(),
  userId: z.string().regex(/^usr_[a-f0-9]{32}$/, 'not a user ID'),
});

export function breakGlassRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  router.use('/v1/orgs/:orgId/break-glass', requireOrgAccess(deps));

  router.get('/v1/orgs/:orgId/break-glass', async (ctx) => {
    ctx.body = await breakGlassAccounts(deps, await loadOrg(deps, ctx.params));
  });

  router.put('/v1/orgs/:orgId/break-glass/:userId', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { userId } = parse(breakGlassParams, ctx.params);
    const { doc, created } = await grantBreakGlass(deps, org, userId as UserId);
    ctx.status = created ? 201 : 200;
    ctx.body = breakGlassView(doc);
  });

  router.delete('/v1/orgs/:orgId/break-glass/:userId', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { userId } = parse(breakGlassParams, ctx.params);
    await revokeBreakGlass(deps, org, userId as UserId);
    ctx.status = 204;
  });

  return router;
}
