// Whole SAML callbacks on the real stack, as a morning login wave meets them: the ACS of an API
// process validates each response, signs the person in (returning identities and first sign-ins
// with JIT) and starts a session, with a worker in its own process and the Temporal dev server and
// MongoDB-protocol server on this machine. The baseline, measured in the same run, is node-saml
// alone validating the same responses one at a time on one core: each rate is printed as a ratio
// of the baseline's, each c=1 median as milliseconds over one validation, and every sign-in's
// time is broken down into its steps (runtime/stepTimings.ts on the API side, the runs' Temporal
// histories on the worker side).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import type { temporal } from '@temporalio/proto';
import { identityId } from '../db/ssoIdentities';
import { loadConfig, type Config } from '../config';
import { newId } from '../db/ids';
import { membershipId } from '../db/memberships';
import { newUserDoc } from '../db/users';
import type { ConnectorId, UserId } from '../domain/ids';
import { createLogger } from '../logger';
import { runApi } from '../runtime/runApi';
import { openServices, type Services } from '../runtime/services';
import { STEP_TIMINGS_CHANNEL, type StepTiming } from '../runtime/stepTimings';
import { startServers } from '../servers';
import { spUrls } from '../sso/connectorUrls';
import { ConnectorIdKey } from '../workflows/searchAttributes';
import { buildSamlResponse, plainNodeSaml } from '../test/helpers/samlIdp';
import { createBenchConnection } from './fixtures';
import { cpuSampler, driveConcurrently, percentile, peakRssMb } from './harness';

const DOMAIN = 'bench.example.com';
const RETURN_TO = 'https://app.example.test/';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Sign-ins per variant at concurrency 1 and 8 (SSO_BENCH_SIGN_INS scales both). */
const SCALE = Number(process.env.SSO_BENCH_SIGN_INS ?? '1');
const COUNTS = { 1: Math.round(40 * SCALE), 8: Math.round(120 * SCALE) } as const;
const WARMUP = 8;
const BASELINE_RESPONSES = 150;
/** Runs whose histories are read for the worker's share of the time. */
const HISTORY_SAMPLE = 25;

type Kind = 'returning' | 'jit';

interface RunFigures {
  kind: Kind;
  concurrency: 1 | 8;
  count: number;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Mean milliseconds per sign-in in each API step. */
  steps: Map<string, number>;
  /** Mean milliseconds per sign-in in the worker (from histories), by part. */
  worker: Map<string, number>;
  workflowRuns: number;
  /** CPU milliseconds per sign-in, by process. */
  cpu: Map<string, number>;
}

