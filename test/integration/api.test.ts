import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeIn, signUpAndProve, signUpForCode, verifySignUp } from '../helpers/accounts';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { OPERATOR_TOKEN, startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

let stack: TestStack;
let mailbox: TestMailbox;
beforeAll(async () => {
  mailbox = await startMailbox();
  // A worker delivers the sign-up emails (emailDelivery workflow).
  stack = await startTestStack({ SMTP_URL: mailbox.url });
});
afterAll(async () => {
  await stack?.stop();
  await mailbox?.stop();
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

  it('signs up, proves the email with the emailed code, and signs in with the password', async () => {
    const address = email();
    const code = await signUpForCode(stack, mailbox, {
      email: address,
      password: 'correct horse 1',
      name: 'Pat',
    });
    const verified = await verifySignUp(stack, address, code);
    expect(verified.status).toBe(200);
    expect(verified.body.id).toMatch(/^usr_/);
    const proofSession = await api('GET', '/v1/me', { token: verified.body.token });
    expect(proofSession).toMatchObject({
      status: 200,
      body: { id: verified.body.id, email: address.toLowerCase(), name: 'Pat', amr: ['otp'] },
    });
    const signIn = await api('POST', '/v1/auth/password', {
      body: { email: address.toUpperCase(), password: 'correct horse 1' },
    });
    expect(signIn.status).toBe(200);
    const { token } = signIn.body as { token: string };
    const me = await api('GET', '/v1/me', { token });
    expect(me).toMatchObject({ status: 200, body: { id: verified.body.id, amr: ['pwd'] } });
  });

  it('answers sign-up the same for new, unproven and proven addresses; only the mailbox hears which', async () => {
    const address = email();
    const body = { email: address, password: 'correct horse 2' };
    const answers = [];
    answers.push(await api('POST', '/v1/auth/sign-up', { body }));
    const first = await mailbox.next(address, 0);
    answers.push(await api('POST', '/v1/auth/sign-up', { body }));
    const second = await mailbox.next(address, 1);
    expect((await verifySignUp(stack, address, codeIn(second.text))).status).toBe(200);
    answers.push(await api('POST', '/v1/auth/sign-up', { body: { ...body, password: 'another one 2' } }));
    const third = await mailbox.next(address, 2);

    for (const answer of answers) {
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({ status: 'verification_sent' });
      expect(answer.headers.get('content-type')).toBe(answers[0]?.headers.get('content-type'));
    }
    expect(codeIn(first.text)).not.toBe(codeIn(second.text));
    expect(third.subject).toBe('You already have an account');
    expect(third.text).not.toMatch(/\b\d{6}\b/);
    // The proven account's password did not change.
    expect(
      (await api('POST', '/v1/auth/password', { body: { email: address, password: 'another one 2' } }))
        .status,
    ).toBe(401);
  });

  it('keeps no password, name or session on an account before its email is proven', async () => {
    const address = email().toLowerCase();
    await signUpForCode(stack, mailbox, { email: address, password: 'correct horse 3', name: 'Unproven' });
    const user = await stack.services.c.users.findOne({ email: address });
    expect(user).toMatchObject({ emailVerified: null, passwordHash: null, name: null });
    expect(await stack.services.c.sessions.countDocuments({ userId: user!._id })).toBe(0);
  });

  it('stores passwords and codes only hashed, and drops the emailed text once sent', async () => {
    const address = email().toLowerCase();
    const code = await signUpForCode(stack, mailbox, { email: address, password: 'correct horse 4' });
    const user = await stack.services.c.users.findOne({ email: address });
    const pending = await stack.services.c.emailCodes.find({ userId: user!._id }).toArray();
    expect(pending).toHaveLength(1);
    expect(pending[0]?.passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(pending)).not.toContain(code);
    expect(JSON.stringify(pending)).not.toContain('correct horse 4');
    const sent = await eventually(async () => {
      const docs = await stack.services.c.outbox.find({ to: address }).toArray();
      return docs.every((doc) => doc.status === 'sent') ? docs : undefined;
    }, 'the outbox to mark the code sent');
    expect(sent.map((doc) => doc.text)).toEqual([null]);
    expect(JSON.stringify(sent)).not.toContain(code);

    expect((await verifySignUp(stack, address, code)).status).toBe(200);
    const proven = await stack.services.c.users.findOne({ email: address });
    expect(proven?.passwordHash).toMatch(/^scrypt\$/);
    expect(proven?.emailVerified).toMatchObject({ method: 'email_code' });
    expect(await stack.services.c.emailCodes.countDocuments({ userId: user!._id })).toBe(0);
  });

  it('refuses password sign-in before the proof: a wrong password as for an unknown email, the right one with email_unverified', async () => {
    const address = email();
    await signUpForCode(stack, mailbox, { email: address, password: 'correct horse 5' });
    expectProblem(
      await api('POST', '/v1/auth/password', { body: { email: address, password: 'wrong horse' } }),
      401,
      'invalid_credentials',
    );
    const unproven = await api('POST', '/v1/auth/password', {
      body: { email: address, password: 'correct horse 5' },
    });
    expectProblem(unproven, 403, 'email_unverified');
    expect(unproven.headers.get('set-cookie')).toBeNull();
  });

  it('gives the account the password of the sign-up whose code is proven: only the latest code works', async () => {
    const address = email();
    // Someone who cannot read the mailbox signs up first; the owner signs up later.
    const squatterCode = await signUpForCode(stack, mailbox, { email: address, password: 'squatter pass' });
    const ownerCode = await signUpForCode(stack, mailbox, { email: address, password: 'owner password' });
    expectProblem(await verifySignUp(stack, address, squatterCode), 401, 'email_code_invalid');
    expect((await verifySignUp(stack, address, ownerCode)).status).toBe(200);
    expectProblem(
      await api('POST', '/v1/auth/password', { body: { email: address, password: 'squatter pass' } }),
      401,
      'invalid_credentials',
    );
    expect(
      (await api('POST', '/v1/auth/password', { body: { email: address, password: 'owner password' } }))
        .status,
    ).toBe(200);
  });

  it('refuses wrong, used, exhausted and expired codes and unknown emails alike', async () => {
    const wrongDigit = (code: string) => `${code.slice(0, 5)}${(Number(code[5]) + 1) % 10}`;
    const used = email();
    const usedCode = await signUpForCode(stack, mailbox, { email: used, password: 'correct horse 6' });
    expectProblem(await verifySignUp(stack, used, wrongDigit(usedCode)), 401, 'email_code_invalid');
    expect((await verifySignUp(stack, used, usedCode)).status).toBe(200);
    expectProblem(await verifySignUp(stack, used, usedCode), 401, 'email_code_invalid');

    const guessed = email();
    const guessedCode = await signUpForCode(stack, mailbox, { email: guessed, password: 'correct horse 6' });
    for (let guess = 0; guess < 5; guess++)
      expectProblem(await verifySignUp(stack, guessed, wrongDigit(guessedCode)), 401, 'email_code_invalid');
    expectProblem(await verifySignUp(stack, guessed, guessedCode), 401, 'email_code_invalid');

    const late = email();
    const lateCode = await signUpForCode(stack, mailbox, { email: late, password: 'correct horse 6' });
    const lateUser = await stack.services.c.users.findOne({ email: late.toLowerCase() });
    await stack.services.c.emailCodes.updateMany(
      { userId: lateUser!._id },
      { $set: { expiresAt: new Date(Date.now() - 1000) } },
    );
    expectProblem(await verifySignUp(stack, late, lateCode), 401, 'email_code_invalid');

    expectProblem(await verifySignUp(stack, email(), '123456'), 401, 'email_code_invalid');
  });

  it('counts parallel guesses against the limit and lets one of parallel proofs through', async () => {
    const wrongDigit = (code: string) => `${code.slice(0, 5)}${(Number(code[5]) + 1) % 10}`;
    const guessed = email();
    const code = await signUpForCode(stack, mailbox, { email: guessed, password: 'correct horse 8' });
    const guesses = await Promise.all(
      Array.from({ length: 20 }, () => verifySignUp(stack, guessed, wrongDigit(code))),
    );
    expect(guesses.map((res) => res.status)).toEqual(Array(20).fill(401));
    expectProblem(await verifySignUp(stack, guessed, code), 401, 'email_code_invalid');

    const raced = email();
    const racedCode = await signUpForCode(stack, mailbox, { email: raced, password: 'correct horse 8' });
    const proofs = await Promise.all(Array.from({ length: 5 }, () => verifySignUp(stack, raced, racedCode)));
    expect(proofs.map((res) => res.status).sort()).toEqual([200, 401, 401, 401, 401]);
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    const address = email();
    await signUpAndProve(stack, mailbox, { email: address, password: 'correct horse 7' });
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
    expectProblem(
      await api('POST', '/v1/auth/sign-up/verify', { body: { email: email(), code: '12345' } }),
      400,
      'validation_failed',
    );
  });

  it('refuses /v1/me without a session', async () => {
    expectProblem(await api('GET', '/v1/me'), 401, 'unauthorized');
    expectProblem(await api('GET', '/v1/me', { token: 'made-up' }), 401, 'unauthorized');
  });
});
