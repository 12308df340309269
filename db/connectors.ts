import type { Collections, ConnectorDoc } from './collections';

/**
 * The usable connection a domain is tied to: active, and its organization still on the
 * Business plan (rule 1). Home-realm discovery and enforcement both start here.
 */
export async function findConnectorForDomain(
  c: Collections,
  domain: string | undefined,
): Promise<ConnectorDoc | null> {
  if (!domain) return null;
  const claim = await c.connectorDomains.findOne({ _id: domain });
  const connector = claim && (await c.connectors.findOne({ _id: claim.connectorId, status: 'active' }));
  const org = connector && (await c.orgs.findOne({ _id: connector.orgId }));
  return org?.plan === 'business' ? connector : null;
}
