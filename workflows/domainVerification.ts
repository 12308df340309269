// domainVerification: one run per domain record. It polls the TXT record with a growing interval,
// wakes at once on a checkNow signal, and ends failed at the deadline. Once verified it keeps
// watching: a record that disappears is tolerated for a grace period, then the domain is
// unverified. continueAsNew keeps the history bounded over days of waiting.
import { ActivityFailure, condition, continueAsNew, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { nextCheckDelay, verificationDeadlineReached } from '../domain/domainVerification';
import {
  checkNowSignal,
  verificationStatusQuery,
  type DomainVerificationInput,
  type DomainVerificationPhase,
  type DomainVerificationStatus,
} from './shared';

const { checkDomainRecord, markDomainFailed, recheckVerifiedDomain } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // DNS timeouts and SERVFAIL are retried here; a check that still fails counts as "not yet".
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

export async function domainVerification(input: DomainVerificationInput): Promise<DomainVerificationPhase> {
  const startedAtMs = input.startedAtMs ?? Date.now();
  const status: DomainVerificationStatus = {
    phase: input.phase ?? 'verifying',
    checks: input.checks ?? 0,
    nextCheckAtMs: null,
  };
  let checkNowRequested = false;
  setHandler(checkNowSignal, () => {
    checkNowRequested = true;
  });
  setHandler(verificationStatusQuery, () => status);

  for (let checksThisRun = 0; checksThisRun < input.timings.checksPerRun; checksThisRun++) {
    checkNowRequested = false;
    if (status.phase === 'verifying') {
      status.checks++;
      const outcome = await checkOrRetryLater(() => checkDomainRecord({ domainId: input.domainId }));
      if (outcome === 'deleted') return (status.phase = 'deleted');
      if (outcome === 'taken') return (status.phase = 'failed');
      if (outcome === 'verified') {
        status.phase = 'monitoring';
      } else if (verificationDeadlineReached(new Date(startedAtMs), new Date(), input.timings.deadlineMs)) {
        await markDomainFailed({ domainId: input.domainId, reason: 'deadline' });
        return (status.phase = 'failed');
      }
    } else {
      const outcome = await checkOrRetryLater(() =>
        recheckVerifiedDomain({ domainId: input.domainId, graceMs: input.timings.graceMs }),
      );
      if (outcome === 'deleted') return (status.phase = 'deleted');
      if (outcome === 'unverified') return (status.phase = 'unverified');
    }
    const delayMs =
      status.phase === 'verifying'
        ? Math.min(
            nextCheckDelay(status.checks, input.timings),
            Math.max(0, startedAtMs + input.timings.deadlineMs - Date.now()),
          )
        : input.timings.reverifyIntervalMs;
    status.nextCheckAtMs = Date.now() + delayMs;
    await condition(() => checkNowRequested, delayMs);
    status.nextCheckAtMs = null;
  }
  // Signals that arrive during the hand-over are carried by Temporal to the new run.
  return continueAsNew<typeof domainVerification>({
    ...input,
    phase: status.phase === 'monitoring' ? 'monitoring' : 'verifying',
    startedAtMs,
    checks: status.checks,
  });
}

/** A check whose retries ran out (DNS down for minutes) is not fatal: the next check tries again. */
async function checkOrRetryLater<T extends string>(check: () => Promise<T>): Promise<T | 'error'> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof ActivityFailure) return 'error';
    throw error;
  }
}
