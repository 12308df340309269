// Records one history per workflow type and path from real runs on the real servers, for the
// replay test. Run it (`npm run histories:record`) only when a workflow changes on purpose in a
// way that runs already in flight could not follow: see README, "Changing a workflow".
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectorTeardownWorkflowId, domainVerificationWorkflowId } from '../../workflows/shared';
import { signUpAndProve, signUpForCode } from '../helpers/accounts';
import { createOrgWithKey, uniqueDomain } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startOidcProvider } from '../helpers/oidcProvider';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { idpMetadataXml } from '../helpers/samlIdp';
import { createSamlConnection, signIn, type SsoFixture } from '../helpers/sso';
import { runSsoSignIn, ssoSignInWorkflowId } from '../../api/workflowClient';
import { insertSignInAttempt } from '../../db/signInAttempts';
import { asConnectorId } from '../../domain/ids';
import { OPERATOR_TOKEN, startTestStack, type TestStack } from '../helpers/stack';
import { seedLinkedUsers, teardownDone } from '../helpers/teardown';
import { eventually } from '../helpers/wait';

const DIR = join(import.meta.dirname);

let dns: TestDnsServer;
let stack: TestStack;
let metadataServer: Server;
let mailbox: TestMailbox;

beforeAll(async () => {
  dns = await startDnsServer();
  mailbox = await startMailbox();
  stack = await startTestStack({
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
    DOMAIN_VERIFICATION_MAX_INTERVAL: '1s',
    DOMAIN_VERIFICATION_DEADLINE: '10m',
    DOMAIN_REVERIFICATION_INTERVAL: '300ms',
    DOMAIN_REVERIFICATION_GRACE: '1s',
    DOMAIN_VERIFICATION_CHECKS_PER_RUN: '4',
    ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
    // The metadata server below listens on loopback, which the fetch refuses by default.
    IDP_FETCH_ALLOWED_NETWORKS: '127.0.0.0/8',
    SMTP_URL: mailbox.url,
    // Teardowns: two identities a batch and two batches a run, so a small one continues as new.
    TEARDOWN_BATCH_SIZE: '2',
    TEARDOWN_BATCHES_PER_RUN: '2',
  });
  metadataServer = createServer((_req, res) => res.end(idpMetadataXml()));
  await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await stack?.stop();
  await dns?.stop();
  await mailbox?.stop();
  metadataServer?.close();
});

async function save(name: string, workflowId: string, runId?: string): Promise<void> {
  const history = await stack.services.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  // historyToJSON from @temporalio/common trips over its own second copy of protobufjs, so the
  // generated class writes the history (and reads it back in the replay test).
  const { History } = temporal.api.history.v1;
  const json = History.toObject(History.create(history), {
    longs: String,
    enums: String,
    bytes: String,
    json: true,
  });
  // The workflow ID goes along: child workflow IDs derive from it, and replay must see the same.
  await writeFile(join(DIR, `${name}.json`), `${JSON.stringify({ workflowId, history: json }, null, 2)}\n`);
}

/** Runs matching a visibility query, oldest first (the dev server has no ORDER BY). */
async function runsOf(query: string) {
  const runs: { workflowId: string; runId: string; type: string; startTime: Date }[] = [];
  for await (const run of stack.services.temporal.workflow.list({ query }))
    runs.push({ workflowId: run.workflowId, runId: run.runId, type: run.type, startTime: run.startTime });
  return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
}

it('records domain verification: found after a miss, monitored, continued as new, then lapsed', async () => {
  const org = await createOrgWithKey(stack.baseUrl);
  const added = await request<{ id: string; txtRecord: { name: string; value: string } }>(
    stack.baseUrl,
    'POST',
    `/v1/orgs/${org.id}/domains`,
    { token: org.key, body: { domain: uniqueDomain() } },
  );
  expect(added.status).toBe(201);
  const workflowId = domainVerificationWorkflowId(added.body.id);
  const handle = stack.services.temporal.workflow.getHandle(workflowId);
  const firstRunId = (await handle.describe()).runId;
  await eventually(
    async () => ((await handle.query<{ checks: number }>('status')).checks >= 2 ? true : undefined),
    'two misses',
  );
  dns.setTxt(added.body.txtRecord.name, [added.body.txtRecord.value]);
  await handle.signal('checkNow');
  await eventually(
    async () => ((await handle.describe()).runId !== firstRunId ? true : undefined),
    'a continue-as-new while monitoring',
  );
  dns.removeTxt(added.body.txtRecord.name);
  expect(await handle.result()).toBe('unverified');
  await save('domainVerification-verify-monitor', workflowId, firstRunId);
  await save('domainVerification-lapse', workflowId);
});

