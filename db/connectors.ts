import type { ConnectorId, OrgId } from '../domain/ids';
import { isDuplicateKeyError, type Collections, type ConnectorDoc } from './collections';

/**
 * The usable connection a domain is tied to: active, its organization still on the Business plan
 * (docs/rules.md, rule 1), and the domain still verified by that organization (a domain whose TXT record vanished
 * past the grace period no longer routes to SSO nor enforces it). Home-realm discovery and
 * enforcement both start here.
 */
export async function findConnectorForDomain(
  c: Collections,
  domain: string | undefined,
): Promise<ConnectorDoc | null> {
  if (!domain) return null;
  const claim = await c.connectorDomains.findOne({ _id: domain });
  const connector = claim && (await c.connectors.findOne({ _id: claim.connectorId, status: 'active' }));
  if (!connector) return null;
  const [org, verified] = await Promise.all([
    c.orgs.findOne({ _id: connector.orgId }),
    c.domains.findOne({ orgId: connector.orgId, domain, status: 'verified' }),
  ]);
  return org?.plan === 'business' && verified ? connector : null;
}

/**
 * Ties `name` to the connection. A tie another organization still holds for a name this
 * organization has claimed (verified) is stale: that organization's domain lapsed, so its tie is
 * taken over instead of blocking the name's owner. False when another connection of this
 * organization, or of an organization still holding the name, has it.
 */
export async function tieDomain(
  c: Collections,
  name: string,
  connector: Pick<ConnectorDoc, '_id' | 'orgId'>,
): Promise<boolean> {
  for (let round = 0; round < 3; round++) {
    try {
      await c.connectorDomains.insertOne({ _id: name, connectorId: connector._id, orgId: connector.orgId });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const existing = await c.connectorDomains.findOne({ _id: name });
    if (!existing) continue;
    if (existing.connectorId === connector._id) return true;
    if (existing.orgId === connector.orgId) return false;
    const claim = await c.domainClaims.findOne({ _id: name });
    if (claim?.orgId !== connector.orgId) return false;
    await c.connectorDomains.deleteOne({ _id: name, connectorId: existing.connectorId });
  }
  return false;
}

/**
 * A domain that lapsed (its TXT record vanished past the grace period) no longer belongs to its
 * organization, so its tie goes too: the name's next owner can tie it to their own connection.
 */
export async function releaseDomainTie(c: Collections, name: string, orgId: OrgId): Promise<void> {
  await c.connectorDomains.deleteOne({ _id: name, orgId });
}

/**
 * When a domain is verified again, the organization's connection that still lists it (the oldest
 * active one) gets its tie back, so SSO routing and enforcement resume without reconfiguring it.
 */
export async function restoreDomainTie(c: Collections, name: string, orgId: OrgId): Promise<void> {
  const [connector] = await c.connectors
    .find({ orgId, domains: name, status: 'active' })
    .sort({ createdAt: 1 })
    .limit(1)
    .toArray();
  if (connector) await tieDomain(c, name, connector);
}

/**
 * The connection a domain is tied to, as it is: whatever its status, with whether the domain is
 * still verified by its organization and whether that organization is on the Business plan.
 * The sign-in table (domain/signInPolicy.ts decideSignIn) decides what these facts mean.
 */
export async function findDomainConnection(
  c: Collections,
  domain: string,
): Promise<{ connector: ConnectorDoc; domainVerified: boolean; businessPlan: boolean } | null> {
  const claim = await c.connectorDomains.findOne({ _id: domain });
  const connector = claim && (await c.connectors.findOne({ _id: claim.connectorId }));
  if (!connector) return null;
  const [org, verified] = await Promise.all([
    c.orgs.findOne({ _id: connector.orgId }),
    c.domains.findOne({ orgId: connector.orgId, domain, status: 'verified' }),
  ]);
  return { connector, domainVerified: verified !== null, businessPlan: org?.plan === 'business' };
}

/** Active SAML connections after `after` in ID order, a page at a time (the daily certificate check). */
export async function listSamlConnectorIds(
  c: Collections,
  after: string | null,
  limit: number,
): Promise<ConnectorId[]> {
  const docs = await c.connectors
    .find(
      { type: 'saml', status: 'active', ...(after ? { _id: { $gt: after as ConnectorId } } : {}) },
      { projection: { _id: 1 } },
    )
    .sort({ _id: 1 })
    .limit(limit)
    .toArray();
  return docs.map((doc) => doc._id);
}

/**
 * The certificates a metadata URL now lists. Conditional on the connection still being active and
 * still reading that URL, so a connection deleted or changed meanwhile is left as it is.
 */
export async function setMetadataCertificates(
  c: Collections,
  connectorId: ConnectorId,
  metadataUrl: string,
  certificates: string[],
  now: Date,
): Promise<boolean> {
  const result = await c.connectors.updateOne(
    { _id: connectorId, status: 'active', 'saml.metadataUrl': metadataUrl },
    { $set: { 'saml.certificates': certificates, updatedAt: now } },
  );
  return result.matchedCount === 1;
}
