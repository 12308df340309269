// connectorTeardown: one run per deletion of a connection (docs/rules.md, rule 10). It waits the
// grace period on a durable timer (restore cancels the teardown, an operator may expedite it),
// then removes the connection's SSO identities batch by batch (users stay; those left with no way
// in get a password-setup link), and finally deletes the connection. Progress is a query; large
// teardowns continue as new every `batchesPerRun` batches so the history stays bounded. The
// connection is `deleting` from the DELETE on, so nobody signs in through it meanwhile.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import {
  expediteTeardownUpdate,
  restoreTeardownUpdate,
  teardownProgressQuery,
  type ConnectorTeardownInput,
  type ConnectorTeardownResult,
  type TeardownProgress,
} from './shared';

// A teardown must finish whatever happens to the database meanwhile: no attempt limit. Every
// activity is idempotent (see activities/teardown.ts), so a retry after a crash is harmless.
const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' };
// A batch heartbeats after each step, so a batch whose worker died is retried within 20 s rather
// than at the end of its 5 minutes.
const { removeIdentityBatch } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '20s',
  retry,
});
const { beginIdentityRemoval, finishTeardown, restoreConnection } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry,
});

export async function connectorTeardown(input: ConnectorTeardownInput): Promise<ConnectorTeardownResult> {
  const ref = { teardownId: input.teardownId, connectorId: input.connectorId, orgId: input.orgId };
  const progress: TeardownProgress = input.progress ?? {
    phase: 'waiting',
    processed: 0,
    total: null,
    users: 0,
    passwordSetups: 0,
    batches: 0,
    deleteAfterMs: input.deleteAfterMs,
  };
  let restoreBy: string | undefined;
  let expedited = false;

  setHandler(teardownProgressQuery, () => progress);
  setHandler(
    restoreTeardownUpdate,
    async ({ requestedBy }) => {
      restoreBy ??= requestedBy;
      await condition(() => progress.phase === 'restored');
      return progress;
    },
    {
      // Once removal has started, identities are gone: nothing can bring the connection back as it was.
      validator: (_request: { requestedBy: string }) => {
        if (progress.phase !== 'waiting' && progress.phase !== 'restored')
          throw ApplicationFailure.nonRetryable('Removal has started', 'connector_teardown_started');
      },
    },
  );
  setHandler(expediteTeardownUpdate, async () => {
    expedited = true;
    await condition(() => progress.phase !== 'waiting');
    return progress;
  });

  if (progress.phase === 'waiting') {
    const graceLeftMs = input.deleteAfterMs - Date.now();
    if (graceLeftMs > 0) await condition(() => restoreBy !== undefined || expedited, graceLeftMs);
    if (restoreBy !== undefined) {
      await restoreConnection({ ...ref, requestedBy: restoreBy });
      progress.phase = 'restored';
      await condition(allHandlersFinished);
      return 'restored';
    }
    // From here on the restore validator refuses: the phase changes before anything is removed.
    progress.phase = 'removing';
    progress.total = (await beginIdentityRemoval(ref)).total;
  }

  for (let batchesThisRun = 0; ; batchesThisRun++) {
    if (batchesThisRun >= input.batchesPerRun) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof connectorTeardown>({ ...input, progress });
    }
    const result = await removeIdentityBatch({
      ...ref,
      batch: progress.batches,
      size: input.batchSize,
      before: { processed: progress.processed, passwordSetups: progress.passwordSetups },
    });
    progress.batches++;
    progress.processed += result.removed;
    progress.users += result.users;
    progress.passwordSetups += result.passwordSetups;
    // Sign-ins that raced the DELETE may have added identities after the count.
    if (progress.total !== null && progress.processed > progress.total) progress.total = progress.processed;
    if (result.removed < input.batchSize) {
      const { remaining } = await finishTeardown({
        ...ref,
        requestedBy: input.requestedBy,
        processed: progress.processed,
        users: progress.users,
        passwordSetups: progress.passwordSetups,
      });
      if (remaining === 0) break;
    }
  }
  progress.phase = 'done';
  await condition(allHandlersFinished);
  return 'done';
}
