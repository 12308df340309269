// A real worker on a test stack's task queue whose activities are the real ones with some
// replaced, so a test can put a crash, a failing write or a blocking DNS lookup at the exact point
// it names. Nothing is mocked: replaced activities are usually the real factories over wrapped
// dependencies (a collection whose write throws once, a resolver that waits for the test).
import { readFile } from 'node:fs/promises';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createActivities, type Activities } from '../../activities';
import type { RunningWorker } from '../../runtime/runWorker';
import { installTemporalRuntime } from '../../temporal/runtime';
import type { TestStack } from './stack';

export async function startWorkerWith(
  stack: TestStack,
  replace: (real: Activities) => Partial<Activities>,
): Promise<RunningWorker> {
  installTemporalRuntime(stack.services.logger);
  const { config, c, clock, logger } = stack.services;
  const real = createActivities({ config, c, clock, logger });
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.temporalTaskQueue,
    activities: { ...real, ...replace(real) },
    workflowBundle: { code: await readFile(inject('workflowBundlePath'), 'utf8') },
  });
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

/** `target` with one method wrapped (e.g. to throw the first time); the rest passes through. */
export function wrapMethod<T extends object, K extends keyof T>(
  target: T,
  method: K,
  wrap: (original: T[K]) => T[K],
): T {
  const original = target[method];
  if (typeof original !== 'function') throw new Error(`${String(method)} is not a method`);
  const wrapped = wrap((original as (...args: unknown[]) => unknown).bind(target) as T[K]);
  return new Proxy(target, {
    get(object, property) {
      if (property === method) return wrapped;
      const value: unknown = Reflect.get(object, property);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/** A gate a test opens by hand: an injected step waits on it at the point the test names. */
export interface Gate {
  /** Resolves once something waits at the gate. */
  reached: Promise<void>;
  wait(): Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let arrive!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  const opened = new Promise<void>((resolve) => (release = resolve));
  return {
    reached,
    wait() {
      arrive();
      return opened;
    },
    open: () => release(),
  };
}
