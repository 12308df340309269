import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http';
import { OPERATOR_TOKEN, startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) =>
  request(stack.baseUrl, method, path, options);

async function createOrg(plan = 'business') {
  const res = await api('POST', '/v1/orgs', { token: OPERATOR_TOKEN, body: { name: 'Acme', plan } });
  expect(res.status).toBe(201);
  return res.body as { id: string; name: string; plan: string };
}

function expectProblem(
  res: { status: number; headers: Headers; body: unknown },
  status: number,
  code: string,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
  expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.ts:\d+/);
}

describe('health', () => {
  it('answers liveness', async () => {
    const res = await api('GET', '/healthz');
    expect(res).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('is ready when MongoDB and Temporal answer', async () => {
    const res = await api('GET', '/readyz');
    expect(res.body).toMatchObject({ status: 'ready', checks: { mongodb: 'ok', temporal: 'ok' } });
    expect(res.status).toBe(200);
  });

  it('answers unknown routes with a problem', async () => {
    expectProblem(await api('GET', '/nope'), 404, 'not_found');
  });

  it('echoes a safe request ID and replaces an unsafe one', async () => {
    const kept = await api('GET', '/healthz', { headers: { 'x-request-id': 'abc12345-req' } });
    expect(kept.headers.get('x-request-id')).toBe('abc12345-req');
    const replaced = await api('GET', '/healthz', { headers: { 'x-request-id': 'bad id\twith tab' } });
    expect(replaced.headers.get('x-request-id')).not.toContain('bad');
  });
});

describe('organizations', () => {
  it('creates an organization with the operator token', async () => {
    const org = await createOrg();
    expect(org).toMatchObject({ name: 'Acme', plan: 'business' });
    expect(org.id).toMatch(/^org_/);
  });

  it('refuses without a token, with a wrong token, and with an API key', async () => {
    expectProblem(await api('POST', '/v1/orgs', { body: { name: 'x', plan: 'free' } }), 401, 'unauthorized');
    expectProblem(
      await api('POST', '/v1/orgs', { token: 'wrong', body: { name: 'x', plan: 'free' } }),
      401,
      'unauthorized',
    );
    const org = await createOrg();
    const key = await api('POST', `/v1/orgs/${org.id}/api-keys`, { token: OPERATOR_TOKEN });
    expectProblem(
      await api('POST', '/v1/orgs', {
        token: (key.body as { key: string }).key,
        body: { name: 'x', plan: 'free' },
      }),
      403,
      'forbidden',
    );
  });

  it('validates input', async () => {
    expectProblem(
      await api('POST', '/v1/orgs', { token: OPERATOR_TOKEN, body: { name: '', plan: 'gold' } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await api('POST', '/v1/orgs', { token: OPERATOR_TOKEN, body: { name: 'a', plan: 'free', extra: 1 } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await api('POST', '/v1/orgs', {
        token: OPERATOR_TOKEN,
        rawBody: '{"name":',
        headers: { 'content-type': 'application/json' },
      }),
      400,
      'bad_request',
    );
    expectProblem(
      await api('PATCH', '/v1/orgs/not-an-id', { token: OPERATOR_TOKEN, body: { plan: 'free' } }),
      400,
      'validation_failed',
    );
    expectProblem(
      await api('PATCH', `/v1/orgs/org_${'0'.repeat(32)}`, { token: OPERATOR_TOKEN, body: { plan: 'free' } }),
      404,
      'not_found',
    );
  });

  it('refuses an oversized body with 413', async () => {
    const res = await api('POST', '/v1/orgs', {
      token: OPERATOR_TOKEN,
      body: { name: 'x'.repeat(600_000), plan: 'free' },
    });
    expectProblem(res, 413, 'payload_too_large');
  });

  it('changes the plan', async () => {
    const org = await createOrg('free');
    const res = await api('PATCH', `/v1/orgs/${org.id}`, {
      token: OPERATOR_TOKEN,
      body: { plan: 'business' },
    });
    expect(res).toMatchObject({ status: 200, body: { id: org.id, plan: 'business' } });
  });

  it('scopes an API key to its own organization and reveals nothing about others', async () => {
    const mine = await createOrg();
    const other = await createOrg();
    const created = await api('POST', `/v1/orgs/${mine.id}/api-keys`, { token: OPERATOR_TOKEN });
    expect(created.status).toBe(201);
    const { key } = created.body as { key: string };
    expect((await api('GET', `/v1/orgs/${mine.id}`, { token: key })).status).toBe(200);
    const foreign = await api('GET', `/v1/orgs/${other.id}`, { token: key });
    const missing = await api('GET', `/v1/orgs/org_${'f'.repeat(32)}`, { token: key });
    expectProblem(foreign, 403, 'forbidden');
    expectProblem(missing, 403, 'forbidden');
    expect(foreign.body).toEqual({
      ...(missing.body as object),
      instance: (foreign.body as { instance: string }).instance,
    });
    expectProblem(await api('GET', `/v1/orgs/${mine.id}`, { token: `${key}x` }), 401, 'unauthorized');
  });

  it('stores API keys only as digests', async () => {
    const org = await createOrg();
    const { key } = (await api('POST', `/v1/orgs/${org.id}/api-keys`, { token: OPERATOR_TOKEN })).body as {
      key: string;
    };
    const stored = await stack.services.c.apiKeys.find({ orgId: org.id as never }).toArray();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(key);
  });
});

describe('personal accounts', () => {
  const email = () => `Person.${Math.random().toString(36).slice(2)}@Example.COM`;

  it('signs up, signs in with the password, and shows the session', async () => {
    const address = email();
    const signUp = await api('POST', '/v1/auth/sign-up', {
      body: { email: address, password: 'correct horse 1', name: 'Pat' },
    });
    expect(signUp.status).toBe(201);
    const signIn = await api('POST', '/v1/auth/password', {
      body: { email: address.toUpperCase(), password: 'correct horse 1' },
    });
    expect(signIn.status).toBe(200);
    const { token } = signIn.body as { token: string };
    const me = await api('GET', '/v1/me', { token });
    expect(me).toMatchObject({
      status: 200,
      body: { id: (signUp.body as { id: string }).id, email: address.toLowerCase(), amr: ['pwd'] },
    });
  });

  it('stores the password hashed', async () => {
    const address = email();
    await api('POST', '/v1/auth/sign-up', { body: { email: address, password: 'correct horse 2' } });
    const user = await stack.services.c.users.findOne({ email: address.toLowerCase() });
    expect(user?.passwordHash).toMatch(/^scrypt\$/);
    expect(user?.passwordHash).not.toContain('correct horse 2');
  });

  it('refuses a second account for the same email in another case', async () => {
    const address = email();
    expect(
      (await api('POST', '/v1/auth/sign-up', { body: { email: address, password: 'correct horse 3' } }))
        .status,
    ).toBe(201);
    expectProblem(
      await api('POST', '/v1/auth/sign-up', {
        body: { email: address.toUpperCase(), password: 'correct horse 3' },
      }),
      409,
      'email_taken',
    );
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    const address = email();
    await api('POST', '/v1/auth/sign-up', { body: { email: address, password: 'correct horse 4' } });
    const wrong = await api('POST', '/v1/auth/password', {
      body: { email: address, password: 'wrong horse' },
    });
    const unknown = await api('POST', '/v1/auth/password', {
      body: { email: email(), password: 'wrong horse' },
    });
    expectProblem(wrong, 401, 'invalid_credentials');
    expectProblem(unknown, 401, 'invalid_credentials');
  });

  it('validates sign-up input', async () => {
    expectProblem(
      await api('POST', '/v1/auth/sign-up', { body: { email: 'not-an-email', password: 'long enough' } }),
      400,
      'email_invalid',
    );
    expectProblem(
      await api('POST', '/v1/auth/sign-up', { body: { email: email(), password: 'short' } }),
      400,
      'validation_failed',
    );
    expectProblem(await api('POST', '/v1/auth/sign-up', { body: 'just a string' }), 400, 'bad_request');
  });

  it('refuses /v1/me without a session', async () => {
    expectProblem(await api('GET', '/v1/me'), 401, 'unauthorized');
    expectProblem(await api('GET', '/v1/me', { token: 'made-up' }), 401, 'unauthorized');
  });
});
