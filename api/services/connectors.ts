// Creating and changing a connection. Creating one is several steps that must hold together: the
// plan gate (docs/rules.md, rule 1), every domain verified by this organization (rule 2), the
// IdP settings (read from a metadata URL by a workflow, when given one), the record, and the tie
// of each domain to it, undone whole when a domain turns out to be tied to another connection.
import type { z } from 'zod';
import type { ConnectorDoc, OrgDoc, SamlIdpSettings } from '../../db/collections';
import { tieDomain } from '../../db/connectors';
import { newId } from '../../db/ids';
import { normalizeDomain } from '../../domain/domainName';
import { DomainError, orThrow } from '../../domain/errors';
import { idpUrlProblem, insecureHttpPolicy } from '../../domain/idpUrls';
import type { ConnectorId } from '../../domain/ids';
import { SamlMetadataError } from '../../sso/saml/errors';
import { parseIdpMetadata } from '../../sso/saml/idpMetadata';
import type { ApiDeps } from '../context';
import { onEnforcementChange } from './enforcement';
import { clientChangeSet, resolveOidcSettings } from './oidcConnectors';
import type { createConnectorBody, patchConnectorBody, SamlSettings } from '../schemas';
import { fetchIdpSettings } from '../workflowClient';

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

/** The request's domains in canonical form, each verified by this organization. */
async function verifiedDomains(deps: ApiDeps, org: OrgDoc, requested: readonly string[]): Promise<string[]> {
  const domains = [...new Set(requested.map((domain) => orThrow(normalizeDomain(domain))))];
  const verified = await deps.c.domains
    .find({ orgId: org._id, domain: { $in: domains }, status: 'verified' })
    .toArray();
  const unverified = domains.filter((domain) => !verified.some((doc) => doc.domain === domain));
  if (unverified.length > 0) {
    throw new DomainError('domain_not_verified', 'Every domain must be verified by this organization first', {
      domains: unverified,
    });
  }
  return domains;
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

export async function createConnector(
  deps: ApiDeps,
  org: OrgDoc,
  body: z.output<typeof createConnectorBody>,
): Promise<ConnectorDoc> {
  if (org.plan !== 'business')
    throw new DomainError('plan_required', 'Single sign-on needs the Business plan', { plan: org.plan });
  const domains = await verifiedDomains(deps, org, body.domains);
  const id = newId<ConnectorId>('con');
  const oidc = body.type === 'saml' ? null : await resolveOidcSettings(deps, id, body);
  const now = deps.clock();
  const connector: ConnectorDoc = {
    _id: id,
    orgId: org._id,
    type: body.type,
    name: body.name,
    domains,
    status: 'active',
    enforced: body.enforced ?? false,
    jit: body.jit ?? { enabled: true, defaultRole: 'member' },
    attributeMapping: body.attributeMapping ?? {},
    saml: body.type === 'saml' ? await resolveIdpSettings(deps, body.saml) : null,
    oidc,
    createdAt: now,
    updatedAt: now,
  };
  await deps.c.connectors.insertOne(connector);
  await claimDomains(deps, connector);
  await onEnforcementChange(deps, null, connector);
  return connector;
}

/** Changes an active connection; one being deleted is refused, also when deletion began meanwhile. */
export async function updateConnector(
  deps: ApiDeps,
  connector: ConnectorDoc,
  changes: z.output<typeof patchConnectorBody>,
): Promise<ConnectorDoc> {
  if (connector.status !== 'active') throw new DomainError('connector_deleting');
  const { entra, oidc, ...plain } = changes;
  const updated = await deps.c.connectors.findOneAndUpdate(
    { _id: connector._id, status: 'active' },
    { $set: { ...plain, ...clientChangeSet(deps, connector, { entra, oidc }), updatedAt: deps.clock() } },
    { returnDocument: 'after' },
  );
  if (!updated) throw new DomainError('connector_deleting');
  await onEnforcementChange(deps, connector, updated);
  return updated;
}