export async function runSsoSignInBench(): Promise<void> {
  const setupStart = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'sso-bench-'));
  const servers = await startServers({ dataDir: join(dir, 'servers'), headless: true });
  const secret = randomBytes(32).toString('base64url');
  const env = {
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'silent',
    ADMIN_TOKEN: randomBytes(32).toString('base64url'),
    SESSION_SECRET: secret,
    ALLOWED_RETURN_ORIGINS: RETURN_TO,
    // A loaded machine can take longer than the default 10 s for a first sign-in; the benchmark
    // wants the sign-in's time, not a "try again".
    SIGN_IN_WAIT: '60s',
    MONGODB_URI: servers.mongoUri,
    TEMPORAL_ADDRESS: servers.temporalAddress,
    // Every sign-in comes from 127.0.0.1 through one connection: limits far above the run's
    // request count keep the limiter's cost in the figures without refusing anything.
    RATE_LIMIT_PER_IP: process.env.RATE_LIMIT_PER_IP ?? '1000000',
    RATE_LIMIT_PER_ACCOUNT: process.env.RATE_LIMIT_PER_ACCOUNT ?? '1000000',
    RATE_LIMIT_PER_CONNECTION: process.env.RATE_LIMIT_PER_CONNECTION ?? '1000000',
    ...pick(process.env, ['SAML_VALIDATION_THREADS']),
  };
  const config = loadConfig(env, { developmentDefaults: true });
  const services = await openServices(
    config,
    { mongodbUri: servers.mongoUri, temporalAddress: servers.temporalAddress },
    createLogger('silent'),
  );
  const worker = await startWorkerProcess({ ...env, LOG_LEVEL: 'info' });
  const api = await runApi(services, 0);
  try {
    const { connectorId, sp } = await createConnection(services, config, api.url);
    const acs = acsClient(api.url, connectorId, sp);

    // Bodies are built before timing: each response answers its own AuthnRequest (single use).
    const perKind = WARMUP + COUNTS[1] + COUNTS[8];
    const returningEmails = Array.from({ length: perKind }, (_, i) => `back${i}@${DOMAIN}`);
    await seedReturningIdentities(services, connectorId, returningEmails);
    const returningBodies = await Promise.all(returningEmails.map((email) => acs.body(email)));
    const jitBodies = await Promise.all(
      Array.from({ length: perKind }, (_, i) => acs.body(`new${i}@${DOMAIN}`)),
    );
    const baselineNodeSaml = plainNodeSaml({
      issuer: sp.entityId,
      callbackUrl: sp.acsUrl,
      audience: sp.entityId,
      acceptedClockSkewMs: config.saml.clockSkewMs,
    });
    const baselineResponses = [...returningBodies, ...jitBodies]
      .slice(0, BASELINE_RESPONSES)
      .map((body) => new URLSearchParams(body).get('SAMLResponse') ?? '');
    const baseline = async () => {
      const samples: number[] = [];
      const start = performance.now();
      for (const SAMLResponse of baselineResponses) {
        const t = performance.now();
        const { profile } = await baselineNodeSaml.validatePostResponseAsync({ SAMLResponse });
        if (!profile) throw new Error('the baseline refused a response');
        samples.push(performance.now() - t);
      }
      samples.sort((a, b) => a - b);
      return {
        opsPerSecond: samples.length / ((performance.now() - start) / 1000),
        p50Ms: percentile(samples, 50),
      };
    };
    const setupMs = performance.now() - setupStart;

    // CPU time by process, to tell which one the cores spend a sign-in in.
    const cpu = cpuSampler({
      'API process (with the load generator)': 'self',
      'worker process': worker.pid,
      'Temporal server': servers.pids.temporal,
      [`${servers.mongoKind} server`]: servers.pids.mongo,
    });
    const before = await baseline();
    const queues = { returning: returningBodies, jit: jitBodies };
    const take = (kind: Kind, n: number) => queues[kind].splice(0, n);
    // Warm-up: JIT compilation, connection pools, the worker's workflow cache.
    for (const kind of ['returning', 'jit'] as const) await drive(take(kind, WARMUP), 2, acs.post);

    const runs: RunFigures[] = [];
    for (const concurrency of [1, 8] as const) {
      for (const kind of ['returning', 'jit'] as const) {
        runs.push(
          await measureRun(
            services,
            connectorId,
            kind,
            concurrency,
            take(kind, COUNTS[concurrency]),
            acs.post,
            cpu,
          ),
        );
      }
    }
    const after = await baseline();
    const base = {
      opsPerSecond: (before.opsPerSecond + after.opsPerSecond) / 2,
      p50Ms: (before.p50Ms + after.p50Ms) / 2,
    };

    const apiMemory = { rssMb: process.memoryUsage.rss() / 2 ** 20, peakRssMb: peakRssMb() };
    const workerMemory = await processMemory(worker.pid);
    report(runs, base, before, after, apiMemory, workerMemory, {
      mongo: servers.mongoKind,
      validationThreads: config.samlValidationThreads,
      setupMs,
    });
  } finally {
    await api.close();
    worker.stop();
    await services.close();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function pick(source: NodeJS.ProcessEnv, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (source[name] ? [[name, source[name]]] : [])));
}

