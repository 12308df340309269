// Connection routes: parse, call the connection service, render. Creating a connection (plan
// gate, verified domains, IdP settings, claiming the domains) lives in api/services/connectors.ts.
import Router from '@koa/router';
import { z } from 'zod';
import { certificateFacts } from '../../sso/certificates';
import {
  certificateResponse,
  connectorResponse,
  createConnectorBody,
  patchConnectorBody,
  teardownResponse,
} from '../schemas';
import type { ConnectorDoc, TeardownDoc } from '../../db/collections';
import { findTeardown } from '../../db/teardown';
import { mergeAttributeMapping } from '../../domain/attributeMapping';
import { daysLeft } from '../../domain/certificateExpiry';
import { DomainError } from '../../domain/errors';
import type { ConnectorId, OrgId } from '../../domain/ids';
import { spUrls } from '../../sso/connectorUrls';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { createConnector, updateConnector } from '../services/connectors';
import { oidcView } from '../services/oidcConnectors';
import { deleteConnector, expediteTeardown, restoreConnector } from '../services/connectorTeardown';
import { auditAdminAction } from '../services/adminAudit';
import { parse } from '../validate';
import { loadOrg } from './orgs';

export const connectorParams = z.object({
  connectorId: z.string().regex(/^con_[a-f0-9]{32}$/, 'not a connection ID'),
});

export function teardownView(teardown: TeardownDoc): z.output<typeof teardownResponse> {
  return {
    id: teardown.teardownId,
    connectorId: teardown._id,
    phase: teardown.phase,
    processed: teardown.processed,
    total: teardown.total,
    passwordSetups: teardown.passwordSetups,
    requestedAt: teardown.requestedAt.toISOString(),
    deleteAfter: teardown.deleteAfter.toISOString(),
    finishedAt: teardown.finishedAt?.toISOString() ?? null,
  };
}

/** The teardowns of the connections being deleted among `connectors`, by connection. */
async function teardownsOf(deps: ApiDeps, connectors: ConnectorDoc[]): Promise<Map<string, TeardownDoc>> {
  const deleting = connectors.filter((connector) => connector.status === 'deleting');
  if (deleting.length === 0) return new Map();
  const docs = await deps.c.teardowns
    .find({ _id: { $in: deleting.map((connector) => connector._id) } })
    .toArray();
  return new Map(docs.map((doc) => [doc._id, doc]));
}

/** A trusted IdP certificate: its fingerprint, end of validity and whole days left (negative once expired). */
function certificateView(pem: string, now: Date): z.output<typeof certificateResponse> {
  const facts = certificateFacts(pem);
  if (!facts) return { sha256: null, notAfter: null, daysLeft: null };
  return {
    sha256: facts.sha256,
    notAfter: facts.notAfter.toISOString(),
    daysLeft: daysLeft(facts.notAfter, now),
  };
}

function connectorView(
  deps: ApiDeps,
  connector: ConnectorDoc,
  teardown?: TeardownDoc,
): z.output<typeof connectorResponse> {
  return {
    id: connector._id,
    orgId: connector.orgId,
    type: connector.type,
    name: connector.name,
    domains: connector.domains,
    status: connector.status,
    enforced: connector.enforced,
    jit: connector.jit,
    attributeMapping: mergeAttributeMapping(connector.attributeMapping),
    saml: connector.saml && {
      entityId: connector.saml.entityId,
      ssoUrl: connector.saml.ssoUrl,
      ssoBinding: connector.saml.ssoBinding ?? 'HTTP-Redirect',
      metadataUrl: connector.saml.metadataUrl,
      // Fingerprints let an admin check which certificates are trusted without echoing them whole.
      certificates: connector.saml.certificates.map((pem) => certificateView(pem, deps.clock())),
    },
    oidc: oidcView(connector),
    sp: spUrls(deps.config.publicUrl, connector._id),
    teardown: connector.status === 'deleting' && teardown ? teardownView(teardown) : null,
    createdAt: connector.createdAt.toISOString(),
  };
}

