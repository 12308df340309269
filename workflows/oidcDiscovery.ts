// oidcDiscovery: reads an OpenID provider's discovery document and JWKS for a new OIDC or Entra ID
// connection, on a worker (I/O against an admin-supplied URL), with bounded retries.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { OidcProviderMetadata } from '../activities/oidcDiscovery';

const { fetchOidcProvider } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', maximumAttempts: 3, nonRetryableErrorTypes: ['idp_metadata_invalid'] },
});

export async function oidcDiscovery(input: { issuer: string }): Promise<OidcProviderMetadata> {
  return fetchOidcProvider(input);
}
