// Fault suite, servers: the MongoDB-protocol server stopped during sign-ins, and the Temporal
// server restarted while a domain waits for its record. This file runs its own pair of servers
// (other files keep the shared ones), stops them for real and starts them again on the same port
// and data. While one is down the API answers 503 try_again_later, never 500, and /readyz names
// the missing dependency; afterwards every sign-in completes when repeated, with nothing doubled
// or half done, and the domain verifies once.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMongo, startTemporal, type RunningMongo, type RunningTemporal } from '../../servers';
import { createOrgWithKey, uniqueDomain } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import {
  expectProvisionedOnce,
  expectSuccessOrTryAgain,
  signInUntilDone,
  type AcsAnswer,
  type Person,
} from '../helpers/faults';
import { request } from '../helpers/http';
import { startNode, type StartedProcess } from '../helpers/process';
import { createSamlConnection, postAcs, responseFor, startLogin } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

let dir: string;
let mongo: RunningMongo;
let temporal: RunningTemporal;
let dns: TestDnsServer;
let stack: TestStack;
let worker: StartedProcess;
/** A down server fails a request within a second instead of the production default of 5 s. */
let mongodbUri: string;

const portOf = (address: string) => Number(/:(\d+)(?:\/|$)/.exec(address)?.[1]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sso-faults-'));
  [mongo, temporal, dns] = await Promise.all([
    startMongo({ dataDir: join(dir, 'mongo') }),
    startTemporal({ dbFile: join(dir, 'temporal', 'temporal.db'), headless: true }),
    startDnsServer(),
  ]);
  mongodbUri = `${mongo.uri}&serverSelectionTimeoutMS=1000`;
  const env = {
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '300ms',
    DOMAIN_VERIFICATION_MAX_INTERVAL: '1s',
    SIGN_IN_WAIT: '5s',
    ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
  };
  stack = await startTestStack(env, {
    worker: false,
    endpoints: { mongodbUri, temporalAddress: temporal.address },
  });
  worker = startNode(['--import', 'tsx', 'worker.ts'], {
    ...env,
    NODE_ENV: 'test',
    ADMIN_TOKEN: randomBytes(32).toString('base64url'),
    SESSION_SECRET: stack.config.sessionSecret,
    MONGODB_URI: mongodbUri,
    MONGODB_DB: stack.config.mongodbDb,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: stack.config.temporalTaskQueue,
    LOG_LEVEL: 'info',
  });
  await eventually(
    () => Promise.resolve(worker.output().includes('worker running') ? true : undefined),
    'the worker process to start',
    60_000,
  );
}, 180_000);

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await stack?.stop();
  await Promise.all([mongo?.stop(), temporal?.stop(), dns?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function readiness() {
  return request<{ checks?: Record<string, string> }>(stack.baseUrl, 'GET', '/readyz');
}

async function restartMongo(): Promise<void> {
  mongo = await startMongo({ dataDir: join(dir, 'mongo'), port: portOf(mongo.uri) });
}

async function restartTemporal(): Promise<void> {
  temporal = await startTemporal({
    dbFile: join(dir, 'temporal', 'temporal.db'),
    headless: true,
    port: portOf(temporal.address),
  });
}

/** The worker process must ride out an outage, not die with it. */
function expectWorkerAlive(): void {
  expect(worker.child.exitCode, `worker output:\n${worker.output().slice(-3000)}`).toBeNull();
}

describe('the MongoDB-protocol server stopped during sign-ins', () => {
  it('answers 503 try_again_later meanwhile, names mongodb in /readyz, and every sign-in completes afterwards once', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const people: Person[] = Array.from({ length: 8 }, (_, i) => ({
      subject: `outage-${i}-${fixture.domain}`,
      email: `outage${i}@${fixture.domain}`,
    }));
    // Every AuthnRequest is made before the server stops. Half the callbacks are in flight when
    // it stops; the other half arrive while it is down.
    const prepared = await Promise.all(
      people.map(async (person) => {
        const login = await startLogin(stack, fixture.connectorId);
        const fields = {
          SAMLResponse: responseFor(fixture, login, {
            nameId: person.subject,
            attributes: { email: person.email },
          }),
          RelayState: login.relayState,
        };
        return { person, fields, cookie: login.bindingCookie };
      }),
    );
    const post = ({ fields, cookie }: (typeof prepared)[number]) =>
      postAcs(stack, fixture.connectorId, fields, cookie);

    const first: Promise<AcsAnswer>[] = prepared.slice(0, 4).map(post);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await mongo.stop();

    const down = await Promise.all(prepared.slice(4).map(post));
    for (const [i, answer] of down.entries())
      expect({ status: answer.status, code: answer.body.code }, `callback ${i} while down`).toEqual({
        status: 503,
        code: 'try_again_later',
      });
    const login = await request(stack.baseUrl, 'GET', `/v1/sso/${fixture.connectorId}/login`);
    expect(login).toMatchObject({ status: 503, body: { code: 'try_again_later' } });
    expect(login.headers.get('retry-after')).toBe('5');
    const ready = await readiness();
    expect(ready).toMatchObject({
      status: 503,
      body: { code: 'not_ready', checks: { mongodb: 'unavailable', temporal: 'ok' } },
    });
    for (const [i, answer] of (await Promise.all(first)).entries())
      expectSuccessOrTryAgain(answer, `in-flight callback ${i}`);

    await restartMongo();
    await eventually(async () => ((await readiness()).status === 200 ? true : undefined), 'ready again');
    for (const person of people) await signInUntilDone(stack.baseUrl, fixture, person);
    expectWorkerAlive();
    await expectProvisionedOnce(stack.services.c, fixture, people);
  }, 240_000);
});

describe('the MongoDB-protocol server frozen (SIGSTOP) during sign-ins', () => {
  it('names mongodb in /readyz while it hangs, answers only successes or 503, and completes every sign-in once', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const people: Person[] = Array.from({ length: 4 }, (_, i) => ({
      subject: `frozen-${i}-${fixture.domain}`,
      email: `frozen${i}@${fixture.domain}`,
    }));
    const prepared = await Promise.all(
      people.map(async (person) => {
        const login = await startLogin(stack, fixture.connectorId);
        return {
          fields: {
            SAMLResponse: responseFor(fixture, login, {
              nameId: person.subject,
              attributes: { email: person.email },
            }),
            RelayState: login.relayState,
          },
          cookie: login.bindingCookie,
        };
      }),
    );
    // A hung server, unlike a stopped one, refuses nothing: connections stay open and unanswered.
    process.kill(mongo.pid, 'SIGSTOP');
    let answers: Promise<AcsAnswer[]>;
    try {
      answers = Promise.all(
        prepared.map(({ fields, cookie }) => postAcs(stack, fixture.connectorId, fields, cookie)),
      );
      // The readiness probe is bounded, so it answers while the database hangs.
      expect(await readiness()).toMatchObject({
        status: 503,
        body: { code: 'not_ready', checks: { mongodb: 'unavailable', temporal: 'ok' } },
      });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    } finally {
      process.kill(mongo.pid, 'SIGCONT');
    }
    for (const [i, answer] of (await answers).entries())
      expectSuccessOrTryAgain(answer, `callback ${i} while frozen`);
    await eventually(async () => ((await readiness()).status === 200 ? true : undefined), 'ready again');
    for (const person of people) await signInUntilDone(stack.baseUrl, fixture, person);
    expectWorkerAlive();
    await expectProvisionedOnce(stack.services.c, fixture, people);
  }, 240_000);
});