async function loadConnector(deps: ApiDeps, orgId: OrgId, params: unknown): Promise<ConnectorDoc> {
  const { connectorId } = parse(connectorParams, params);
  const connector = await deps.c.connectors.findOne({ _id: connectorId as ConnectorId, orgId });
  if (!connector) throw new DomainError('not_found', 'Connection not found');
  return connector;
}

export function connectorRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  router.use('/v1/orgs/:orgId/connectors', requireOrgAccess(deps));

  router.post('/v1/orgs/:orgId/connectors', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const body = parse(createConnectorBody, ctx.request.body);
    const connector = await createConnector(deps, org, body);
    await auditAdminAction(deps, ctx.state.principal, {
      type: 'connector.created',
      orgId: org._id,
      subjectId: connector._id,
      data: { type: connector.type, domains: body.domains.length },
    });
    ctx.status = 201;
    ctx.body = connectorView(deps, connector);
  });

  router.get('/v1/orgs/:orgId/connectors', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const connectors = await deps.c.connectors.find({ orgId: org._id }).sort({ createdAt: 1 }).toArray();
    const teardowns = await teardownsOf(deps, connectors);
    ctx.body = {
      connectors: connectors.map((connector) => connectorView(deps, connector, teardowns.get(connector._id))),
    };
  });

  router.get('/v1/orgs/:orgId/connectors/:connectorId', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const connector = await loadConnector(deps, org._id, ctx.params);
    const teardowns = await teardownsOf(deps, [connector]);
    ctx.body = connectorView(deps, connector, teardowns.get(connector._id));
  });

  // Deletion is a teardown (docs/rules.md, rule 10): 202 with its ID, phase and grace period.
  router.delete('/v1/orgs/:orgId/connectors/:connectorId', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const connector = await loadConnector(deps, org._id, ctx.params);
    const teardown = await deleteConnector(deps, connector, ctx.state.principal);
    ctx.status = 202;
    ctx.body = teardownView(teardown);
  });

  router.post('/v1/orgs/:orgId/connectors/:connectorId/restore', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const connector = await loadConnector(deps, org._id, ctx.params);
    ctx.body = connectorView(deps, await restoreConnector(deps, connector, ctx.state.principal));
  });

  // The teardown's record outlives the connection: it tells how the deletion ended.
  router.get('/v1/orgs/:orgId/connectors/:connectorId/teardown', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { connectorId } = parse(connectorParams, ctx.params);
    const teardown = await findTeardown(deps.c, connectorId as ConnectorId, org._id);
    if (!teardown) throw new DomainError('not_found', 'This connection has no teardown');
    ctx.body = teardownView(teardown);
  });

  // Operators only: skip the rest of the grace period (e.g. the admin confirmed by phone).
  router.post('/v1/orgs/:orgId/connectors/:connectorId/teardown/expedite', async (ctx) => {
    if (ctx.state.principal?.kind !== 'operator')
      throw new DomainError('forbidden', 'This route needs the operator token');
    const org = await loadOrg(deps, ctx.params);
    const connector = await loadConnector(deps, org._id, ctx.params);
    ctx.status = 202;
    ctx.body = teardownView(await expediteTeardown(deps, connector));
  });

  router.patch('/v1/orgs/:orgId/connectors/:connectorId', async (ctx) => {
    const body = parse(patchConnectorBody, ctx.request.body);
    const org = await loadOrg(deps, ctx.params);
    const connector = await loadConnector(deps, org._id, ctx.params);
    const updated = await updateConnector(deps, connector, body);
    // Field names only: a PATCH may carry a client secret or certificates.
    await auditAdminAction(deps, ctx.state.principal, {
      type: 'connector.updated',
      orgId: org._id,
      subjectId: connector._id,
      data: { fields: Object.keys(body) },
    });
    ctx.body = connectorView(deps, updated);
  });

  return router;
}
