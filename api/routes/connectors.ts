// Connection routes: parse, call the connection service, render. Creating a connection (plan
// gate, verified domains, IdP settings, claiming the domains) lives in api/services/connectors.ts.
import Router from '@koa/router';
import { z } from 'zod';
import { parseCertificate } from '../../sso/certificates';
import { connectorResponse, createConnectorBody, patchConnectorBody } from '../schemas';
import type { ConnectorDoc } from '../../db/collections';
import { mergeAttributeMapping } from '../../domain/attributeMapping';
import { DomainError } from '../../domain/errors';
import type { ConnectorId, OrgId } from '../../domain/ids';
import { spUrls } from '../../sso/connectorUrls';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { createConnector, updateConnector } from '../services/connectors';
import { oidcView } from '../services/oidcConnectors';
import { parse } from '../validate';
import { loadOrg } from './orgs';

export const connectorParams = z.object({
  connectorId: z.string().regex(/^con_[a-f0-9]{32}$/, 'not a connection ID'),
});

function connectorView(deps: ApiDeps, connector: ConnectorDoc): z.output<typeof connectorResponse> {
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
      certificates: connector.saml.certificates.map((pem) => ({
        sha256: parseCertificate(pem)?.fingerprint256 ?? null,
      })),
    },
    oidc: oidcView(connector),
    sp: spUrls(deps.config.publicUrl, connector._id),
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
    ctx.status = 201;
    ctx.body = connectorView(deps, connector);
  });

  router.get('/v1/orgs/:orgId/connectors', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const connectors = await deps.c.connectors.find({ orgId: org._id }).sort({ createdAt: 1 }).toArray();
    ctx.body = { connectors: connectors.map((connector) => connectorView(deps, connector)) };
  });

  router.get('/v1/orgs/:orgId/connectors/:connectorId', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    ctx.body = connectorView(deps, await loadConnector(deps, org._id, ctx.params));
  });

  router.patch('/v1/orgs/:orgId/connectors/:connectorId', async (ctx) => {
    const body = parse(patchConnectorBody, ctx.request.body);
    const org = await loadOrg(deps, ctx.params);
    const connector = await loadConnector(deps, org._id, ctx.params);
    const updated = await updateConnector(deps, connector, body);
    ctx.body = connectorView(deps, updated);
  });

  return router;
}
