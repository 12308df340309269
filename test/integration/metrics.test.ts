// Prometheus metrics through the real stack: the API's /metrics (who may read it, sign-in outcomes
// by protocol and code, the callback latency histogram, workflow starts and bounded waits that ran
// out, no personal data in any label), and the Temporal SDK's own metrics served by a worker
// process on WORKER_METRICS_PORT.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createApiMetrics } from '../../api/metrics';
import { runSsoSignIn } from '../../api/workflowClient';
import { freePorts } from '../../servers/ports';
import { domainVerificationWorkflowId } from '../../workflows/shared';
import { createOrgWithKey, uniqueDomain } from '../helpers/admin';
import { request } from '../helpers/http';
import { startNode, type StartedProcess } from '../helpers/process';
import { OPERATOR_TOKEN, startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const METRICS_TOKEN = `metrics-${randomBytes(16).toString('hex')}`;
let stack: TestStack;
let worker: StartedProcess | undefined;

beforeAll(async () => {
  stack = await startTestStack({ METRICS_TOKEN }, { worker: false });
});

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await stack?.stop();
});

async function scrape(token = METRICS_TOKEN): Promise<string> {
  const res = await request<string>(stack.baseUrl, 'GET', '/metrics', { token });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.body;
}

describe('GET /metrics', () => {
  it('answers the metrics token and the operator token, not an organization key', async () => {
    expect(await scrape(METRICS_TOKEN)).toContain('process_cpu_seconds_total');
    expect(await scrape(OPERATOR_TOKEN)).toContain('sso_sign_ins_total');
    const org = await createOrgWithKey(stack.baseUrl);
    const res = await request(stack.baseUrl, 'GET', '/metrics', { token: org.key });
    expect(res).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  });

  it('counts sign-in outcomes by protocol and code, with no email in any label', async () => {
    const email = `metrics-${randomUUID().slice(0, 8)}@example.com`;
    const res = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'wrong password' },
    });
    expect(res.status).toBe(401);
    const text = await scrape();
    expect(text).toMatch(/sso_sign_ins_total\{protocol="password",outcome="invalid_credentials"\} 1\b/);
    expect(text).not.toContain(email.split('@')[0]);
  });

  it('times every IdP callback in a histogram by protocol and outcome', async () => {
    const connectorId = `con_${randomUUID().replaceAll('-', '')}`;
    const res = await fetch(`${stack.baseUrl}/v1/sso/${connectorId}/acs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'SAMLResponse=x',
    });
    expect(res.status).toBe(404);
    const text = await scrape();
    expect(text).toMatch(/sso_acs_duration_seconds_count\{protocol="saml",outcome="not_found"\} 1\b/);
    expect(text).toMatch(
      /sso_acs_duration_seconds_bucket\{le="0.5",protocol="saml",outcome="not_found"\} 1\b/,
    );
    expect(text).not.toContain(connectorId);
  });

  it('counts workflow starts by type, and the run carries a readable summary', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const domain = uniqueDomain('metrics');
    const added = await request<{ id: string }>(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/domains`, {
      token: org.key,
      body: { domain },
    });
    expect(added.status).toBe(201);
    expect(await scrape()).toMatch(/sso_workflow_starts_total\{workflow="domainVerification"\} [1-9]/);
    const description = await stack.services.temporal.workflow
      .getHandle(domainVerificationWorkflowId(added.body.id))
      .describe();
    expect(await description.staticSummary()).toBe(`verify ${domain} for org Test org`);
  });

  it('counts bounded waits on a run that ran out', async () => {
    const metrics = createApiMetrics();
    const deps = {
      config: { ...stack.config, signInWaitMs: 300 },
      db: stack.services.mongo.db,
      c: stack.services.c,
      temporal: stack.services.temporal,
      logger: stack.services.logger,
      clock: stack.services.clock,
      keys: stack.services.keys,
      metrics,
    };
    // No worker polls this stack's task queue: the run cannot answer within the bound.
    await expect(
      runSsoSignIn(deps, `sso-sign-in-metrics-${randomUUID()}`, {
        attemptId: `att_${randomUUID().replaceAll('-', '')}`,
        connectorId: `con_${randomUUID().replaceAll('-', '')}`,
        orgId: `org_${randomUUID().replaceAll('-', '')}`,
      }),
    ).rejects.toMatchObject({ code: 'try_again_later' });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/sso_workflow_wait_timeouts_total\{workflow="ssoSignIn"\} 1\b/);
    expect(text).toMatch(/sso_workflow_starts_total\{workflow="ssoSignIn"\} 1\b/);
  });
});

describe('worker metrics', () => {
  it("serves the Temporal SDK's runtime metrics on WORKER_METRICS_PORT", async () => {
    const [port] = await freePorts(1);
    worker = startNode(['--import', 'tsx', 'worker.ts'], {
      NODE_ENV: 'test',
      ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      SESSION_SECRET: stack.config.sessionSecret,
      MONGODB_URI: inject('mongoUri'),
      MONGODB_DB: stack.config.mongodbDb,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: stack.config.temporalTaskQueue,
      WORKER_METRICS_PORT: String(port),
      LOG_LEVEL: 'info',
    });
    const started = worker;
    await eventually(
      () => Promise.resolve(started.output().includes('worker running') ? true : undefined),
      'the worker to start',
      60_000,
    );
    const text = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
      const body = res?.ok ? await res.text() : '';
      return /temporal_\w*poll/.test(body) ? body : undefined;
    }, 'the worker to serve its metrics');
    expect(text).toContain(`task_queue="${stack.config.temporalTaskQueue}"`);
    started.child.kill('SIGTERM');
    await started.exited;
  });
});
