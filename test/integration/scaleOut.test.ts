// Scale-out: two API processes (api.ts) and two worker processes (worker.ts) on the same servers,
// the way an operator runs replicas behind a load balancer (one PUBLIC_URL for both APIs).
// Domain verification, sign-ins spread over both APIs (including one person signing in on both at
// once) and a teardown all work, and nothing is doubled: users, identities, memberships, emails,
// audit events.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { freePorts } from '../../servers/ports';
import { spUrls } from '../../sso/connectorUrls';
import { uniqueDomain, type OrgFixture } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import {
  attemptSignIn,
  expectProvisionedOnce,
  expectSuccessOrTryAgain,
  signInUntilDone,
  type Person,
} from '../helpers/faults';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { startNode, type StartedProcess } from '../helpers/process';
import { idpMetadataXml } from '../helpers/samlIdp';
import type { SsoFixture } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { teardownDone } from '../helpers/teardown';
import { eventually } from '../helpers/wait';

let dns: TestDnsServer;
let mailbox: TestMailbox;
/** For its configuration and database handle only: every request goes to the API processes. */
let stack: TestStack;
const processes: StartedProcess[] = [];
const operatorToken = randomBytes(32).toString('base64url');
let apis: [string, string];

const ACCOUNT_LIMIT = 4;
const RATE_WINDOW_MS = 3_600_000;

/**
 * Password sign-ins naming one email alternate between the APIs: the first ACCOUNT_LIMIT are
 * answered (wrong credentials), the next is refused with 429 and Retry-After, whichever API
 * counted the earlier ones.
 */
async function expectAccountLimitSharedByBothApis(): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const email = `limited-${randomUUID().slice(0, 8)}@scale.example.com`;
    const windowBefore = Math.floor(Date.now() / RATE_WINDOW_MS);
    const answers = [];
    for (let i = 0; i <= ACCOUNT_LIMIT; i++)
      answers.push(
        await request(api(i), 'POST', '/v1/auth/password', {
          body: { email, password: 'not-the-password-1' },
        }),
      );
    // A window that ended meanwhile restarted the count: repeat once in the new window.
    if (Math.floor(Date.now() / RATE_WINDOW_MS) !== windowBefore) continue;
    expect(answers.slice(0, ACCOUNT_LIMIT).map((answer) => answer.status)).toEqual(
      Array.from({ length: ACCOUNT_LIMIT }, () => 401),
    );
    const refused = answers[ACCOUNT_LIMIT]!;
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'rate_limited' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    return;
  }
  throw new Error('two rate windows ended during the shared-limit check');
}

function processEnv(extra: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'test',
    ADMIN_TOKEN: operatorToken,
    SESSION_SECRET: stack.config.sessionSecret,
    MONGODB_URI: inject('mongoUri'),
    MONGODB_DB: stack.config.mongodbDb,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: stack.config.temporalTaskQueue,
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '300ms',
    DOMAIN_VERIFICATION_MAX_INTERVAL: '1s',
    ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
    SMTP_URL: mailbox.url,
    CONNECTOR_DELETE_GRACE: '0ms',
    TEARDOWN_BATCH_SIZE: '5',
    LOG_LEVEL: 'info',
    // The shared-limit check below uses the per-account limit; an hour-long window keeps one
    // check inside one window (a crossing is detected and the check repeated).
    RATE_LIMIT_WINDOW: `${RATE_WINDOW_MS}ms`,
    RATE_LIMIT_PER_ACCOUNT: String(ACCOUNT_LIMIT),
    ...extra,
  };
}

async function startProcess(entry: string, env: Record<string, string>, readyLine: string) {
  const started = startNode(['--import', 'tsx', entry], env);
  processes.push(started);
  await eventually(
    () => {
      if (started.child.exitCode !== null)
        throw new Error(`${entry} exited: ${started.output().slice(-2000)}`);
      return Promise.resolve(started.output().includes(readyLine) ? true : undefined);
    },
    `${entry} to start`,
    90_000,
  );
}

beforeAll(async () => {
  [dns, mailbox] = await Promise.all([startDnsServer(), startMailbox()]);
  stack = await startTestStack({}, { worker: false });
  const ports = await freePorts(2);
  // Both APIs sit behind one public address, as behind a load balancer; IdPs post to it.
  const publicUrl = `http://127.0.0.1:${ports[0]}`;
  apis = [`http://127.0.0.1:${ports[0]}`, `http://127.0.0.1:${ports[1]}`];
  await Promise.all([
    ...ports.map((port) =>
      startProcess('api.ts', processEnv({ PORT: String(port), PUBLIC_URL: publicUrl }), 'API listening'),
    ),
    startProcess('worker.ts', processEnv({}), 'worker running'),
    startProcess('worker.ts', processEnv({}), 'worker running'),
  ]);
}, 180_000);

afterAll(async () => {
  for (const started of processes) started.child.kill('SIGKILL');
  await stack?.stop();
  await Promise.all([dns?.stop(), mailbox?.stop()]);
});

const api = (i: number) => apis[i % 2]!;

async function createOrg(): Promise<OrgFixture> {
  const org = await request<{ id: string }>(api(0), 'POST', '/v1/orgs', {
    token: operatorToken,
    body: { name: 'Scale-out org', plan: 'business' },
  });
  expect(org.status).toBe(201);
  const key = await request<{ key: string }>(api(1), 'POST', `/v1/orgs/${org.body.id}/api-keys`, {
    token: operatorToken,
  });
  expect(key.status).toBe(201);
  return { id: org.body.id, key: key.body.key };
}

