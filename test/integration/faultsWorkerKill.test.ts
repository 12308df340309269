// Fault suite, worker: twenty times (FAULT_TRIALS), a few first-time sign-ins (JIT) are posted
// at once and the worker process is SIGKILLed after a random delay drawn from a seeded generator
// (FAULT_SEED replays a run; the seed is printed), and a loaded replacement takes over at once.
// Every callback answered a success or 503 try_again_later; repeating each sign-in later
// completes it; and there is exactly one user per email, one identity per subject, one
// membership per user, nothing half done and no failed provisioning run.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import {
  attemptSignIn,
  expectProvisionedOnce,
  expectSuccessOrTryAgain,
  seededRandom,
  seedFrom,
  signInUntilDone,
  type AcsAnswer,
  type Person,
} from '../helpers/faults';
import { request } from '../helpers/http';
import { PROJECT_ROOT } from '../helpers/process';
import { createSamlConnection, type SsoFixture } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const TRIALS = Number(process.env.FAULT_TRIALS ?? 20);
const PEOPLE_PER_TRIAL = 3;
/** JIT sign-ins take about 0.5–2 s here: kills land before, during and after their steps. */
const MAX_KILL_DELAY_MS = 2_000;

let dns: TestDnsServer;
let stack: TestStack;
const processes: ChildProcess[] = [];

interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<unknown>;
}

/** A standby worker (test/helpers/standbyWorker.ts), resolved once it is loaded and connected. */
async function standbyWorker(): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/standbyWorker.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      SESSION_SECRET: stack.config.sessionSecret,
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: stack.config.mongodbDb,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: stack.config.temporalTaskQueue,
      WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
      DNS_SERVERS: dns.address,
      DNS_TIMEOUT: '300ms',
      ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
      LOG_LEVEL: 'warn',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  processes.push(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const worker = { child, output: () => output, exited };
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`standby worker exited: ${output.slice(-2000)}`);
      return Promise.resolve(output.includes('standby') ? true : undefined);
    },
    'a standby worker',
    90_000,
  );
  return worker;
}

async function promote(worker: WorkerProcess): Promise<WorkerProcess> {
  worker.child.stdin?.write('start\n');
  await eventually(
    () => Promise.resolve(worker.output().includes('worker running') ? true : undefined),
    'the standby worker to poll',
  );
  return worker;
}

beforeAll(async () => {
  dns = await startDnsServer();
  stack = await startTestStack(
    {
      DNS_SERVERS: dns.address,
      DNS_TIMEOUT: '300ms',
      DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
      ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
      SIGN_IN_WAIT: '3s',
    },
    { worker: false },
  );
});

afterAll(async () => {
  for (const child of processes) child.kill('SIGKILL');
  await stack?.stop();
  await dns?.stop();
});

it(`keeps JIT sign-ins whole when the worker is SIGKILLed at ${TRIALS} seeded random points`, async () => {
  const seed = seedFrom('FAULT_SEED');
  const random = seededRandom(seed);
  let active = await promote(await standbyWorker());
  // Two replacements load ahead, so a trial rarely waits for one.
  const ready = [standbyWorker(), standbyWorker()];
  const fixture: SsoFixture = await createSamlConnection(stack, dns);

  const trialsStart = Date.now();
  const people: Person[] = [];
  const answers: { person: Person; answer: Promise<AcsAnswer> }[] = [];
  const delays: number[] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    const standby = await ready.shift()!;
    const batch = Array.from({ length: PEOPLE_PER_TRIAL }, (_, i) => ({
      subject: `kill-${trial}-${i}-${fixture.domain}`,
      email: `kill${trial}x${i}@${fixture.domain}`,
    }));
    people.push(...batch);
    for (const person of batch)
      answers.push({ person, answer: attemptSignIn(stack.baseUrl, fixture, person) });
    const delay = Math.floor(random() * MAX_KILL_DELAY_MS);
    delays.push(delay);
    await new Promise((resolve) => setTimeout(resolve, delay));
    active.child.kill('SIGKILL');
    await active.exited;
    active = await promote(standby);
    // The next replacement loads while this trial's sign-ins recover (and meet the next kill).
    ready.push(standbyWorker());
  }
  console.log(
    `seed ${seed}: ${TRIALS} kills in ${Date.now() - trialsStart} ms, each after ${delays.join(', ')} ms`,
  );
  for (const standby of await Promise.all(ready)) standby.child.kill('SIGKILL');
  const trialsDone = Date.now();

  const settled = await Promise.all(
    answers.map(async ({ person, answer }) => ({ person, answer: await answer })),
  );
  for (const { person, answer } of settled)
    expectSuccessOrTryAgain(answer, `first callback of ${person.subject}`);
  const deferred = settled.filter(({ answer }) => answer.status !== 303).length;
  console.log(`${settled.length - deferred} completed at once, ${deferred} answered 503 try_again_later`);

  // As people would: each repeats the sign-in (a fresh request and response) until it completes.
  for (let start = 0; start < people.length; start += 6)
    await Promise.all(
      people.slice(start, start + 6).map((person) => signInUntilDone(stack.baseUrl, fixture, person)),
    );

  console.log(`every sign-in completed ${Date.now() - trialsDone} ms after the last kill`);
  await expectProvisionedOnce(stack.services.c, fixture, people);
  const failed = await request<{ runs: unknown[] }>(
    stack.baseUrl,
    'GET',
    `/v1/orgs/${fixture.org.id}/provisioning?status=failed`,
    { token: fixture.org.key },
  );
  expect(failed).toMatchObject({ status: 200, body: { runs: [] } });
}, 600_000);