/** The worker as operators run it (`npm run worker`), so its memory is its own. */
async function startWorkerProcess(env: Record<string, string>): Promise<{ pid: number; stop(): void }> {
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, join(ROOT, 'worker.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker running')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the worker exited (${code}): ${output.slice(-2000)}`)));
  });
  child.removeAllListeners('exit');
  if (child.pid === undefined) throw new Error('the worker has no pid');
  const pid = child.pid;
  return { pid, stop: () => child.kill('SIGTERM') };
}

async function processMemory(pid: number): Promise<{ rssMb: number; peakRssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

async function createConnection(services: Services, config: Config, apiUrl: string) {
  const { connectorId, orgId } = await createBenchConnection(services.c, apiUrl, config.adminToken, DOMAIN);
  return { connectorId, orgId, sp: spUrls(config.publicUrl, connectorId) };
}

/** Users who signed in through the connection before (what JIT would have written). */
async function seedReturningIdentities(
  services: Services,
  connectorId: ConnectorId,
  emails: readonly string[],
) {
  const connector = await services.c.connectors.findOne({ _id: connectorId });
  if (!connector) throw new Error('the connection vanished');
  const now = new Date();
  const users = emails.map((email) =>
    newUserDoc(
      newId<UserId>('usr'),
      { email, emailVerified: { at: now, method: 'email_code' }, name: 'Bench User' },
      now,
    ),
  );
  await services.c.users.insertMany(users);
  await services.c.ssoIdentities.insertMany(
    users.map((user) => ({
      _id: identityId(connectorId, user.email),
      connectorId,
      orgId: connector.orgId,
      subject: user.email,
      userId: user._id,
      profile: {},
      createdAt: now,
      lastSignInAt: now,
    })),
  );
  await services.c.memberships.insertMany(
    users.map((user) => ({
      _id: membershipId(connector.orgId, user._id),
      orgId: connector.orgId,
      userId: user._id,
      role: 'member',
      createdAt: now,
    })),
  );
}

function acsClient(apiUrl: string, connectorId: ConnectorId, sp: ReturnType<typeof spUrls>) {
  const startLogin = async () => {
    const res = await fetch(
      `${apiUrl}/v1/sso/${connectorId}/login?returnTo=${encodeURIComponent(RETURN_TO)}`,
      {
        redirect: 'manual',
      },
    );
    const location = new URL(res.headers.get('location') ?? '');
    const request = inflateRawSync(
      Buffer.from(location.searchParams.get('SAMLRequest') ?? '', 'base64'),
    ).toString();
    return {
      requestId: /\sID="([^"]+)"/.exec(request)?.[1] ?? '',
      relayState: location.searchParams.get('RelayState') ?? '',
    };
  };
  return {
    body: async (email: string): Promise<string> => {
      const login = await startLogin();
      const SAMLResponse = buildSamlResponse({
        inResponseTo: login.requestId,
        destination: sp.acsUrl,
        recipient: sp.acsUrl,
        audience: sp.entityId,
        nameId: email,
        attributes: { email, displayName: 'Bench User', department: 'Performance' },
      });
      return new URLSearchParams({ SAMLResponse, RelayState: login.relayState }).toString();
    },
    post: async (body: string): Promise<void> => {
      const res = await fetch(`${apiUrl}/v1/sso/${connectorId}/acs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'manual',
      });
      await res.arrayBuffer();
      // A refusal would be fast and meaningless: anything but the redirect stops the run.
      if (res.status !== 303) throw new Error(`ACS answered ${res.status}`);
    },
  };
}

/** Posts every body, `concurrency` at a time; answers each latency and the wall time. */
function drive(bodies: readonly string[], concurrency: number, post: (body: string) => Promise<void>) {
  return driveConcurrently(bodies.length, concurrency, (index) => post(bodies[index] ?? ''));
}

async function measureRun(
  services: Services,
  connectorId: ConnectorId,
  kind: Kind,
  concurrency: 1 | 8,
  bodies: readonly string[],
  post: (body: string) => Promise<void>,
  cpu: () => Promise<Map<string, number>>,
): Promise<RunFigures> {
  const cpuBefore = await cpu();
  const stepTotals = new Map<string, number>();
  const onStep = (message: unknown) => {
    const { step, ms } = message as StepTiming;
    stepTotals.set(step, (stepTotals.get(step) ?? 0) + ms);
  };
  const startedAt = new Date();
  subscribe(STEP_TIMINGS_CHANNEL, onStep);
  let driven;
  try {
    driven = await drive(bodies, concurrency, post);
  } finally {
    unsubscribe(STEP_TIMINGS_CHANNEL, onStep);
  }
  const n = bodies.length;
  const cpuAfter = await cpu();
  const cpuPerSignIn = new Map(
    [...cpuAfter].map(([name, ms]) => [name, (ms - (cpuBefore.get(name) ?? 0)) / n]),
  );
  const steps = new Map([...stepTotals].map(([step, ms]) => [step, ms / n]));
  const { perRun, runs } = await workerShare(services, connectorId, startedAt);
  return {
    kind,
    concurrency,
    count: n,
    opsPerSecond: n / (driven.wallMs / 1000),
    p50Ms: percentile(driven.latencies, 50),
    p99Ms: percentile(driven.latencies, 99),
    meanMs: driven.latencies.reduce((sum, ms) => sum + ms, 0) / n,
    steps,
    // Histories are sampled; every run of the variant is of the same shape.
    worker: new Map([...perRun].map(([part, ms]) => [part, (ms * runs) / n])),
    workflowRuns: runs,
    cpu: cpuPerSignIn,
  };
}

const tsMs = (
  ts: temporal.api.common.v1.IPayload | null | undefined | { seconds?: unknown; nanos?: number | null },
) => {
  const t = ts as { seconds?: { toNumber(): number } | number; nanos?: number | null } | null | undefined;
  if (!t) return NaN;
  const seconds = typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0);
  return seconds * 1000 + (t.nanos ?? 0) / 1e6;
};