/**
 * The ssoSignIn parent as runs started before the API decided sign-ins itself had it: started
 * here as the API used to start it, so its histories (in-flight runs of that time) stay recordable.
 */
async function signInThroughParent(fixture: SsoFixture, email: string): Promise<void> {
  const connectorId = asConnectorId(fixture.connectorId);
  const connector = await stack.services.c.connectors.findOne({ _id: connectorId });
  const attemptId = await insertSignInAttempt(
    stack.services.c,
    { connectorId, orgId: connector!.orgId, subject: email, email, profile: {} },
    new Date(),
  );
  const deps = { ...stack.services, db: stack.services.mongo.db };
  await runSsoSignIn(deps, ssoSignInWorkflowId(deps.keys, connectorId, email), {
    attemptId,
    connectorId,
    orgId: connector!.orgId,
  });
}

it('records sign-ins: JIT, returning, and linking an existing account', async () => {
  const fixture = await createSamlConnection(stack, dns, { jit: { enabled: true } });
  const jitEmail = `jit@${fixture.domain}`;
  await signInThroughParent(fixture, jitEmail);
  await signInThroughParent(fixture, jitEmail);

  const linkEmail = `link@${fixture.domain}`;
  await signUpAndProve(stack, mailbox, { email: linkEmail, password: 'a long enough password 1' });
  await signInThroughParent(fixture, linkEmail);

  const runs = await runsOf(`ConnectorId = "${fixture.connectorId}"`);
  const signIns = runs.filter((run) => run.type === 'ssoSignIn');
  expect(signIns).toHaveLength(3);
  const [jitRun, returningRun, linkRun] = signIns as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
  await save('ssoSignIn-jit', jitRun.workflowId, jitRun.runId);
  await save('ssoSignIn-returning', returningRun.workflowId, returningRun.runId);
  await save('ssoSignIn-link', linkRun.workflowId, linkRun.runId);
  for (const type of ['jitProvisioning', 'accountLinking']) {
    const child = runs.find((run) => run.type === type);
    expect(child).toBeDefined();
    await save(type, child!.workflowId, child!.runId);
  }
});

it('records JIT and linking started by the API itself (no parent run)', async () => {
  const fixture = await createSamlConnection(stack, dns, { jit: { enabled: true } });
  const jitEmail = `direct-jit@${fixture.domain}`;
  expect((await signIn(stack, fixture, { nameId: jitEmail, attributes: { email: jitEmail } })).status).toBe(
    303,
  );
  const linkEmail = `direct-link@${fixture.domain}`;
  await signUpAndProve(stack, mailbox, { email: linkEmail, password: 'a long enough password 1' });
  expect((await signIn(stack, fixture, { nameId: linkEmail, attributes: { email: linkEmail } })).status).toBe(
    303,
  );

  const runs = await runsOf(`ConnectorId = "${fixture.connectorId}"`);
  expect(runs.filter((run) => run.type === 'ssoSignIn')).toHaveLength(0);
  for (const type of ['jitProvisioning', 'accountLinking']) {
    const run = runs.find((candidate) => candidate.type === type);
    expect(run).toBeDefined();
    await save(`${type}-direct`, run!.workflowId, run!.runId);
  }
});

it('records a metadata URL fetch', async () => {
  const { port } = metadataServer.address() as AddressInfo;
  const handle = await stack.services.temporal.workflow.start('idpMetadataFetch', {
    taskQueue: stack.config.temporalTaskQueue,
    workflowId: 'idp-metadata-history',
    args: [{ url: `http://127.0.0.1:${port}/metadata.xml` }],
  });
  await handle.result();
  await save('idpMetadataFetch', handle.workflowId);
});

