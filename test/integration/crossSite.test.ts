// Login CSRF: a hostile page may auto-submit a form to the sign-up and sign-in routes from the
// victim's browser. Those routes take application/json only (which a cross-site page cannot send
// without a CORS preflight this API never grants), and every state-changing request that names a
// foreign Origin is refused. Only the SAML ACS takes a form: the IdP's page posts it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndProve } from '../helpers/accounts';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { startTestStack, type TestStack } from '../helpers/stack';

const PUBLIC_ORIGIN = 'https://sso.example.test';
const APP_ORIGIN = 'https://app.example.test';
const HOSTILE_ORIGIN = 'https://evil.example.net';

let stack: TestStack;
let mailbox: TestMailbox;
beforeAll(async () => {
  mailbox = await startMailbox();
  stack = await startTestStack({
    PUBLIC_URL: PUBLIC_ORIGIN,
    ALLOWED_RETURN_ORIGINS: APP_ORIGIN,
    SMTP_URL: mailbox.url,
  });
});
afterAll(async () => {
  await stack?.stop();
  await mailbox?.stop();
});

const address = () => `x${Math.random().toString(36).slice(2, 10)}@personal.example.org`;
const PASSWORD = 'correct horse battery';

function post(path: string, body: string, headers: Record<string, string>) {
  return fetch(`${stack.baseUrl}${path}`, { method: 'POST', headers, body, redirect: 'manual' });
}

async function expectRefused(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(await res.json()).toMatchObject({ code });
  expect(res.headers.getSetCookie()).toEqual([]);
}

const accountsFor = (email: string) => stack.services.c.users.countDocuments({ email });

async function signUp(email: string) {
  await signUpAndProve(stack, mailbox, { email, password: PASSWORD });
}

describe('request bodies', () => {
  it('refuses a form-encoded sign-up and creates no account', async () => {
    const email = address();
    const form = new URLSearchParams({ email, password: PASSWORD }).toString();
    await expectRefused(
      await post('/v1/auth/sign-up', form, { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported_media_type',
    );
    expect(await accountsFor(email)).toBe(0);
  });

  it('refuses a form-encoded or text/plain password sign-in and starts no session', async () => {
    const email = address();
    await signUp(email);
    const sessionsBefore = await stack.services.c.sessions.countDocuments();
    await expectRefused(
      await post('/v1/auth/password', new URLSearchParams({ email, password: PASSWORD }).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
      }),
      415,
      'unsupported_media_type',
    );
    // <form enctype="text/plain"> can smuggle a JSON-looking body; it is still not JSON.
    await expectRefused(
      await post('/v1/auth/password', JSON.stringify({ email, password: PASSWORD }), {
        'content-type': 'text/plain',
      }),
      415,
      'unsupported_media_type',
    );
    expect(await stack.services.c.sessions.countDocuments()).toBe(sessionsBefore);
  });

  it('still signs in with a JSON body', async () => {
    const email = address();
    await signUp(email);
    const res = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: PASSWORD },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(res.status).toBe(200);
  });

  it('takes a form at the SAML ACS only, and refuses JSON there', async () => {
    await expectRefused(
      await post(`/v1/sso/con_${'0'.repeat(32)}/acs`, JSON.stringify({ SAMLResponse: 'x' }), {
        'content-type': 'application/json',
      }),
      415,
      'unsupported_media_type',
    );
    // A form reaches the route, which then looks for the connection.
    const res = await post(`/v1/sso/con_${'0'.repeat(32)}/acs`, 'SAMLResponse=x', {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'https://idp.example.net',
    });
    expect(res.status).toBe(404);
  });
});

describe('Origin check', () => {
  it.each([HOSTILE_ORIGIN, 'null', 'http://sso.example.test'])(
    'refuses sign-up, password sign-in and identify from %s',
    async (origin) => {
      const email = address();
      for (const [path, body] of [
        ['/v1/auth/sign-up', { email, password: PASSWORD }],
        ['/v1/auth/password', { email, password: PASSWORD }],
        ['/v1/auth/identify', { email }],
      ] as const) {
        await expectRefused(
          await post(path, JSON.stringify(body), { 'content-type': 'application/json', origin }),
          403,
          'origin_not_allowed',
        );
      }
      expect(await accountsFor(email)).toBe(0);
    },
  );

  it.each([PUBLIC_ORIGIN, APP_ORIGIN, undefined])('accepts a sign-up from %s', async (origin) => {
    const email = address();
    const res = await request(stack.baseUrl, 'POST', '/v1/auth/sign-up', {
      body: { email, password: PASSWORD },
      headers: origin ? { origin } : {},
    });
    expect(res.status).toBe(202);
    expect(await accountsFor(email)).toBe(1);
  });

  it('lets reads through from any origin', async () => {
    const res = await request(stack.baseUrl, 'GET', '/healthz', { headers: { origin: HOSTILE_ORIGIN } });
    expect(res.status).toBe(200);
  });
});
