// idpMetadataFetch: reads an IdP's metadata URL for a new or refreshed connection. A short
// workflow so the fetch (I/O against an admin-supplied URL) runs on a worker, with bounded retries.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { IdpSettings } from '../activities/idpMetadata';

const { fetchIdpMetadata } = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '500ms', maximumAttempts: 3, nonRetryableErrorTypes: ['idp_metadata_invalid'] },
});

export async function idpMetadataFetch(input: { url: string }): Promise<IdpSettings> {
  return fetchIdpMetadata(input);
}