it('records a certificate check', async () => {
  await createSamlConnection(stack, dns);
  const handle = await stack.services.temporal.workflow.start('certificateCheck', {
    taskQueue: stack.config.temporalTaskQueue,
    workflowId: 'certificate-check-history',
    args: [{}],
  });
  expect(await handle.result()).toMatchObject({ failed: 0 });
  await save('certificateCheck', handle.workflowId);
});

it('records an OpenID provider discovery', async () => {
  const idp = await startOidcProvider();
  try {
    const handle = await stack.services.temporal.workflow.start('oidcDiscovery', {
      taskQueue: stack.config.temporalTaskQueue,
      workflowId: 'oidc-discovery-history',
      args: [{ issuer: idp.issuer }],
    });
    await handle.result();
    await save('oidcDiscovery', handle.workflowId);
  } finally {
    await idp.stop();
  }
});

it('records reclaiming an unproven account, and an email delivery', async () => {
  const fixture = await createSamlConnection(stack, dns, { jit: { enabled: true } });
  const email = `unproven@${fixture.domain}`;
  await signUpForCode(stack, mailbox, { email, password: 'a long enough password 1' });
  await signInThroughParent(fixture, email);

  const runs = await runsOf(`ConnectorId = "${fixture.connectorId}"`);
  const signInRun = runs.find((run) => run.type === 'ssoSignIn');
  const linkRun = runs.find((run) => run.type === 'accountLinking');
  await save('ssoSignIn-reclaim', signInRun!.workflowId, signInRun!.runId);
  await save('accountLinking-reclaim', linkRun!.workflowId, linkRun!.runId);
  const [delivery] = await runsOf(
    `WorkflowType = "emailDelivery" AND TaskQueue = "${stack.config.temporalTaskQueue}"`,
  );
  expect(delivery).toBeDefined();
  await stack.services.temporal.workflow.getHandle(delivery!.workflowId).result();
  await save('emailDelivery', delivery!.workflowId, delivery!.runId);
});

it('records connection teardowns: restored in the grace period, and expedited then removed', async () => {
  const restored = await createSamlConnection(stack, dns);
  const path = (fixture: { org: { id: string }; connectorId: string }) =>
    `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`;
  const first = await request<{ id: string }>(stack.baseUrl, 'DELETE', path(restored), {
    token: restored.org.key,
  });
  expect(first.status).toBe(202);
  const back = await request(stack.baseUrl, 'POST', `${path(restored)}/restore`, { token: restored.org.key });
  expect(back.status).toBe(200);
  const restoredRun = stack.services.temporal.workflow.getHandle(connectorTeardownWorkflowId(first.body.id));
  expect(await restoredRun.result()).toBe('restored');
  await save('connectorTeardown-restore', restoredRun.workflowId);

  const removed = await createSamlConnection(stack, dns);
  await seedLinkedUsers(
    stack.services.c,
    { connectorId: removed.connectorId, orgId: removed.org.id, domain: removed.domain },
    5,
    { prefix: 'history', withPassword: (i) => i === 0, passwordHash: 'not-a-real-hash' },
  );
  const second = await request<{ id: string }>(stack.baseUrl, 'DELETE', path(removed), {
    token: removed.org.key,
  });
  expect(second.status).toBe(202);
  const expedited = await request(stack.baseUrl, 'POST', `${path(removed)}/teardown/expedite`, {
    token: OPERATOR_TOKEN,
  });
  expect(expedited.status).toBe(202);
  await teardownDone(stack, removed.org, removed.connectorId);
  const runs = await runsOf(`WorkflowId = "${connectorTeardownWorkflowId(second.body.id)}"`);
  expect(runs).toHaveLength(2);
  await save('connectorTeardown-removal', runs[0]!.workflowId, runs[0]!.runId);
  await save('connectorTeardown-continued', runs[1]!.workflowId, runs[1]!.runId);
});
