import type { Worker, WorkflowBundle } from '@temporalio/worker';
import { installTemporalRuntime } from '../temporal/runtime';
import { ensureCertificateCheckSchedule } from '../temporal/schedules';
import { createWorker } from '../temporal/worker';
import type { Services } from './services';

export interface RunningWorker {
  worker: Worker;
  /** Resolves when the worker has drained and stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export async function runWorker(
  services: Services,
  options: { taskQueue?: string; workflowBundle?: WorkflowBundle } = {},
): Promise<RunningWorker> {
  installTemporalRuntime(services.logger, services.config.workerMetrics);
  // Every worker makes sure the daily certificate check is scheduled (idempotent across replicas).
  await ensureCertificateCheckSchedule(
    services.temporal,
    {
      taskQueue: options.taskQueue ?? services.config.temporalTaskQueue,
      intervalMs: services.config.certificateCheckIntervalMs,
    },
    services.logger,
  );
  const { worker, connection } = await createWorker({
    address: services.temporalAddress,
    namespace: services.config.temporalNamespace,
    taskQueue: options.taskQueue ?? services.config.temporalTaskQueue,
    deps: {
      config: services.config,
      c: services.c,
      clock: services.clock,
      logger: services.logger,
      keys: services.keys,
    },
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : {}),
  });
  return running(worker, connection);
}

/** Runs `worker` until shut down, then closes its connection. */
export function running(worker: Worker, connection: { close(): Promise<void> }): RunningWorker {
  const done = worker.run().finally(() => connection.close());
  return {
    worker,
    done,
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}
