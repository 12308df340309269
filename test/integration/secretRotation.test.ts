// Rotating SESSION_SECRET: the new secret makes every new value; the old one, moved to
// SESSION_SECRET_PREVIOUS, still verifies what it made (sessions, API keys), so nobody is signed
// out mid-rotation. API keys used during the rotation move to the new secret; once the old
// secret is dropped, what only it could verify stops working.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signUpAndProve } from '../helpers/accounts';
import { createOrgWithKey, type OrgFixture } from '../helpers/admin';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { OPERATOR_TOKEN, startTestStack, type TestStack } from '../helpers/stack';

const OLD_SECRET = randomBytes(32).toString('base64url');
const NEW_SECRET = randomBytes(32).toString('base64url');
const database = { MONGODB_DB: `test_rotation_${randomUUID().slice(0, 8)}` };
const stacks: TestStack[] = [];
let mailbox: TestMailbox;

/** Each stack has a worker, so the sign-up code of an account made on it is delivered. */
async function stackWith(env: Record<string, string>): Promise<TestStack> {
  const stack = await startTestStack({ ...database, SMTP_URL: mailbox.url, ...env });
  stacks.push(stack);
  return stack;
}

beforeAll(async () => {
  mailbox = await startMailbox();
});

afterAll(async () => {
  for (const stack of stacks) await stack.stop();
  await mailbox?.stop();
});

async function passwordSession(stack: TestStack): Promise<string> {
  const email = `r${Math.random().toString(36).slice(2, 10)}@personal.example.org`;
  const password = 'correct horse battery';
  await signUpAndProve(stack, mailbox, { email, password });
  const signedIn = await request<{ token: string }>(stack.baseUrl, 'POST', '/v1/auth/password', {
    body: { email, password },
  });
  expect(signedIn.status).toBe(200);
  return signedIn.body.token;
}

const me = (stack: TestStack, token: string) =>
  request(stack.baseUrl, 'GET', '/v1/me', { token }).then((res) => res.status);
const domains = (stack: TestStack, org: OrgFixture, key: string) =>
  request(stack.baseUrl, 'GET', `/v1/orgs/${org.id}/domains`, { token: key }).then((res) => res.status);

it('keeps what the previous secret made valid during a rotation, and drops it once the secret is gone', async () => {
  const before = await stackWith({ SESSION_SECRET: OLD_SECRET });
  const oldSession = await passwordSession(before);
  const org = await createOrgWithKey(before.baseUrl);
  const unusedKey = await request<{ key: string }>(before.baseUrl, 'POST', `/v1/orgs/${org.id}/api-keys`, {
    token: OPERATOR_TOKEN,
  });

  // During the rotation: the old secret still verifies, the new one makes new sessions.
  const rotating = await stackWith({ SESSION_SECRET: NEW_SECRET, SESSION_SECRET_PREVIOUS: OLD_SECRET });
  expect(await me(rotating, oldSession)).toBe(200);
  expect(await domains(rotating, org, org.key)).toBe(200);
  const newSession = await passwordSession(rotating);

  // After it: sessions and unused API keys from the old secret stop working; the API key used
  // during the rotation was re-keyed, and new sessions never depended on the old secret.
  const rotated = await stackWith({ SESSION_SECRET: NEW_SECRET });
  expect(await me(rotated, oldSession)).toBe(401);
  expect(await domains(rotated, org, org.key)).toBe(200);
  expect(await domains(rotated, org, unusedKey.body.key)).toBe(401);
  expect(await me(rotated, newSession)).toBe(200);
});
