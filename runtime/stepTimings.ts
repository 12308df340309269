// Where a sign-in's time goes: named steps (validation, each database call, workflow start, the
// wait for its result, the session write) published on a diagnostics channel. Nothing listens in
// production, and then a step costs one `hasSubscribers` check; bench/ssoSignIn.ts subscribes and
// prints the breakdown per sign-in.
import { channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';

export interface StepTiming {
  step: string;
  ms: number;
}

export const STEP_TIMINGS_CHANNEL = 'sso-provisioning.sign-in.step';
const steps = channel(STEP_TIMINGS_CHANNEL);

/** Runs `run` and, when someone listens, publishes how long it took under `step`. */
export async function timed<T>(step: string, run: () => Promise<T>): Promise<T> {
  if (!steps.hasSubscribers) return run();
  const start = performance.now();
  try {
    return await run();
  } finally {
    steps.publish({ step, ms: performance.now() - start } satisfies StepTiming);
  }
}
