// Bounded waits on sign-in workflows, on the real Temporal server: when the ACS stops waiting
// for a run, the API stops polling Temporal for it; and a run whose steps retry through a long
// database outage waits on server timers, so it reaches the attempt's 7-day expiry far below
// Temporal's history limit.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import type { LocalActivityOptions } from '@temporalio/workflow';
import { afterAll, afterEach, beforeAll, expect, inject, it } from 'vitest';
import type { ApiDeps } from '../../api/context';
import { runSsoSignIn } from '../../api/workflowClient';
import { parseDuration } from '../../config';
import { SIGN_IN_ATTEMPT_TTL_MS } from '../../db/signInAttempts';
import type { RunningWorker } from '../../runtime/runWorker';
import { SIGN_IN_ACTIVITY_OPTIONS } from '../../workflows/shared';
import { startWorkerWith } from '../helpers/injectedWorker';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

let stack: TestStack;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  stack = await startTestStack({ SIGN_IN_WAIT: '500ms' }, { worker: false });
});
afterEach(async () => {
  await worker?.shutdown();
  worker = undefined;
});
afterAll(async () => {
  await stack?.stop();
});

const signInInput = () => ({
  attemptId: `att_${randomUUID()}`,
  connectorId: 'con_waits',
  orgId: 'org_waits',
});

/** A gRPC interceptor that counts the history long polls (how a run's result is awaited) in flight. */
function historyPollCounter(): { interceptor: Interceptor; inFlight: () => number; started: () => number } {
  let inFlight = 0;
  let started = 0;
  const interceptor: Interceptor = (options, nextCall) => {
    if (!options.method_definition.path.endsWith('/GetWorkflowExecutionHistory'))
      return new InterceptingCall(nextCall(options));
    return new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        inFlight++;
        started++;
        next(metadata, {
          onReceiveStatus(status, nextStatus) {
            inFlight--;
            nextStatus(status);
          },
        });
      },
    });
  };
  return { interceptor, inFlight: () => inFlight, started: () => started };
}

it('stops polling Temporal for a sign-in result once the ACS has stopped waiting for it', async () => {
  const polls = historyPollCounter();
  const connection = await Connection.connect({
    address: inject('temporalAddress'),
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions()), polls.interceptor],
  });
  try {
    const deps: ApiDeps = {
      config: stack.config,
      db: stack.services.mongo.db,
      c: stack.services.c,
      temporal: new Client({ connection, namespace: stack.config.temporalNamespace }),
      logger: stack.services.logger,
      clock: () => new Date(),
      keys: stack.services.keys,
    };
    // No worker polls this task queue: the run cannot finish, as during a worker outage.
    await expect(runSsoSignIn(deps, `sso-sign-in-wait-${randomUUID()}`, signInInput())).rejects.toMatchObject(
      { code: 'try_again_later' },
    );
    expect(polls.started()).toBeGreaterThan(0);
    // Temporal would hold such a poll for about 20 s and the client would then poll again.
    await eventually(
      () => Promise.resolve(polls.inFlight() === 0 ? true : undefined),
      'the poll to be cancelled',
      3_000,
    );
    const startedSoFar = polls.started();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(polls.inFlight()).toBe(0);
    expect(polls.started()).toBe(startedSoFar);
  } finally {
    await connection.close();
  }
});

const HEARTBEAT_EVERY_MS = 8_000; // 80% of the default 10 s workflow task timeout
const EVENTS_PER_HEARTBEAT = 3; // workflow task completed, scheduled, started

/**
 * The history events a local activity's retries add over `windowMs` in the worst case (every
 * attempt hangs until its timeout): backoffs up to the threshold are spent inside the worker,
 * which heartbeats the workflow task meanwhile; each longer one is a server timer costing
 * `eventsPerTimerRetry`, the figure measured on the real server.
 */
function worstCaseRetryEvents(options: LocalActivityOptions, eventsPerTimerRetry: number, windowMs: number) {
  const ms = (value: string | number | undefined, fallback: string) =>
    typeof value === 'number' ? value : parseDuration(value ?? fallback);
  const attemptMs = ms(options.startToCloseTimeout, '10s');
  const thresholdMs = ms(options.localRetryThreshold, '1m');
  const maxMs = ms(options.retry?.maximumInterval, '100s');
  let backoffMs = ms(options.retry?.initialInterval, '1s');
  let elapsedMs = 0;
  let heldMs = 0;
  let events = 0;
  const heartbeats = () => Math.floor(heldMs / HEARTBEAT_EVERY_MS) * EVENTS_PER_HEARTBEAT;
  while (elapsedMs < windowMs) {
    elapsedMs += attemptMs + backoffMs;
    heldMs += attemptMs;
    if (backoffMs <= thresholdMs) {
      heldMs += backoffMs;
    } else {
      events += heartbeats() + eventsPerTimerRetry;
      heldMs = 0;
    }
    backoffMs = Math.min(backoffMs * (options.retry?.backoffCoefficient ?? 2), maxMs);
  }
  return events + heartbeats();
}

it('retries a sign-in step through a long outage on server timers, far below the history limit', async () => {
  worker = await startWorkerWith(stack, () => ({
    decideSignIn: () => Promise.reject(ApplicationFailure.retryable('database unavailable (injected)')),
  }));
  const handle = await stack.services.temporal.workflow.start('ssoSignIn', {
    taskQueue: stack.config.temporalTaskQueue,
    workflowId: `sso-sign-in-outage-${randomUUID()}`,
    args: [signInInput()],
  });
  try {
    const timerStarts = await eventually(
      async () => {
        const { events } = await handle.fetchHistory();
        const starts = (events ?? []).flatMap((event, index) =>
          event.timerStartedEventAttributes ? [index] : [],
        );
        return starts.length >= 2 ? starts : undefined;
      },
      'two retries waiting on server timers',
      60_000,
    );
    const eventsPerTimerRetry = timerStarts[1]! - timerStarts[0]!;
    expect(eventsPerTimerRetry).toBeLessThanOrEqual(8);

    // The retries end with the sign-in attempt (it expires after 7 days, and so does the window).
    expect(parseDuration(String(SIGN_IN_ACTIVITY_OPTIONS.scheduleToCloseTimeout))).toBe(
      SIGN_IN_ATTEMPT_TTL_MS,
    );
    const worstCase = worstCaseRetryEvents(
      SIGN_IN_ACTIVITY_OPTIONS,
      eventsPerTimerRetry,
      SIGN_IN_ATTEMPT_TTL_MS,
    );
    // Temporal's history limit is 51,200 events; it warns from 10,240.
    expect(worstCase).toBeLessThan(10_240);
  } finally {
    await handle.terminate('test over');
  }
}, 90_000);
