// What the benchmarks on the real stack start from: a Business organization with a verified domain
// and a SAML connection for it.
import type { Collections } from '../db/collections';
import { newDomainDoc } from '../db/domains';
import { newId } from '../db/ids';
import { insertOrg } from '../db/orgs';
import type { ConnectorId, DomainId, OrgId } from '../domain/ids';
import { idpMetadataXml } from '../test/helpers/samlIdp';

/**
 * The domain is written directly: verification has its own tests, and waiting for it here would
 * only slow a benchmark down. The connection is created through the API, as an admin would.
 */
export async function createBenchConnection(
  c: Collections,
  apiUrl: string,
  adminToken: string,
  domainName: string,
): Promise<{ orgId: OrgId; connectorId: ConnectorId }> {
  const now = new Date();
  const org = await insertOrg(c, 'Bench', 'business', now);
  const domain = newDomainDoc(
    newId<DomainId>('dom'),
    { orgId: org._id, domain: domainName, token: 't' },
    now,
  );
  await c.domains.insertOne({ ...domain, status: 'verified', verifiedAt: now });
  await c.domainClaims.insertOne({ _id: domainName, orgId: org._id, domainId: domain._id, claimedAt: now });
  const created = await fetch(`${apiUrl}/v1/orgs/${org._id}/connectors`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'saml',
      name: 'Bench IdP',
      domains: [domainName],
      saml: { metadataXml: idpMetadataXml() },
    }),
  });
  if (created.status !== 201) throw new Error(`creating the connection answered ${created.status}`);
  return { orgId: org._id, connectorId: ((await created.json()) as { id: ConnectorId }).id };
}
