import Router from '@koa/router';
import { WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../../config';
import type { Collections, DomainDoc } from '../../db/collections';
import { newDomainDoc } from '../../db/domains';
import { newId } from '../../db/ids';
import { normalizeDomain } from '../../domain/domainName';
import { txtRecordFor } from '../../domain/domainVerification';
import { DomainError, orThrow } from '../../domain/errors';
import type { DomainId, OrgId } from '../../domain/ids';
import { randomToken } from '../../security/tokens';
import { checkNowSignal, domainVerificationWorkflowId } from '../../workflows/shared';
import { DomainIdKey, OrgIdKey } from '../../workflows/searchAttributes';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { createDomainBody } from '../schemas';
import { parse } from '../validate';
import { loadOrg } from './orgs';

const domainParams = z.object({
  orgId: z.string(),
  id: z.string().regex(/^dom_[a-f0-9]{32}$/, 'not a domain ID'),
});

function domainView(domain: DomainDoc) {
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

/** Starts (or, for a failed/unverified domain, restarts) the verification run for a domain. */
async function startVerification(temporal: Client, config: Config, domain: DomainDoc): Promise<void> {
  await temporal.workflow.start('domainVerification', {
    taskQueue: config.temporalTaskQueue,
    workflowId: domainVerificationWorkflowId(domain._id),
    // A previous run that ended (failed, unverified) may be replaced; a running one may not.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    args: [{ domainId: domain._id, timings: config.domainVerification }],
    typedSearchAttributes: [
      { key: OrgIdKey, value: domain.orgId },
      { key: DomainIdKey, value: domain._id },
    ],
  });
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
    const claim = await deps.c.domainClaims.findOne({ _id: name });
    // Which organization holds it is not said: that would leak who their customers are.
    if (claim && claim.orgId !== org._id) throw new DomainError('domain_taken');
    if (await deps.c.domains.findOne({ orgId: org._id, domain: name })) {
      throw new DomainError('conflict', 'This organization has already added this domain');
    }
    const domain = newDomainDoc(
      newId<DomainId>('dom'),
      { orgId: org._id, domain: name, token: randomToken(24) },
      deps.clock(),
    );
    await deps.c.domains.insertOne(domain);
    await startVerification(deps.temporal, deps.config, domain);
    ctx.status = 201;
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
    let domain = await loadDomain(deps.c, org._id, ctx.params);
    if (domain.status === 'failed' || domain.status === 'unverified') {
      domain =
        (await deps.c.domains.findOneAndUpdate(
          { _id: domain._id, status: domain.status },
          { $set: { status: 'pending', failureReason: null, checks: 0, updatedAt: deps.clock() } },
          { returnDocument: 'after' },
        )) ?? domain;
      await startVerification(deps.temporal, deps.config, domain);
    } else {
      try {
        await deps.temporal.workflow
          .getHandle(domainVerificationWorkflowId(domain._id))
          .signal(checkNowSignal);
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
        // The run is gone (e.g. terminated by an operator): a fresh one picks up where the record is.
        await startVerification(deps.temporal, deps.config, domain);
      }
    }
    ctx.status = 202;
    ctx.body = domainView(domain);
  });

  router.delete('/v1/orgs/:orgId/domains/:id', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const domain = await loadDomain(deps.c, org._id, ctx.params);
    if (await deps.c.connectorDomains.findOne({ _id: domain.domain, orgId: org._id })) {
      throw new DomainError(
        'domain_in_use',
        'A connection uses this domain; remove it from the connection first',
      );
    }
    await deps.c.domainClaims.deleteOne({ _id: domain.domain, domainId: domain._id });
    await deps.c.domains.deleteOne({ _id: domain._id });
    try {
      await deps.temporal.workflow
        .getHandle(domainVerificationWorkflowId(domain._id))
        .terminate('domain deleted');
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    ctx.status = 204;
  });

  return router;
}
