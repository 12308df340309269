// Domain routes: parse, call the domain service, render. What each change does to the record and
// its verification run lives in api/services/domainVerification.ts.
import Router from '@koa/router';
import { z } from 'zod';
import type { Collections, DomainDoc } from '../../db/collections';
import { normalizeDomain } from '../../domain/domainName';
import { txtRecordFor } from '../../domain/domainVerification';
import { DomainError, orThrow } from '../../domain/errors';
import type { DomainId, OrgId } from '../../domain/ids';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { createDomainBody, domainResponse } from '../schemas';
import { auditAdminAction } from '../services/adminAudit';
import { addDomain, deleteDomain, verifyDomain } from '../services/domainVerification';
import { parse } from '../validate';
import { loadOrg } from './orgs';

const domainParams = z.object({
  orgId: z.string(),
  id: z.string().regex(/^dom_[a-f0-9]{32}$/, 'not a domain ID'),
});

function domainView(domain: DomainDoc): z.output<typeof domainResponse> {
  return {
    id: domain._id,
    domain: domain.domain,
    status: domain.status,
    txtRecord: txtRecordFor(domain.domain, domain.token),
    checks: domain.checks,
    lastCheckedAt: domain.lastCheckedAt?.toISOString() ?? null,
    verifiedAt: domain.verifiedAt?.toISOString() ?? null,
    failureReason: domain.failureReason,
    createdAt: domain.createdAt.toISOString(),
  };
}

async function loadDomain(c: Collections, orgId: OrgId, params: unknown): Promise<DomainDoc> {
  const { id } = parse(domainParams, params);
  const domain = await c.domains.findOne({ _id: id as DomainId, orgId });
  if (!domain) throw new DomainError('not_found', 'Domain not found');
  return domain;
}

export function domainRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  router.use('/v1/orgs/:orgId/domains', requireOrgAccess(deps));

  router.post('/v1/orgs/:orgId/domains', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const name = orThrow(normalizeDomain(parse(createDomainBody, ctx.request.body).domain));
    const { domain, created } = await addDomain(deps, org._id, name);
    if (created)
      await auditAdminAction(deps, ctx.state.principal, {
        type: 'domain.added',
        orgId: org._id,
        subjectId: domain._id,
        data: { domain: domain.domain },
      });
    // Adding a pending domain again answers it unchanged (200): nothing new was created.
    ctx.status = created ? 201 : 200;
    ctx.body = domainView(domain);
  });

  router.get('/v1/orgs/:orgId/domains', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const domains = await deps.c.domains.find({ orgId: org._id }).sort({ createdAt: 1 }).toArray();
    ctx.body = { domains: domains.map(domainView) };
  });

  router.get('/v1/orgs/:orgId/domains/:id', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    ctx.body = domainView(await loadDomain(deps.c, org._id, ctx.params));
  });

  router.post('/v1/orgs/:orgId/domains/:id/verify', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const domain = await verifyDomain(deps, await loadDomain(deps.c, org._id, ctx.params));
    ctx.status = 202;
    ctx.body = domainView(domain);
  });

  router.delete('/v1/orgs/:orgId/domains/:id', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const domain = await loadDomain(deps.c, org._id, ctx.params);
    await deleteDomain(deps, domain);
    await auditAdminAction(deps, ctx.state.principal, {
      type: 'domain.deleted',
      orgId: org._id,
      subjectId: domain._id,
      data: { domain: domain.domain },
    });
    ctx.status = 204;
  });

  return router;
}
