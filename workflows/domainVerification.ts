// domainVerification: one run per domain record. It polls the TXT record with a growing interval,
// wakes at once on a checkNow signal, and ends failed at the deadline. Once verified it keeps
// watching: a record that disappears is tolerated for a grace period, then the domain is
// unverified. continueAsNew keeps the history bounded over days of waiting. A run works for one
// generation of the domain record (restarting verification raises it), so the writes of a run
// that was replaced, or of a check that outlived its run, match nothing.
//
// No patched() markers are needed for these changes: runs already in flight replay the same
// commands (a markDomainFailed result of undefined ends them failed as before; a missing
// generation is generation 0, as on records written before generations existed).
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

const { checkDomainRecord, recheckVerifiedDomain } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  // DNS timeouts and SERVFAIL are retried here; a check that still fails counts as "not yet".
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

// Ending a run at its deadline has no "next check" to fall back on: giving up would leave the
// domain pending with no run. It retries until the database answers, however long that takes.
const { markDomainFailed } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

export async function domainVerification(input: DomainVerificationInput): Promise<DomainVerificationPhase> {
  const startedAtMs = input.startedAtMs ?? Date.now();
  const status: DomainVerificationStatus = {
    phase: input.phase ?? 'verifying',
    checks: input.checks ?? 0,
    nextCheckAtMs: null,
  };
  // Every write of this run is conditional on the domain's generation it was started for.
  const run = { domainId: input.domainId, generation: input.generation ?? 0 };
  let checkNowRequested = false;
  setHandler(checkNowSignal, () => {
    checkNowRequested = true;
  });
  setHandler(verificationStatusQuery, () => status);

  for (let checksThisRun = 0; checksThisRun < input.timings.checksPerRun; checksThisRun++) {
    checkNowRequested = false;
    if (status.phase === 'verifying') {
      status.checks++;
      const outcome = await checkOrRetryLater(() => checkDomainRecord(run));
      if (outcome === 'deleted' || outcome === 'superseded') return (status.phase = outcome);
      if (outcome === 'taken') return (status.phase = 'failed');
      if (outcome === 'verified') {
        status.phase = 'monitoring';
      } else if (verificationDeadlineReached(new Date(startedAtMs), new Date(), input.timings.deadlineMs)) {
        // Runs from before this returned a value replay it as undefined: they ended failed.
        const end: string | undefined = await markDomainFailed({ ...run, reason: 'deadline' });
        // A check that verified the domain just before the deadline wins: keep watching it.
        if (end === 'verified') status.phase = 'monitoring';
        else return (status.phase = end === 'deleted' || end === 'superseded' ? end : 'failed');
      }
    } else {
      const outcome = await checkOrRetryLater(() =>
        recheckVerifiedDomain({ ...run, graceMs: input.timings.graceMs }),
      );
      if (outcome === 'deleted' || outcome === 'superseded' || outcome === 'unverified')
        return (status.phase = outcome);
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
