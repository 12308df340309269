// Personal accounts the way a person makes one: sign up, read the code from the mailbox (a real
// SMTP server), prove it. Returns the account ID and a session token.
import { expect } from 'vitest';
import { request } from './http';
import type { TestMailbox } from './mailbox';
import type { TestStack } from './stack';

/** The six-digit code in a sign-up email. */
export function codeIn(text: string): string {
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  if (!code) throw new Error('no six-digit code in the email');
  return code;
}

/** Signs up and returns the code the mailbox received for it. */
export async function signUpForCode(
  stack: TestStack,
  mailbox: TestMailbox,
  body: { email: string; password: string; name?: string },
): Promise<string> {
  const before = mailbox.to(body.email).length;
  const res = await request(stack.baseUrl, 'POST', '/v1/auth/sign-up', { body });
  expect(res).toMatchObject({ status: 202, body: { status: 'verification_sent' } });
  return codeIn((await mailbox.next(body.email, before)).text);
}

export function verifySignUp(stack: TestStack, email: string, code: string) {
  return request<{ id: string; token: string }>(stack.baseUrl, 'POST', '/v1/auth/sign-up/verify', {
    body: { email, code },
  });
}

/** A personal account with a proven email. */
export async function signUpAndProve(
  stack: TestStack,
  mailbox: TestMailbox,
  body: { email: string; password: string; name?: string },
): Promise<{ id: string; token: string }> {
  const code = await signUpForCode(stack, mailbox, body);
  const verified = await verifySignUp(stack, body.email, code);
  expect(verified.status).toBe(200);
  return verified.body;
}
