// The worker entry point (worker.ts) as its own process, killed with SIGKILL while a domain
// verification waits: a new worker process picks the workflow up and nothing is lost or doubled.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { createOrgWithKey, uniqueDomain } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dns: TestDnsServer;
let stack: TestStack;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  dns = await startDnsServer();
  stack = await startTestStack(
    {
      DNS_SERVERS: dns.address,
      DNS_TIMEOUT: '300ms',
      DOMAIN_VERIFICATION_INITIAL_INTERVAL: '300ms',
      DOMAIN_VERIFICATION_MAX_INTERVAL: '1s',
    },
    { worker: false },
  );
});

afterAll(async () => {
  for (const worker of workers) worker.kill('SIGKILL');
  await stack?.stop();
  await dns?.stop();
});

/** Starts `worker.ts` in its own process and resolves once it polls the task queue. */
async function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      // worker.ts is not a development entry point: it needs real secrets.
      ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      SESSION_SECRET: stack.config.sessionSecret,
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: stack.config.mongodbDb,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: stack.config.temporalTaskQueue,
      DNS_SERVERS: dns.address,
      DNS_TIMEOUT: '300ms',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker running')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${output.slice(-2000)}`)));
  });
  return child;
}

it('resumes a waiting verification on a new worker process after the old one is killed', async () => {
  const first = await startWorkerProcess();
  const org = await createOrgWithKey(stack.baseUrl);
  const added = await request<{ id: string; domain: string; txtRecord: { name: string; value: string } }>(
    stack.baseUrl,
    'POST',
    `/v1/orgs/${org.id}/domains`,
    { token: org.key, body: { domain: uniqueDomain('crash') } },
  );
  expect(added.status).toBe(201);
  const view = async () =>
    (
      await request<{ status: string; checks: number }>(
        stack.baseUrl,
        'GET',
        `/v1/orgs/${org.id}/domains/${added.body.id}`,
        { token: org.key },
      )
    ).body;
  await eventually(
    async () => ((await view()).checks >= 2 ? true : undefined),
    'two checks by the first worker',
  );

  const exited = new Promise((resolve) => first.once('exit', resolve));
  first.kill('SIGKILL');
  await exited;
  dns.setTxt(added.body.txtRecord.name, [added.body.txtRecord.value]);
  await startWorkerProcess();

  await eventually(
    async () => ((await view()).status === 'verified' ? true : undefined),
    'verification by the second worker',
    90_000,
  );
  expect(await stack.services.c.domainClaims.countDocuments({ _id: added.body.domain })).toBe(1);
  // The audit event follows the status change in the same activity; its ID is the transition's.
  await eventually(
    async () =>
      (await stack.services.c.auditEvents.countDocuments({
        type: 'domain.verified',
        subjectId: added.body.id,
      })) === 1
        ? true
        : undefined,
    'the verification audited once',
  );
}, 120_000);
