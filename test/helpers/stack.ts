// A full stack per test file over the servers the global setup started: its own database and its
// own task queue (so files run in parallel without seeing each other's data or workflows), a real
// worker and the real API on a free port.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';
import { loadConfig, type Config } from '../../config';
import { createLogger, type Logger } from '../../logger';
import { runApi, type RunningApi } from '../../runtime/runApi';
import { runWorker, type RunningWorker } from '../../runtime/runWorker';
import { openServices, type Services } from '../../runtime/services';
import { freePorts } from '../../servers/ports';

export interface TestStack {
  config: Config;
  services: Services;
  api: RunningApi;
  worker: RunningWorker | undefined;
  baseUrl: string;
  /** Starts a (new) worker on the stack's task queue, e.g. after killing one. */
  startWorker(): Promise<RunningWorker>;
  stop(): Promise<void>;
}

export const OPERATOR_TOKEN = 'test-operator-token';

let bundleCode: Promise<string> | undefined;
function workflowBundle(): Promise<{ code: string }> {
  bundleCode ??= readFile(inject('workflowBundlePath'), 'utf8');
  return bundleCode.then((code) => ({ code }));
}

export async function startTestStack(
  env: Record<string, string> = {},
  options: {
    worker?: boolean;
    /** Listen on a port known in advance, so PUBLIC_URL is the real address (browser flows). */ fixedPort?: boolean;
    /** Where the API and worker log (e.g. to read the logs back); LOG_LEVEL's logger otherwise. */
    logger?: Logger;
    /** The time the API and the activities see (a test clock); the real time otherwise. */
    clock?: () => Date;
    /** Servers of the test file's own (one it stops and restarts) instead of the shared ones. */
    endpoints?: { mongodbUri: string; temporalAddress: string };
  } = {},
): Promise<TestStack> {
  const suffix = randomUUID().slice(0, 8);
  const [port] = options.fixedPort ? await freePorts(1) : [0];
  // The test stack is a development start (short operator token allowed); its session secret is
  // random so no strong-looking secret is published in this repository.
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      ADMIN_TOKEN: OPERATOR_TOKEN,
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      MONGODB_DB: `test_${suffix}`,
      TEMPORAL_TASK_QUEUE: `test-${suffix}`,
      PORT: String(port),
      ...(port ? { PUBLIC_URL: `http://127.0.0.1:${port}` } : {}),
      LOG_LEVEL: 'silent',
      // Every test signs in from 127.0.0.1, many times: limits far above what a file does, unless
      // a test sets its own (test/integration/rateLimits.test.ts).
      RATE_LIMIT_PER_IP: '100000',
      RATE_LIMIT_PER_ACCOUNT: '100000',
      RATE_LIMIT_PER_CONNECTION: '100000',
      ...env,
    },
    { developmentDefaults: true },
  );
  const services = await openServices(
    config,
    options.endpoints ?? { mongodbUri: inject('mongoUri'), temporalAddress: inject('temporalAddress') },
    options.logger ?? createLogger(config.logLevel),
  );
  if (options.clock) services.clock = options.clock;
  const startWorker = async () => runWorker(services, { workflowBundle: await workflowBundle() });
  const worker = options.worker === false ? undefined : await startWorker();
  const api = await runApi(services, port);
  const stack: TestStack = {
    config,
    services,
    api,
    worker,
    baseUrl: api.url,
    startWorker,
    async stop() {
      await api.close();
      await stack.worker?.shutdown();
      await services.mongo.db.dropDatabase().catch(() => undefined);
      await services.close();
    },
  };
  return stack;
}