describe('the Temporal server restarted during domain polling', () => {
  it('answers 503 while it is down, names temporal in /readyz, and verifies the domain once afterwards', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const added = await request<{ id: string; domain: string; txtRecord: { name: string; value: string } }>(
      stack.baseUrl,
      'POST',
      `/v1/orgs/${org.id}/domains`,
      { token: org.key, body: { domain: uniqueDomain('restart') } },
    );
    expect(added.status).toBe(201);
    const domainPath = `/v1/orgs/${org.id}/domains/${added.body.id}`;
    const view = async () =>
      (
        await request<{ status: string; checks: number }>(stack.baseUrl, 'GET', domainPath, {
          token: org.key,
        })
      ).body;
    await eventually(
      async () => ((await view()).checks >= 2 ? true : undefined),
      'two checks before the restart',
    );

    // A first sign-in (JIT needs a workflow) prepared before the restart, posted while it is down.
    const fixture = await createSamlConnection(stack, dns);
    const person: Person = { subject: `restart-${fixture.domain}`, email: `restart@${fixture.domain}` };
    const login = await startLogin(stack, fixture.connectorId);
    const fields = {
      SAMLResponse: responseFor(fixture, login, {
        nameId: person.subject,
        attributes: { email: person.email },
      }),
      RelayState: login.relayState,
    };

    await temporal.stop();
    const downAt = Date.now();
    const [acs, checkNow, ready] = await Promise.all([
      postAcs(stack, fixture.connectorId, fields, login.bindingCookie),
      request(stack.baseUrl, 'POST', `${domainPath}/verify`, { token: org.key }),
      readiness(),
    ]);
    // Printed, not asserted (the machine may be loaded): how long a caller waits for its 503.
    console.log(`while Temporal was down, the ACS and check-now answered within ${Date.now() - downAt} ms`);
    expect(acs).toMatchObject({ status: 503, body: { code: 'try_again_later' } });
    expect(checkNow).toMatchObject({ status: 503, body: { code: 'try_again_later' } });
    expect(ready).toMatchObject({
      status: 503,
      body: { code: 'not_ready', checks: { mongodb: 'ok', temporal: 'unavailable' } },
    });
    // Reads that need only the database still answer.
    expect((await view()).status).toBe('pending');
    dns.setTxt(added.body.txtRecord.name, [added.body.txtRecord.value]);

    await restartTemporal();
    await eventually(async () => ((await readiness()).status === 200 ? true : undefined), 'ready again');
    await eventually(async () => {
      const answer = await request(stack.baseUrl, 'POST', `${domainPath}/verify`, { token: org.key });
      expectSuccessOrTryAgain(
        { status: answer.status === 202 ? 303 : answer.status, body: answer.body },
        'check now',
      );
      return answer.status === 202 ? true : undefined;
    }, 'check now to be taken');
    await eventually(
      async () => ((await view()).status === 'verified' ? true : undefined),
      'the domain verified',
      90_000,
    );
    await signInUntilDone(stack.baseUrl, fixture, person);
    await expectProvisionedOnce(stack.services.c, fixture, [person]);
    expectWorkerAlive();
    const c = stack.services.c;
    expect(await c.domainClaims.countDocuments({ _id: added.body.domain })).toBe(1);
    await eventually(
      async () =>
        (await c.auditEvents.countDocuments({ type: 'domain.verified', subjectId: added.body.id })) === 1
          ? true
          : undefined,
      'the verification audited',
    );
    // Still one after a moment: no second run verified it again.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await c.auditEvents.countDocuments({ type: 'domain.verified', subjectId: added.body.id })).toBe(1);
  }, 240_000);
});
