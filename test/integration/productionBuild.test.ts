// The production build (`npm run build`, what the image runs) as an operator starts it: plain
// `node` on the bundled JavaScript, NODE_ENV=production. Without secrets it refuses to start and
// names them; with them, the built API and worker (running the prebuilt workflow bundle, with no
// TypeScript sources to fall back on) verify a domain on the real servers.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { freePorts } from '../../servers/ports';
import { PREBUILT_WORKFLOW_BUNDLE } from '../../temporal/worker';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { PROJECT_ROOT, runNode, startNode, type StartedProcess } from '../helpers/process';
import { eventually } from '../helpers/wait';
import { TEST_IDP, TEST_SP, buildSamlResponse, testIdpKey } from '../helpers/samlIdp';

let outDir: string;
let dns: TestDnsServer | undefined;
const started: StartedProcess[] = [];

beforeAll(async () => {
  // Inside the project, so the bundles' package imports resolve to its node_modules as in the image.
  const cache = join(PROJECT_ROOT, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  outDir = await mkdtemp(join(cache, 'sso-build-test-'));
  const build = await runNode(['--import', 'tsx', 'scripts/build.ts', outDir], {}, 120_000);
  expect(build.output).toContain('built');
  expect(build.code).toBe(0);
}, 150_000);

afterAll(async () => {
  for (const process of started) process.child.kill('SIGKILL');
  await dns?.stop();
  await rm(outDir, { recursive: true, force: true });
});

it('builds the API, the worker and the workflow bundle into JavaScript', () => {
  for (const file of ['api.js', 'worker.js', 'samlValidationWorker.js', PREBUILT_WORKFLOW_BUNDLE])
    expect(existsSync(join(outDir, file)), file).toBe(true);
});

it('bundles the SAML validation thread beside the API, and it validates a signed response there', async () => {
  // What the API's pool does (sso/saml/validationPool.ts), on the built file: a piscina thread
  // validates, and asks this thread to consume the request ID.
  const requestId = '_bundled-thread-request';
  const task = {
    options: {
      connectorId: 'con_build',
      spEntityId: TEST_SP.entityId,
      acsUrl: TEST_SP.acsUrl,
      idp: {
        entityId: TEST_IDP.entityId,
        ssoUrl: TEST_IDP.ssoUrl,
        certificates: [testIdpKey().certificatePem],
      },
      clockSkewMs: 60_000,
      requestTtlMs: 600_000,
    },
    body: { SAMLResponse: buildSamlResponse({ inResponseTo: requestId, nameId: 'built@example.com' }) },
    requestId,
  };
  const script = `
    import { MessageChannel } from 'node:worker_threads';
    import { Piscina } from 'piscina';
    const [file, json] = process.argv.slice(1);
    const task = JSON.parse(json);
    const pool = new Piscina({ filename: file });
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m) => port1.postMessage({ id: m.id, consumed: m.requestId === task.requestId }));
    const outcome = await pool.run({ options: task.options, body: task.body, port: port2 }, { transferList: [port2] });
    port1.close();
    await pool.destroy();
    console.log(JSON.stringify(outcome));`;
  const file = join(outDir, 'samlValidationWorker.js');
  const { code, output } = await runNode(
    ['--input-type=module', '-e', script, file, JSON.stringify(task)],
    {},
  );
  expect(code, output).toBe(0);
  expect(JSON.parse(output)).toMatchObject({
    ok: true,
    assertion: { nameId: 'built@example.com', inResponseTo: requestId },
  });
});

it.each(['api.js', 'worker.js'])('%s refuses to start without secrets, naming them', async (file) => {
  const { code, output } = await runNode([join(outDir, file)], {});
  expect(code).toBe(1);
  expect(output).toMatch(/ADMIN_TOKEN: must be set/);
  expect(output).toMatch(/SESSION_SECRET: must be set/);
  expect(output).not.toMatch(/\n\s+at /);
});

it('runs in production: the built API starts a verification that the built worker completes', async () => {
  dns = await startDnsServer();
  const [port] = await freePorts(1);
  const adminToken = randomBytes(32).toString('base64url');
  const suffix = randomUUID().slice(0, 8);
  const env = {
    NODE_ENV: 'production',
    PUBLIC_URL: 'https://sso.example.test',
    ADMIN_TOKEN: adminToken,
    SESSION_SECRET: randomBytes(32).toString('base64url'),
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: `test_build_${suffix}`,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: `test-build-${suffix}`,
    // Required in production; this test sends no email.
    SMTP_URL: 'smtp://127.0.0.1:25',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
  };
  const api = startNode([join(outDir, 'api.js')], env);
  const worker = startNode([join(outDir, 'worker.js')], env);
  started.push(api, worker);
  const baseUrl = `http://127.0.0.1:${port}`;
  await eventually(
    async () => ((await fetch(`${baseUrl}/readyz`)).status === 200 ? true : undefined),
    `the built API to be ready (output: ${api.output()})`,
  );

  const org = await request<{ id: string }>(baseUrl, 'POST', '/v1/orgs', {
    token: adminToken,
    body: { name: 'Built', plan: 'business' },
  });
  expect(org.status).toBe(201);
  const domain = `built-${suffix}.example.com`;
  const added = await request<{ id: string; txtRecord: { name: string; value: string } }>(
    baseUrl,
    'POST',
    `/v1/orgs/${org.body.id}/domains`,
    { token: adminToken, body: { domain } },
  );
  expect(added.status).toBe(201);
  dns.setTxt(added.body.txtRecord.name, [added.body.txtRecord.value]);
  await eventually(async () => {
    const view = await request<{ status: string }>(
      baseUrl,
      'GET',
      `/v1/orgs/${org.body.id}/domains/${added.body.id}`,
      { token: adminToken },
    );
    return view.body.status === 'verified' ? true : undefined;
  }, `the built worker to verify ${domain} (worker output: ${worker.output()})`);

  api.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  expect(await api.exited).toBe(0);
  expect(await worker.exited).toBe(0);
}, 120_000);
