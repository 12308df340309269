// Rate limits on the public routes, through the real API and the real MongoDB-protocol server:
// per client IP, per account and per connection, shared by two API instances over one database,
// with X-Forwarded-For read only as far as TRUST_PROXY says.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeRateSlot, takeRateSlots, type RateSlotHints } from '../../db/rateLimits';
import { runApi, type RunningApi } from '../../runtime/runApi';
import { request } from '../helpers/http';
import { OPERATOR_TOKEN, startTestStack, type TestStack } from '../helpers/stack';

const PER_IP = 8;
const PER_ACCOUNT = 3;
const PER_CONNECTION = 4;

let stack: TestStack;
/** A second API instance over the same database, trusting no proxy. */
let direct: RunningApi;
/** A third one trusting one proxy, like the stack's own API. */
let replica: RunningApi;

beforeAll(async () => {
  stack = await startTestStack(
    {
      RATE_LIMIT_PER_IP: String(PER_IP),
      RATE_LIMIT_PER_ACCOUNT: String(PER_ACCOUNT),
      RATE_LIMIT_PER_CONNECTION: String(PER_CONNECTION),
      // Long enough that no test crosses into a new window.
      RATE_LIMIT_WINDOW: '1h',
      TRUST_PROXY: '1',
    },
    { worker: false },
  );
  direct = await runApi({ ...stack.services, config: { ...stack.config, trustProxyHops: 0 } }, 0);
  replica = await runApi(stack.services, 0);
});

afterAll(async () => {
  await direct?.close();
  await replica?.close();
  await stack?.stop();
});

let ipCounter = 0;
/** A client address of its own for each test (TEST-NET-3), so tests do not share IP counts. */
const freshIp = () => `203.0.113.${++ipCounter}`;

const identify = (baseUrl: string, forwardedFor?: string) =>
  request(baseUrl, 'POST', '/v1/auth/identify', {
    body: { email: 'someone@example.com' },
    ...(forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {}),
  });

function expectRateLimited(res: { status: number; headers: Headers; body: unknown }) {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({ code: 'rate_limited', status: 429 });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(3600);
}

describe('per client IP', () => {
  it('answers 429 rate_limited with Retry-After once an IP has used its requests', async () => {
    const ip = freshIp();
    for (let i = 0; i < PER_IP; i++) expect((await identify(stack.baseUrl, ip)).status).toBe(200);
    expectRateLimited(await identify(stack.baseUrl, ip));
    // Another client is not affected.
    expect((await identify(stack.baseUrl, freshIp())).status).toBe(200);
  });

  it('reads the client from the entry the trusted proxy wrote, not the ones the client sent', async () => {
    const ip = freshIp();
    for (let i = 0; i < PER_IP; i++)
      expect((await identify(stack.baseUrl, `198.51.100.${i}, ${ip}`)).status).toBe(200);
    expectRateLimited(await identify(stack.baseUrl, `198.51.100.200, ${ip}`));
  });

  it('ignores X-Forwarded-For without TRUST_PROXY: every request counts for the TCP peer', async () => {
    for (let i = 0; i < PER_IP; i++) expect((await identify(direct.url, freshIp())).status).toBe(200);
    expectRateLimited(await identify(direct.url, freshIp()));
  });

  it('holds a limit counted on one API instance on another', async () => {
    const ip = freshIp();
    for (let i = 0; i < PER_IP; i++)
      expect((await identify(i % 2 ? replica.url : stack.baseUrl, ip)).status).toBe(200);
    expectRateLimited(await identify(replica.url, ip));
    expectRateLimited(await identify(stack.baseUrl, ip));
  });
});

describe('per account', () => {
  it('limits password guesses on one account from many addresses, whatever the spelling', async () => {
    const email = `guess-${randomUUID().slice(0, 8)}@example.com`;
    const spellings = [email, email.toUpperCase(), ` ${email}`];
    for (const spelling of spellings) {
      const res = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
        body: { email: spelling, password: 'wrong password' },
        headers: { 'x-forwarded-for': freshIp() },
      });
      expect(res).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
    }
    expectRateLimited(
      await request(replica.url, 'POST', '/v1/auth/password', {
        body: { email, password: 'wrong password' },
        headers: { 'x-forwarded-for': freshIp() },
      }),
    );
    // The account's count covers the other routes that name it.
    expectRateLimited(
      await request(stack.baseUrl, 'POST', '/v1/auth/email-code/start', {
        body: { email },
        headers: { 'x-forwarded-for': freshIp() },
      }),
    );
    // Another account is not affected.
    const other = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email: `other-${email}`, password: 'wrong password' },
      headers: { 'x-forwarded-for': freshIp() },
    });
    expect(other.status).toBe(401);
  });

  it('stores neither the email nor the client address in its counters', async () => {
    const email = `stored-${randomUUID().slice(0, 8)}@example.com`;
    const ip = freshIp();
    await request(stack.baseUrl, 'POST', '/v1/auth/email-code/start', {
      body: { email },
      headers: { 'x-forwarded-for': ip },
    });
    const stored = JSON.stringify(await stack.services.c.rateLimits.find().toArray());
    expect(stored.length).toBeGreaterThan(2);
    expect(stored).not.toContain(email);
    expect(stored).not.toContain(email.split('@')[0]);
    expect(stored).not.toContain(ip);
  });
});

