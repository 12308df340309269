import Router from '@koa/router';
import { z } from 'zod';
import { apiKeyResponse, createOrgBody, orgResponse, patchOrgBody } from '../schemas';
import { DomainError } from '../../domain/errors';
import { findOrg, insertOrg, updateOrg } from '../../db/orgs';
import type { OrgDoc } from '../../db/collections';
import type { ApiDeps, ApiState } from '../context';
import { requireOperator, requireOrgAccess } from '../middleware/auth';
import { auditAdminAction } from '../services/adminAudit';
import { createApiKey } from '../services/apiKeys';
import { parse } from '../validate';

export const orgParams = z.object({
  orgId: z.string().regex(/^org_[a-f0-9]{32}$/, 'not an organization ID'),
});

function orgView(org: OrgDoc): z.output<typeof orgResponse> {
  return { id: org._id, name: org.name, plan: org.plan, createdAt: org.createdAt.toISOString() };
}

/** Loads the organization named in the path, or answers 404 (after auth, so 404 reveals nothing new). */
export async function loadOrg(deps: ApiDeps, params: unknown): Promise<OrgDoc> {
  const { orgId } = parse(orgParams, params);
  const org = await findOrg(deps.c, orgId);
  if (!org) throw new DomainError('not_found', 'Organization not found');
  return org;
}

export function orgRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.post('/v1/orgs', requireOperator(deps), async (ctx) => {
    const body = parse(createOrgBody, ctx.request.body);
    const org = await insertOrg(deps.c, body.name, body.plan, deps.clock());
    await auditAdminAction(deps, ctx.state.principal, {
      type: 'org.created',
      orgId: org._id,
      subjectId: org._id,
      data: { plan: org.plan },
    });
    ctx.status = 201;
    ctx.body = orgView(org);
  });

  router.get('/v1/orgs/:orgId', requireOrgAccess(deps), async (ctx) => {
    ctx.body = orgView(await loadOrg(deps, ctx.params));
  });

  router.patch('/v1/orgs/:orgId', requireOperator(deps), async (ctx) => {
    const { orgId } = parse(orgParams, ctx.params);
    const body = parse(patchOrgBody, ctx.request.body);
    const org = await updateOrg(deps.c, orgId, body, deps.clock());
    if (!org) throw new DomainError('not_found', 'Organization not found');
    await auditAdminAction(deps, ctx.state.principal, {
      type: 'org.updated',
      orgId: org._id,
      subjectId: org._id,
      data: { fields: Object.keys(body), plan: org.plan },
    });
    ctx.body = orgView(org);
  });

  router.post('/v1/orgs/:orgId/api-keys', requireOperator(deps), async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const view: z.output<typeof apiKeyResponse> = await createApiKey(deps, org._id);
    await auditAdminAction(deps, ctx.state.principal, {
      type: 'api_key.created',
      orgId: org._id,
      subjectId: org._id,
    });
    ctx.status = 201;
    // The only time the key is ever shown.
    ctx.body = view;
  });

  return router;
}