/**
 * The worker's part, read from the histories of the runs this variant started: how long workflow
 * tasks waited in the task queue, how long the worker took on them (local activities included),
 * and the database writes inside them.
 */
async function workerShare(services: Services, connectorId: ConnectorId, since: Date) {
  const query = `${ConnectorIdKey.name} = '${connectorId}' AND StartTime >= '${since.toISOString()}'`;
  const ids: string[] = [];
  // Visibility is eventually consistent; a short pause lets the last runs appear.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  let runs = 0;
  for await (const info of services.temporal.workflow.list({ query })) {
    runs += 1;
    if (ids.length < HISTORY_SAMPLE) ids.push(info.workflowId);
  }
  const totals = new Map<string, number>();
  const add = (part: string, ms: number) => totals.set(part, (totals.get(part) ?? 0) + ms);
  for (const id of ids) {
    const history = await services.temporal.workflow.getHandle(id).fetchHistory();
    const events = history.events ?? [];
    const scheduled = new Map<number, number>();
    let startedMs = NaN;
    for (const event of events) {
      const at = tsMs(event.eventTime);
      if (event.workflowExecutionStartedEventAttributes) startedMs = at;
      if (event.workflowTaskScheduledEventAttributes) scheduled.set(Number(event.eventId), at);
      const started = event.workflowTaskStartedEventAttributes;
      if (started)
        add(
          'workflow task: waiting in the task queue',
          at - (scheduled.get(Number(started.scheduledEventId)) ?? at),
        );
      const completed = event.workflowTaskCompletedEventAttributes;
      if (completed) {
        const startEvent = events.find((e) => Number(e.eventId) === Number(completed.startedEventId));
        add('workflow task: on the worker (local activities included)', at - tsMs(startEvent?.eventTime));
      }
      if (event.workflowExecutionCompletedEventAttributes || event.workflowExecutionFailedEventAttributes)
        add('workflow run: start to close', at - startedMs);
    }
  }
  const perRun = new Map([...totals].map(([part, ms]) => [part, ids.length ? ms / ids.length : 0]));
  return { perRun, runs };
}