describe('per connection', () => {
  it('limits the SSO routes of one connection across clients', async () => {
    const connectorId = `con_${randomUUID().replaceAll('-', '')}`;
    const paths = [`/v1/sso/${connectorId}/login`, `/v1/sso/${connectorId}/callback?code=c&state=s`];
    for (let i = 0; i < PER_CONNECTION; i++) {
      const res = await request(stack.baseUrl, 'GET', paths[i % 2]!, {
        headers: { 'x-forwarded-for': freshIp() },
      });
      expect(res.status).toBe(404);
    }
    const refused = await fetch(`${stack.baseUrl}/v1/sso/${connectorId}/acs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': freshIp() },
      body: 'SAMLResponse=x',
    });
    expectRateLimited({ status: refused.status, headers: refused.headers, body: await refused.json() });
  });
});

describe('the counter', () => {
  it('never lets more than the limit through when hits race on the real server', async () => {
    const bucket = `race:${randomUUID()}`;
    const expiresAt = new Date(Date.now() + 60_000);
    const results = await Promise.all(
      Array.from({ length: 40 }, () => takeRateSlot(stack.services.c, bucket, 10, expiresAt)),
    );
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(await stack.services.c.rateLimits.countDocuments({ bucket })).toBe(10);
  });

  it('holds the limit when two processes race, each with its own slot hints', async () => {
    const bucket = `race-hinted:${randomUUID()}`;
    const expiresAt = new Date(Date.now() + 60_000);
    const processes: RateSlotHints[] = [new Map<string, number>(), new Map<string, number>()];
    // A hit of the first process before the race: its hint is then ahead of the second's.
    expect(await takeRateSlot(stack.services.c, bucket, 10, expiresAt, processes[0])).toBe(true);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        takeRateSlot(stack.services.c, bucket, 10, expiresAt, processes[i % 2]),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(9);
    expect(await stack.services.c.rateLimits.countDocuments({ bucket })).toBe(10);
    // Full: both refuse from their hints or their count, and write nothing.
    for (const hints of processes)
      expect(await takeRateSlot(stack.services.c, bucket, 10, expiresAt, hints)).toBe(false);
    expect(await stack.services.c.rateLimits.countDocuments({ bucket })).toBe(10);
  });

  it('takes the slots of several limits in one write and counts a refused hit against none of the later ones', async () => {
    const ip = `race-ip:${randomUUID()}`;
    const connection = `race-connection:${randomUUID()}`;
    const expiresAt = new Date(Date.now() + 60_000);
    const processes: RateSlotHints[] = [new Map<string, number>(), new Map<string, number>()];
    const wanted = [
      { bucket: ip, limit: 10 },
      { bucket: connection, limit: 30 },
    ];
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        takeRateSlots(stack.services.c, wanted, expiresAt, processes[i % 2]),
      ),
    );
    // Every hit let through took a slot of both; every refusal came from the IP limit and took none.
    expect(results.filter((refused) => refused === -1)).toHaveLength(10);
    expect(results.filter((refused) => refused !== -1).every((refused) => refused === 0)).toBe(true);
    expect(await stack.services.c.rateLimits.countDocuments({ bucket: ip })).toBe(10);
    expect(await stack.services.c.rateLimits.countDocuments({ bucket: connection })).toBe(10);
    // The connection's own limit refuses once it is used up, and then the IP slot is not taken.
    const small = [
      { bucket: `lone-ip:${randomUUID()}`, limit: 10 },
      { bucket: connection, limit: 10 },
    ];
    expect(await takeRateSlots(stack.services.c, small, expiresAt)).toBe(1);
    expect(await stack.services.c.rateLimits.countDocuments({ bucket: small[0]?.bucket })).toBe(0);
  });

  it('counts refusals in the metrics by limit and route pattern', async () => {
    const res = await request<string>(stack.baseUrl, 'GET', '/metrics', { token: OPERATOR_TOKEN });
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/sso_rate_limited_total\{limit="ip",route="\/v1\/auth\/identify"\} [1-9]/);
    expect(res.body).toMatch(
      /sso_rate_limited_total\{limit="account",route="\/v1\/auth\/email-code\/start"\} [1-9]/,
    );
    expect(res.body).not.toContain('203.0.113.');
  });
});
