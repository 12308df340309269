// A teardown whose worker process is SIGKILLed in the middle of the removal: a new worker process
// finishes it, the counts are right, no identity is left and no user gets a second email.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { hashPassword } from '../../security/passwords';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { startNode, type StartedProcess } from '../helpers/process';
import { createSamlConnection } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { seedLinkedUsers, teardownDone } from '../helpers/teardown';
import { eventually } from '../helpers/wait';

let dns: TestDnsServer;
let mailbox: TestMailbox;
let stack: TestStack;
const workers: StartedProcess[] = [];

beforeAll(async () => {
  dns = await startDnsServer();
  mailbox = await startMailbox();
  stack = await startTestStack(
    {
      DNS_SERVERS: dns.address,
      DNS_TIMEOUT: '300ms',
      DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
      SMTP_URL: mailbox.url,
      CONNECTOR_DELETE_GRACE: '0ms',
      // Many small batches, so the kill lands between two of them.
      TEARDOWN_BATCH_SIZE: '2',
    },
    { worker: false },
  );
});

afterAll(async () => {
  for (const worker of workers) worker.child.kill('SIGKILL');
  await stack?.stop();
  await mailbox?.stop();
  await dns?.stop();
});

/** worker.ts in its own process, resolved once it polls the task queue. */
async function startWorkerProcess(): Promise<StartedProcess> {
  const worker = startNode(['--import', 'tsx', 'worker.ts'], {
    NODE_ENV: 'test',
    ADMIN_TOKEN: randomBytes(32).toString('base64url'),
    SESSION_SECRET: stack.config.sessionSecret,
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: stack.config.mongodbDb,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: stack.config.temporalTaskQueue,
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    SMTP_URL: mailbox.url,
    LOG_LEVEL: 'info',
  });
  workers.push(worker);
  await eventually(
    () => Promise.resolve(worker.output().includes('worker running') ? true : undefined),
    'the worker process to start',
    60_000,
  );
  return worker;
}

it('finishes a teardown on a new worker after the old one is killed mid-removal', async () => {
  const first = await startWorkerProcess();
  const fixture = await createSamlConnection(stack, dns);
  const users = await seedLinkedUsers(
    stack.services.c,
    { connectorId: fixture.connectorId, orgId: fixture.org.id, domain: fixture.domain },
    160,
    { prefix: 'crash', withPassword: (i) => i % 2 === 0, passwordHash: await hashPassword('a password!') },
  );
  const deleted = await request<{ id: string }>(
    stack.baseUrl,
    'DELETE',
    `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`,
    { token: fixture.org.key },
  );
  expect(deleted.status).toBe(202);

  await eventually(
    async () => {
      const doc = await stack.services.c.teardowns.findOne({ teardownId: deleted.body.id });
      return doc && doc.processed >= 20 ? true : undefined;
    },
    'the first batches',
    60_000,
  );
  first.child.kill('SIGKILL');
  await first.exited;
  const atKill = await stack.services.c.teardowns.findOne({ teardownId: deleted.body.id });
  expect(atKill).toMatchObject({ phase: 'removing', total: 160 });
  expect(atKill!.processed).toBeLessThan(160);
  // During the removal, sign-in through the connection is refused.
  const login = await request(stack.baseUrl, 'GET', `/v1/sso/${fixture.connectorId}/login`);
  expect(login).toMatchObject({ status: 409, body: { code: 'connector_deleting' } });

  await startWorkerProcess();
  const done = await teardownDone(stack, fixture.org, fixture.connectorId);
  expect(done).toMatchObject({ processed: 160, total: 160, passwordSetups: 80 });
  const c = stack.services.c;
  expect(await c.ssoIdentities.countDocuments({ connectorId: fixture.connectorId as never })).toBe(0);
  expect(await c.users.countDocuments({ _id: { $in: users.map((user) => user.userId) as never[] } })).toBe(
    160,
  );
  // Every message delivered, one message per user. A worker killed after the SMTP server took a
  // message but before it was marked sent makes the next worker send that same message again
  // (activities/notifications.ts): same Message-ID, which receiving mail systems collapse. So
  // what must be unique is the message, not the delivery.
  await eventually(
    async () =>
      (await c.outbox.countDocuments({ kind: 'password_setup_teardown', status: 'sent' })) === 80
        ? true
        : undefined,
    'every setup email sent',
    90_000,
  );
  for (const user of users) {
    const messageIds = new Set(mailbox.to(user.email).map((email) => email.messageId));
    expect(messageIds.size).toBe(user.hasPassword ? 0 : 1);
  }
  expect(
    await c.auditEvents.countDocuments({ type: 'connector.deleted', subjectId: fixture.connectorId }),
  ).toBe(1);
}, 240_000);