function report(
  runs: readonly RunFigures[],
  base: { opsPerSecond: number; p50Ms: number },
  before: { opsPerSecond: number; p50Ms: number },
  after: { opsPerSecond: number; p50Ms: number },
  apiMemory: { rssMb: number; peakRssMb: number },
  workerMemory: { rssMb: number; peakRssMb: number },
  notes: { mongo: string; validationThreads: number; setupMs: number },
) {
  const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
  const find = (kind: Kind, c: 1 | 8) => runs.find((run) => run.kind === kind && run.concurrency === c);
  console.log(
    `\nsso-sign-in: SAML callbacks through the ACS (API in this process, SAML validation threads: ${notes.validationThreads}; worker in its own process; Temporal dev server and ${notes.mongo})`,
  );
  console.log(
    `baseline: node-saml alone, serially, on the same responses: ${f(base.opsPerSecond)} /s, p50 ${f(base.p50Ms, 2)} ms (start ${f(before.opsPerSecond)} /s, end ${f(after.opsPerSecond)} /s)`,
  );
  const header = [
    'variant',
    'c',
    'sign-ins',
    'rate /s',
    '× baseline',
    'p50 ms',
    'p99 ms',
    'p99/p50',
    'p50 over validation ms',
  ];
  const rows = runs.map((run) => [
    run.kind === 'returning' ? 'returning identity' : 'first sign-in (JIT)',
    String(run.concurrency),
    String(run.count),
    f(run.opsPerSecond),
    f(run.opsPerSecond / base.opsPerSecond, 2),
    f(run.p50Ms),
    f(run.p99Ms),
    f(run.p99Ms / run.p50Ms, 2),
    run.concurrency === 1 ? f(run.p50Ms - base.p50Ms) : '',
  ]);
  printRows(header, rows);

  const goals = [
    goal(
      'returning c=8 rate ≥ 1.0 × baseline',
      (find('returning', 8)?.opsPerSecond ?? 0) / base.opsPerSecond,
      (v) => v >= 1,
      2,
    ),
    goal(
      'returning c=1 p50 ≤ validation + 15 ms',
      (find('returning', 1)?.p50Ms ?? NaN) - base.p50Ms,
      (v) => v <= 15,
      1,
    ),
    goal(
      'JIT c=8 rate ≥ 0.5 × baseline',
      (find('jit', 8)?.opsPerSecond ?? 0) / base.opsPerSecond,
      (v) => v >= 0.5,
      2,
    ),
    goal('JIT c=1 p50 ≤ validation + 60 ms', (find('jit', 1)?.p50Ms ?? NaN) - base.p50Ms, (v) => v <= 60, 1),
    ...(['returning', 'jit'] as const).map((kind) =>
      goal(
        `${kind} c=8 p99 ≤ 2 × p50`,
        (find(kind, 8)?.p99Ms ?? NaN) / (find(kind, 8)?.p50Ms ?? NaN),
        (v) => v <= 2,
        2,
      ),
    ),
  ];
  console.log('\ngoals');
  goals.forEach((g) => console.log(`  ${g.met ? 'met    ' : 'NOT met'}  ${g.name}: ${g.text}`));

  const stepNames = [...new Set(runs.flatMap((run) => [...run.steps.keys()]))];
  const workerParts = [...new Set(runs.flatMap((run) => [...run.worker.keys()]))];
  console.log(
    '\nwhere the time goes: mean ms per sign-in (steps overlap at c=8: several sign-ins share the cores)',
  );
  printRows(
    ['step', ...runs.map((run) => `${run.kind} c=${run.concurrency}`)],
    [
      ...stepNames.map((step) => [step, ...runs.map((run) => f(run.steps.get(step) ?? 0, 2))]),
      ...workerParts.map((part) => [part, ...runs.map((run) => f(run.worker.get(part) ?? 0, 2))]),
      ['workflow runs per sign-in', ...runs.map((run) => f(run.workflowRuns / run.count, 2))],
      ['whole sign-in (mean)', ...runs.map((run) => f(run.meanMs, 1))],
    ],
  );
  const processes = [...new Set(runs.flatMap((run) => [...run.cpu.keys()]))];
  const cpuTotal = (run: RunFigures) => [...run.cpu.values()].reduce((sum, ms) => sum + ms, 0);
  console.log(
    `\nCPU per sign-in, ms, by process (this machine has ${availableParallelism()} cores: at most ${availableParallelism() * 1000} CPU ms per second)`,
  );
  printRows(
    ['process', ...runs.map((run) => `${run.kind} c=${run.concurrency}`)],
    [
      ...processes.map((name) => [name, ...runs.map((run) => f(run.cpu.get(name) ?? NaN, 2))]),
      ['all', ...runs.map((run) => f(cpuTotal(run), 2))],
      ['cores busy', ...runs.map((run) => f((cpuTotal(run) * run.opsPerSecond) / 1000, 2))],
    ],
  );
  console.log(
    `\nmemory: API process (with the load generator) RSS ${f(apiMemory.rssMb, 0)} MB, peak ${f(apiMemory.peakRssMb, 0)} MB; worker process RSS ${f(workerMemory.rssMb, 0)} MB, peak ${f(workerMemory.peakRssMb, 0)} MB`,
  );
  console.log(
    `setup (servers, worker, connection, logins and signed responses) ${f(notes.setupMs / 1000)} s, not timed`,
  );
  console.log(
    JSON.stringify({
      bench: 'sso-sign-in',
      baseline: { ops_per_s: round(base.opsPerSecond), p50_ms: round(base.p50Ms) },
      runs: runs.map((run) => ({
        kind: run.kind,
        concurrency: run.concurrency,
        ops: run.count,
        ops_per_s: round(run.opsPerSecond),
        ratio: round(run.opsPerSecond / base.opsPerSecond),
        p50_ms: round(run.p50Ms),
        p99_ms: round(run.p99Ms),
        over_validation_ms: round(run.p50Ms - base.p50Ms),
        steps_ms: Object.fromEntries([...run.steps, ...run.worker].map(([k, v]) => [k, round(v)])),
        cpu_ms: Object.fromEntries([...run.cpu].map(([k, v]) => [k, round(v)])),
      })),
      goals_met: goals.filter((g) => g.met).length,
      goals: goals.length,
      api_rss_mb: round(apiMemory.peakRssMb),
      worker_rss_mb: round(workerMemory.peakRssMb),
      validation_threads: notes.validationThreads,
      mongo: notes.mongo,
      node: process.version,
    }),
  );
}

function goal(name: string, value: number, ok: (v: number) => boolean, digits: number) {
  return {
    name,
    met: Number.isFinite(value) && ok(value),
    text: Number.isFinite(value) ? value.toFixed(digits) : '-',
  };
}

function printRows(header: readonly string[], rows: readonly (readonly string[])[]) {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  rows.forEach((row) => console.log(line(row)));
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}
