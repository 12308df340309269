// The audit log of an organization: who did what to it, its domains, connections and users, and
// how every sign-in through them ended (event types: README, "Audit log").
import Router from '@koa/router';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { auditEventsQuery } from '../schemas';
import { auditEventsPage } from '../services/auditEvents';
import { parse } from '../validate';
import { loadOrg } from './orgs';

export function auditEventRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.get('/v1/orgs/:orgId/audit-events', requireOrgAccess(deps), async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    ctx.body = await auditEventsPage(deps, org._id, parse(auditEventsQuery, ctx.query));
  });

  return router;
}
