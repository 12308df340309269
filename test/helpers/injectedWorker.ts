// A real worker on a test stack's task queue whose activities are the real ones with some
// replaced, so a test can put a crash, a failing write or a blocking DNS lookup at the exact point
// it names. Nothing is mocked: replaced activities are usually the real factories over wrapped
// dependencies (a collection whose write throws once, a resolver that waits for the test).
import { readFile } from 'node:fs/promises';
import { NativeConnection, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import { createActivities, type Activities } from '../../activities';
import { running, type RunningWorker } from '../../runtime/runWorker';
import { installTemporalRuntime } from '../../temporal/runtime';
import type { TestStack } from './stack';

export async function startWorkerWith(
  stack: TestStack,
  replace: (real: Activities) => Partial<Activities>,
): Promise<RunningWorker> {
  installTemporalRuntime(stack.services.logger);
  const { config, c, clock, logger, keys } = stack.services;
  const real = createActivities({ config, c, clock, logger, keys });
  const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.temporalTaskQueue,
    activities: { ...real, ...replace(real) },
    workflowBundle: { code: await readFile(inject('workflowBundlePath'), 'utf8') },
  });
  return running(worker, connection);
}

/**
 * `target` whose `method` rejects its first `times` calls, as a write lost to a dropped
 * connection does; every other call and property passes through to the real object.
 */
export function failingFirst<T extends object>(
  target: T,
  method: keyof T,
  times: number,
): { target: T; failures: () => number } {
  let failures = 0;
  const proxy = new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property);
      if (typeof value !== 'function') return value;
      const real = (...args: unknown[]): unknown =>
        (value as (...a: unknown[]) => unknown).apply(object, args);
      if (property !== method) return real;
      return (...args: unknown[]) => {
        if (failures >= times) return real(...args);
        failures++;
        return Promise.reject(new Error(`connection lost (injected into ${String(method)})`));
      };
    },
  });
  return { target: proxy, failures: () => failures };
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
