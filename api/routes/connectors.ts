import Router from '@koa/router';
import { z } from 'zod';
import { parseCertificate } from '../../sso/certificates';
import { createConnectorBody, patchConnectorBody, type SamlSettings } from '../schemas';
import type { ConnectorDoc, SamlIdpSettings } from '../../db/collections';
import { tieDomain } from '../../db/connectors';
import { newId } from '../../db/ids';
import { mergeAttributeMapping } from '../../domain/attributeMapping';
import { normalizeDomain } from '../../domain/domainName';
import { DomainError, orThrow } from '../../domain/errors';
import { idpUrlProblem, insecureHttpPolicy } from '../../domain/idpUrls';
import type { ConnectorId, OrgId } from '../../domain/ids';
import { spUrls } from '../../sso/connectorUrls';
import { SamlMetadataError } from '../../sso/saml/errors';
import { parseIdpMetadata } from '../../sso/saml/idpMetadata';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { parse } from '../validate';
import { loadOrg } from './orgs';
import { fetchIdpSettings } from '../temporalCalls';
import { onEnforcementChange } from '../services/enforcement';

export const connectorParams = z.object({
  connectorId: z.string().regex(/^con_[a-f0-9]{32}$/, 'not a connection ID'),
});

function connectorView(deps: ApiDeps, connector: ConnectorDoc) {
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
    sp: spUrls(deps.config.publicUrl, connector._id),
    createdAt: connector.createdAt.toISOString(),
  };
}

/** A URL the connection would use over plain http where that is not allowed (production). */
function checkIdpUrl(deps: ApiDeps, field: string, url: string): void {
  const problem = idpUrlProblem(url, insecureHttpPolicy(deps.config.env));
  if (problem) throw new DomainError('validation_failed', `${field} ${problem}`, { field });
}

async function resolveIdpSettings(deps: ApiDeps, saml: SamlSettings): Promise<SamlIdpSettings> {
  if ('entityId' in saml) checkIdpUrl(deps, 'saml.ssoUrl', saml.ssoUrl);
  if ('metadataUrl' in saml) checkIdpUrl(deps, 'saml.metadataUrl', saml.metadataUrl);
  if ('entityId' in saml)
    return {
      entityId: saml.entityId,
      ssoUrl: saml.ssoUrl,
      ssoBinding: saml.ssoBinding,
      certificates: saml.certificates,
      metadataUrl: null,
    };
  if ('metadataUrl' in saml)
    return { ...(await fetchIdpSettings(deps, saml.metadataUrl)), metadataUrl: saml.metadataUrl };
  try {
    const metadata = parseIdpMetadata(saml.metadataXml, {
      insecureHttp: insecureHttpPolicy(deps.config.env),
    });
    return {
      entityId: metadata.entityId,
      ssoUrl: metadata.ssoUrl,
      ssoBinding: metadata.ssoBinding,
      certificates: metadata.certificates,
      metadataUrl: null,
    };
  } catch (error) {
    if (error instanceof SamlMetadataError)
      throw new DomainError('idp_metadata_invalid', error.message, { reason: error.code });
    throw error;
  }
}

/** Ties each domain to the connection; a domain already tied to another one undoes the rest. */
async function claimDomains(deps: ApiDeps, connector: ConnectorDoc): Promise<void> {
  const claimed: string[] = [];
  for (const domain of connector.domains) {
    if (!(await tieDomain(deps.c, domain, connector))) {
      await deps.c.connectorDomains.deleteMany({ _id: { $in: claimed }, connectorId: connector._id });
      await deps.c.connectors.deleteOne({ _id: connector._id });
      throw new DomainError('domain_in_use', 'The domain is already tied to another connection', { domain });
    }
    claimed.push(domain);
  }
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
    if (org.plan !== 'business')
      throw new DomainError('plan_required', 'Single sign-on needs the Business plan', { plan: org.plan });
    const domains = [...new Set(body.domains.map((domain) => orThrow(normalizeDomain(domain))))];
    const verified = await deps.c.domains
      .find({ orgId: org._id, domain: { $in: domains }, status: 'verified' })
      .toArray();
    const unverified = domains.filter((domain) => !verified.some((doc) => doc.domain === domain));
    if (unverified.length > 0) {
      throw new DomainError(
        'domain_not_verified',
        'Every domain must be verified by this organization first',
        { domains: unverified },
      );
    }
    const now = deps.clock();
    const connector: ConnectorDoc = {
      _id: newId<ConnectorId>('con'),
      orgId: org._id,
      type: body.type,
      name: body.name,
      domains,
      status: 'active',
      enforced: body.enforced ?? false,
      jit: body.jit ?? { enabled: true, defaultRole: 'member' },
      attributeMapping: body.attributeMapping ?? {},
      saml: await resolveIdpSettings(deps, body.saml),
      createdAt: now,
      updatedAt: now,
    };
    await deps.c.connectors.insertOne(connector);
    await claimDomains(deps, connector);
    await onEnforcementChange(deps, null, connector);
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
    if (connector.status !== 'active') throw new DomainError('connector_deleting');
    const updated = await deps.c.connectors.findOneAndUpdate(
      { _id: connector._id, status: 'active' },
      { $set: { ...body, updatedAt: deps.clock() } },
      { returnDocument: 'after' },
    );
    if (!updated) throw new DomainError('connector_deleting');
    await onEnforcementChange(deps, connector, updated);
    ctx.body = connectorView(deps, updated);
  });

  return router;
}