/** Adds a domain on one API, publishes its record, and asks both APIs to check now at once. */
async function verifyOnBothApis(org: OrgFixture): Promise<{ id: string; domain: string }> {
  const added = await request<{ id: string; domain: string; txtRecord: { name: string; value: string } }>(
    api(0),
    'POST',
    `/v1/orgs/${org.id}/domains`,
    { token: org.key, body: { domain: uniqueDomain('scale') } },
  );
  expect(added.status).toBe(201);
  dns.setTxt(added.body.txtRecord.name, [added.body.txtRecord.value]);
  const checks = await Promise.all(
    [0, 1].map((i) =>
      request(api(i), 'POST', `/v1/orgs/${org.id}/domains/${added.body.id}/verify`, { token: org.key }),
    ),
  );
  for (const check of checks) expect(check.status).toBe(202);
  await eventually(async () => {
    const view = await request<{ status: string }>(
      api(1),
      'GET',
      `/v1/orgs/${org.id}/domains/${added.body.id}`,
      {
        token: org.key,
      },
    );
    return view.body.status === 'verified' ? true : undefined;
  }, 'the domain verified');
  return added.body;
}

it('runs sign-ins, domain verification and teardown on two APIs and two workers with nothing doubled', async () => {
  const c = stack.services.c;
  const org = await createOrg();
  const domain = await verifyOnBothApis(org);
  expect(await c.domainClaims.countDocuments({ _id: domain.domain })).toBe(1);
  await eventually(
    async () =>
      (await c.auditEvents.countDocuments({ type: 'domain.verified', subjectId: domain.id })) === 1
        ? true
        : undefined,
    'the verification audited',
  );

  const created = await request<{ id: string }>(api(1), 'POST', `/v1/orgs/${org.id}/connectors`, {
    token: org.key,
    body: {
      type: 'saml',
      name: 'Scale-out IdP',
      domains: [domain.domain],
      saml: { metadataXml: idpMetadataXml() },
    },
  });
  expect(created.status).toBe(201);
  const sp = spUrls(api(0), created.body.id);
  const fixture: SsoFixture = {
    org,
    domain: domain.domain,
    connectorId: created.body.id,
    acsUrl: sp.acsUrl,
    spEntityId: sp.entityId,
  };

  // Twelve people round-robin over the two APIs, and four more who sign in on both at once.
  const people: Person[] = Array.from({ length: 16 }, (_, i) => ({
    subject: `scale-${i}-${fixture.domain}`,
    email: `scale${i}@${fixture.domain}`,
  }));
  const attempts = [
    ...people.slice(0, 12).map((person, i) => attemptSignIn(api(i), fixture, person)),
    ...people.slice(12).flatMap((person) => [0, 1].map((i) => attemptSignIn(api(i), fixture, person))),
  ];
  for (const [i, answer] of (await Promise.all(attempts)).entries())
    expectSuccessOrTryAgain(answer, `sign-in ${i}`);
  for (const [i, person] of people.entries()) await signInUntilDone(api(i + 1), fixture, person);
  await expectProvisionedOnce(c, fixture, people);

  // A rate limit counted on one API holds on the other: the counters live in MongoDB.
  await expectAccountLimitSharedByBothApis();

  // Teardown asked for on both APIs at once: one teardown, one audit event, one email per user.
  const deletes = await Promise.all(
    [0, 1].map((i) =>
      request<{ id: string }>(api(i), 'DELETE', `/v1/orgs/${org.id}/connectors/${fixture.connectorId}`, {
        token: org.key,
      }),
    ),
  );
  for (const deleted of deletes) expect(deleted.status).toBe(202);
  expect(deletes[0]!.body.id).toBe(deletes[1]!.body.id);
  const done = await teardownDone({ baseUrl: api(1) }, org, fixture.connectorId);
  expect(done).toMatchObject({
    processed: people.length,
    total: people.length,
    passwordSetups: people.length,
  });
  expect(await c.ssoIdentities.countDocuments({ connectorId: fixture.connectorId as never })).toBe(0);
  expect(await c.users.countDocuments({ email: { $in: people.map((person) => person.email) } })).toBe(
    people.length,
  );
  expect(
    await c.auditEvents.countDocuments({ type: 'connector.deleted', subjectId: fixture.connectorId }),
  ).toBe(1);
  await eventually(
    async () =>
      (await c.outbox.countDocuments({ kind: 'password_setup_teardown', status: 'sent' })) === people.length
        ? true
        : undefined,
    'every setup email sent',
    90_000,
  );
  for (const person of people) {
    // One message per person; a redelivery after a crash would reuse its Message-ID.
    expect(new Set(mailbox.to(person.email).map((email) => email.messageId)).size, person.email).toBe(1);
  }
  // Transitions are audited once each, whichever API or worker ran them. (Sign-in outcomes are
  // one event per attempt, so they are not counted here.)
  const transitions = await c.auditEvents
    .find({
      orgId: org.id as never,
      type: { $in: ['domain.verified', 'connector.deleted', 'connector.restored'] },
    })
    .toArray();
  expect(transitions.map((event) => event.type).sort()).toEqual(['connector.deleted', 'domain.verified']);
}, 300_000);
