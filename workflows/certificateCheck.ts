// certificateCheck: run daily by a Temporal Schedule (temporal/schedules.ts). It goes through the
// active SAML connections a page at a time; for each, one activity refreshes the certificates from
// the metadata URL (when the connection has one) and sends the expiry notices due (30, 14 and 7
// days before, and once expired; activities/certificates.ts). Only connection IDs and counts pass
// through the history, never certificates. Large deployments continue as new every
// PAGES_PER_RUN pages so each run's history stays small. The schedule starts it with no input.
import { ActivityFailure, continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { CertificateCheckInput, CertificateCheckTotals } from './shared';

const PAGE_SIZE = 50;
/** Pages before the run continues as new: about 3,000 history events at most. */
const PAGES_PER_RUN = 20;

const { listCertificateConnectors } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});
// A metadata fetch takes up to 10 s, then the notices: a minute is plenty. A connection whose check
// keeps failing is counted and left for tomorrow rather than holding up every other one.
const { checkConnectorCertificates } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

export async function certificateCheck(input: CertificateCheckInput = {}): Promise<CertificateCheckTotals> {
  const totals: CertificateCheckTotals = input.totals ?? {
    connections: 0,
    refreshed: 0,
    refreshFailures: 0,
    notices: 0,
    failed: 0,
  };
  const pageSize = input.pageSize ?? PAGE_SIZE;
  const pagesPerRun = input.pagesPerRun ?? PAGES_PER_RUN;
  let after = input.after ?? null;
  for (let page = 0; page < pagesPerRun; page++) {
    const { connectorIds, next } = await listCertificateConnectors({ after, limit: pageSize });
    const results = await Promise.all(
      connectorIds.map((connectorId) =>
        checkConnectorCertificates({ connectorId }).catch((error: unknown) => {
          if (error instanceof ActivityFailure) return null;
          throw error;
        }),
      ),
    );
    for (const result of results) {
      if (result === null) {
        totals.failed++;
        continue;
      }
      if (!result.checked) continue;
      totals.connections++;
      if (result.refresh === 'updated') totals.refreshed++;
      if (result.refresh === 'failed' || result.refresh === 'entity_mismatch') totals.refreshFailures++;
      totals.notices += result.notices;
    }
    if (next === null) return totals;
    after = next;
  }
  return continueAsNew<typeof certificateCheck>({ ...input, after, totals });
}
