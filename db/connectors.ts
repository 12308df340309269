import type { Collections, ConnectorDoc } from './collections';

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
