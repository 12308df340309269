// SSO enforcement completed, through the API with the real servers: email-code sign-in, local
// TOTP, sessions ending when enforcement starts, break-glass accounts and the desktop minimum
// version on every sign-in route. Emails are read from a real SMTP server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeIn, signUpAndProve } from '../helpers/accounts';
import { createOrgWithKey } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { idpMetadataXml } from '../helpers/samlIdp';
import {
  createSamlConnection,
  postAcs,
  postConnector,
  responseFor,
  signIn,
  startLogin,
  verifyDomain,
  type SsoFixture,
} from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { totpCode } from '../../security/totp';

let dns: TestDnsServer;
let mailbox: TestMailbox;
let stack: TestStack;

beforeAll(async () => {
  dns = await startDnsServer();
  mailbox = await startMailbox();
  stack = await startTestStack({
    SMTP_URL: mailbox.url,
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
    DOMAIN_VERIFICATION_MAX_INTERVAL: '1s',
    ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
    SIGN_IN_WAIT: '3s',
  });
});

afterAll(async () => {
  await stack?.stop();
  await dns?.stop();
  await mailbox?.stop();
});

const person = (domain: string) => `p${Math.random().toString(36).slice(2, 9)}@${domain}`;
const api = (method: string, path: string, options: Parameters<typeof request>[3] = {}) =>
  request(stack.baseUrl, method, path, options);

function enforce(fixture: SsoFixture, enforced: boolean) {
  return api('PATCH', `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`, {
    token: fixture.org.key,
    body: { enforced },
  });
}

const passwordSignIn = (email: string, password: string, extra: { totp?: string; version?: string } = {}) =>
  api('POST', '/v1/auth/password', {
    body: { email, password, ...(extra.totp ? { totp: extra.totp } : {}) },
    ...(extra.version ? { headers: { 'x-client-version': extra.version } } : {}),
  });

/** Starts an email-code sign-in and returns the code the mailbox received. */
async function emailCodeFor(email: string): Promise<string> {
  const before = mailbox.to(email).length;
  const res = await api('POST', '/v1/auth/email-code/start', { body: { email } });
  expect(res).toMatchObject({ status: 202, body: { status: 'code_sent' } });
  return codeIn((await mailbox.next(email, before)).text);
}

const verifyEmailCode = (email: string, code: string, extra: { totp?: string; version?: string } = {}) =>
  api('POST', '/v1/auth/email-code/verify', {
    body: { email, code, ...(extra.totp ? { totp: extra.totp } : {}) },
    ...(extra.version ? { headers: { 'x-client-version': extra.version } } : {}),
  });

const me = (token: string) => api('GET', '/v1/me', { token });

/** Enrolls and confirms TOTP for the session's user; returns the secret and recovery codes. */
async function enrollTotp(token: string): Promise<{ secret: string; recoveryCodes: string[] }> {
  const started = await api('POST', '/v1/me/mfa/totp', { token });
  expect(started.status).toBe(201);
  const { secret, otpauthUri } = started.body as { secret: string; otpauthUri: string };
  expect(otpauthUri).toMatch(/^otpauth:\/\/totp\//);
  expect(otpauthUri).toContain(`secret=${secret}`);
  const confirmed = await api('POST', '/v1/me/mfa/totp/confirm', {
    token,
    body: { code: await totpCode(secret, new Date()) },
  });
  expect(confirmed.status).toBe(200);
  return { secret, recoveryCodes: (confirmed.body as { recoveryCodes: string[] }).recoveryCodes };
}

/** A code of the next time step: the current one was spent confirming, and ±1 step is accepted. */
const nextCode = (secret: string) => totpCode(secret, new Date(Date.now() + 30_000));

async function outboxCount(email: string) {
  return stack.services.c.outbox.countDocuments({ to: email });
}

async function auditEvents(orgId: string, type: string) {
  return stack.services.c.auditEvents.find({ orgId: orgId as never, type }).toArray();
}

describe('enforcement closes every other way in, and reopens it when it ends', () => {
  it('refuses password and email code to a personal account once its domain is enforced, and ends its sessions', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const password = 'before enforcement';
    await signUpAndProve(stack, mailbox, { email, password });

    const pwdSession = await passwordSignIn(email, password);
    expect(pwdSession.status).toBe(200);
    const codeSession = await verifyEmailCode(email, await emailCodeFor(email));
    expect(codeSession.status).toBe(200);
    const codeToken = (codeSession.body as { token: string }).token;
    expect((await me(codeToken)).body).toMatchObject({ amr: ['otp'] });
    const sso = await signIn(stack, fixture, {
      nameId: `sso-${email}`,
      attributes: { email: person(fixture.domain) },
    });
    expect(sso.status).toBe(303);

    expect(await enforce(fixture, true)).toMatchObject({ status: 200, body: { enforced: true } });

    // Open non-SSO sessions ended with the change; the SSO session stays.
    expect((await me((pwdSession.body as { token: string }).token)).status).toBe(401);
    expect((await me(codeToken)).status).toBe(401);
    expect((await me(sso.sessionToken!)).body).toMatchObject({ amr: ['sso'] });
    const [started] = await auditEvents(fixture.org.id, 'connector.enforcement_started');
    expect(started).toMatchObject({ subjectId: fixture.connectorId });
    expect(started!.data.revokedSessions).toBeGreaterThanOrEqual(2);

    const refused = await passwordSignIn(email, password);
    expect(refused).toMatchObject({
      status: 403,
      body: { code: 'sso_required', connectorId: fixture.connectorId },
    });
    // Start answers as usual but sends nothing; verify names the login to use.
    const sent = await outboxCount(email);
    expect(await api('POST', '/v1/auth/email-code/start', { body: { email } })).toMatchObject({
      status: 202,
    });
    expect(await outboxCount(email)).toBe(sent);
    const byCode = await verifyEmailCode(email, '123456');
    expect(byCode).toMatchObject({
      status: 403,
      body: { code: 'sso_required', connectorId: fixture.connectorId },
    });
    expect((byCode.body as { loginUrl: string }).loginUrl).toBe(
      `${stack.config.publicUrl}/v1/sso/${fixture.connectorId}/login`,
    );
    const refusals = await auditEvents(fixture.org.id, 'sign_in.refused');
    expect(refusals.map((event) => event.data.method).sort()).toEqual(['email_code', 'password']);
    expect(JSON.stringify(refusals)).not.toContain(email);

    expect(await enforce(fixture, false)).toMatchObject({ status: 200, body: { enforced: false } });
    expect((await passwordSignIn(email, password)).status).toBe(200);
    expect((await verifyEmailCode(email, await emailCodeFor(email))).status).toBe(200);
    expect(await auditEvents(fixture.org.id, 'connector.enforcement_ended')).toHaveLength(1);
  });

  it('ends open sessions when a connection is created already enforced', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const domain = await verifyDomain(stack, dns, org);
    const { token } = await signUpAndProve(stack, mailbox, {
      email: person(domain),
      password: 'long enough',
    });
    const created = await postConnector(stack, org, {
      name: 'Enforced from the start',
      domains: [domain],
      saml: { metadataXml: idpMetadataXml() },
      enforced: true,
    });
    expect(created.status).toBe(201);
    expect((await me(token)).status).toBe(401);
    expect(await auditEvents(org.id, 'connector.enforcement_started')).toHaveLength(1);
  });
});

describe('email-code sign-in', () => {
  it('answers 202 for unknown addresses and sends nothing', async () => {
    const email = `nobody-${Math.random().toString(36).slice(2, 9)}@personal.example.com`;
    expect(await api('POST', '/v1/auth/email-code/start', { body: { email } })).toMatchObject({
      status: 202,
      body: { status: 'code_sent' },
    });
    expect(await outboxCount(email)).toBe(0);
    expect(await verifyEmailCode(email, '123456')).toMatchObject({
      status: 401,
      body: { code: 'email_code_invalid' },
    });
  });

  it('uses a code once, and refuses a wrong one', async () => {
    const email = `once-${Math.random().toString(36).slice(2, 9)}@personal.example.com`;
    await signUpAndProve(stack, mailbox, { email, password: 'long enough' });
    const code = await emailCodeFor(email);
    const wrong = code === '000000' ? '000001' : '000000';
    expect(await verifyEmailCode(email, wrong)).toMatchObject({
      status: 401,
      body: { code: 'email_code_invalid' },
    });
    expect((await verifyEmailCode(email, code)).status).toBe(200);
    expect(await verifyEmailCode(email, code)).toMatchObject({
      status: 401,
      body: { code: 'email_code_invalid' },
    });
    const stored = await stack.services.c.emailCodes.find({ userId: { $exists: true } }).toArray();
    expect(JSON.stringify(stored)).not.toContain(`"${code}"`);
  });
});

describe('local TOTP', () => {
  it('asks for TOTP on password and email code, never on SSO, and records how the session signed in', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const { token } = await signUpAndProve(stack, mailbox, { email, password: 'with a second factor' });
    const { secret } = await enrollTotp(token);

    expect(await passwordSignIn(email, 'with a second factor')).toMatchObject({
      status: 401,
      body: { code: 'mfa_required' },
    });
    // A wrong password hears nothing about MFA.
    expect(await passwordSignIn(email, 'wrong password')).toMatchObject({
      status: 401,
      body: { code: 'invalid_credentials' },
    });
    const code = await nextCode(secret);
    const signedIn = await passwordSignIn(email, 'with a second factor', { totp: code });
    expect(signedIn.status).toBe(200);
    expect((await me((signedIn.body as { token: string }).token)).body).toMatchObject({
      amr: ['pwd', 'otp', 'mfa'],
    });
    // The same code again is a replay.
    expect(await passwordSignIn(email, 'with a second factor', { totp: code })).toMatchObject({
      status: 401,
      body: { code: 'mfa_invalid' },
    });

    // Email code: mfa_required keeps the code, so the retry with TOTP can use it.
    const emailed = await emailCodeFor(email);
    expect(await verifyEmailCode(email, emailed)).toMatchObject({
      status: 401,
      body: { code: 'mfa_required' },
    });

    // SSO links the account and never asks for the local second factor (rule 8).
    const sso = await signIn(stack, fixture, { nameId: `sso-${email}`, attributes: { email } });
    expect(sso.status).toBe(303);
    expect((await me(sso.sessionToken!)).body).toMatchObject({ amr: ['sso'] });
  });

  it('shows the secret once, keeps it sealed, takes recovery codes once, and disables with a code', async () => {
    const email = `totp-${Math.random().toString(36).slice(2, 9)}@personal.example.com`;
    const { token, id } = await signUpAndProve(stack, mailbox, { email, password: 'long enough' });
    const { secret, recoveryCodes } = await enrollTotp(token);
    expect(recoveryCodes).toHaveLength(10);
    expect(await api('POST', '/v1/me/mfa/totp', { token })).toMatchObject({
      status: 409,
      body: { code: 'mfa_already_enabled' },
    });
    const stored = await stack.services.c.users.findOne({ _id: id as never });
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(recoveryCodes[0]);

    const recovery = recoveryCodes[0]!;
    expect((await passwordSignIn(email, 'long enough', { totp: recovery })).status).toBe(200);
    expect(await passwordSignIn(email, 'long enough', { totp: recovery })).toMatchObject({
      status: 401,
      body: { code: 'mfa_invalid' },
    });
    expect(await api('POST', '/v1/me/mfa/totp/disable', { token, body: { code: '000000' } })).toMatchObject({
      status: 401,
      body: { code: 'mfa_invalid' },
    });
    expect(
      (await api('POST', '/v1/me/mfa/totp/disable', { token, body: { code: recoveryCodes[1]! } })).status,
    ).toBe(204);
    expect((await passwordSignIn(email, 'long enough')).status).toBe(200);
  });
});

describe('break-glass accounts', () => {
  it('lets an exempt account with TOTP in by password while enforced, and audits it', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const password = 'break the glass';
    const { token, id } = await signUpAndProve(stack, mailbox, { email, password });
    // Linking through SSO makes the account a member of the organization.
    expect((await signIn(stack, fixture, { nameId: `bg-${email}`, attributes: { email } })).status).toBe(303);
    const path = `/v1/orgs/${fixture.org.id}/break-glass/${id}`;
    expect(await api('PUT', path, { token: fixture.org.key })).toMatchObject({
      status: 409,
      body: { code: 'mfa_not_enrolled' },
    });
    const { secret } = await enrollTotp(token);
    expect(await api('PUT', path, { token: fixture.org.key })).toMatchObject({
      status: 201,
      body: { userId: id },
    });
    expect((await api('PUT', path, { token: fixture.org.key })).status).toBe(200);
    expect(
      await api('GET', `/v1/orgs/${fixture.org.id}/break-glass`, { token: fixture.org.key }),
    ).toMatchObject({
      status: 200,
      body: { accounts: [{ userId: id }], max: 2 },
    });
    expect(
      await api('PUT', `/v1/orgs/${fixture.org.id}/break-glass/usr_${'0'.repeat(32)}`, {
        token: fixture.org.key,
      }),
    ).toMatchObject({ status: 404 });

    await enforce(fixture, true);
    // A wrong password hears what everyone hears under enforcement.
    expect(await passwordSignIn(email, 'not the password')).toMatchObject({
      status: 403,
      body: { code: 'sso_required' },
    });
    expect(await passwordSignIn(email, password)).toMatchObject({
      status: 401,
      body: { code: 'mfa_required' },
    });
    const signedIn = await passwordSignIn(email, password, { totp: await nextCode(secret) });
    expect(signedIn.status).toBe(200);
    const [event] = await auditEvents(fixture.org.id, 'sign_in.break_glass');
    expect(event).toMatchObject({
      subjectId: id,
      data: { connectorId: fixture.connectorId, method: 'password' },
    });
    expect(JSON.stringify(event)).not.toContain(email);
    expect(await auditEvents(fixture.org.id, 'break_glass.granted')).toHaveLength(1);

    // Ending the exemption closes the way again.
    expect((await api('DELETE', path, { token: fixture.org.key })).status).toBe(204);
    expect(await passwordSignIn(email, password)).toMatchObject({
      status: 403,
      body: { code: 'sso_required' },
    });
    expect(await auditEvents(fixture.org.id, 'break_glass.revoked')).toHaveLength(1);
  });
});

describe('desktop minimum version', () => {
  it('lets 4.4.1 and 4.4.2 in before enforcement; afterwards refuses 4.4.1 everywhere and lets 4.4.2 reach SSO', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const password = 'desktop user';
    await signUpAndProve(stack, mailbox, { email, password });
    for (const version of ['desktop/4.4.1', 'desktop/4.4.2'])
      expect((await passwordSignIn(email, password, { version })).status).toBe(200);
    expect(
      (
        await api('GET', `/v1/sso/${fixture.connectorId}/login`, {
          headers: { 'x-client-version': 'desktop/4.4.1' },
        })
      ).status,
    ).toBe(302);

    await enforce(fixture, true);
    const upgrade = { status: 426, body: { code: 'client_upgrade_required', minimumVersion: '4.4.2' } };
    expect(await passwordSignIn(email, password, { version: 'desktop/4.4.1' })).toMatchObject(upgrade);
    expect(await verifyEmailCode(email, '123456', { version: 'desktop/4.4.1' })).toMatchObject(upgrade);
    expect(
      await api('GET', `/v1/sso/${fixture.connectorId}/login`, {
        headers: { 'x-client-version': 'desktop/4.4.1' },
      }),
    ).toMatchObject(upgrade);
    // The ACS too, before the response is even looked at.
    const login = await startLogin(stack, fixture.connectorId);
    const acs = await fetch(`${stack.baseUrl}/v1/sso/${fixture.connectorId}/acs`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-client-version': 'desktop/4.4.1',
        ...(login.bindingCookie ? { cookie: login.bindingCookie } : {}),
      },
      body: new URLSearchParams({
        SAMLResponse: responseFor(fixture, login, { nameId: `old-${email}`, attributes: { email } }),
        RelayState: login.relayState,
      }).toString(),
      redirect: 'manual',
    });
    expect(acs.status).toBe(426);
    // A version nobody can read is too old, and says why.
    const unreadable = await passwordSignIn(email, password, { version: 'desktop/four' });
    expect(unreadable).toMatchObject(upgrade);
    expect((unreadable.body as { title: string }).title).toMatch(/X-Client-Version/);

    // 4.4.2 goes on: password hears "use SSO", and SSO itself works.
    expect(await passwordSignIn(email, password, { version: 'desktop/4.4.2' })).toMatchObject({
      status: 403,
      body: { code: 'sso_required' },
    });
    const newLogin = await request(stack.baseUrl, 'GET', `/v1/sso/${fixture.connectorId}/login`, {
      headers: { 'x-client-version': 'desktop/4.4.2' },
    });
    expect(newLogin.status).toBe(302);
    const sso = await postAcs(
      stack,
      fixture.connectorId,
      {
        SAMLResponse: responseFor(fixture, login, { nameId: `new-${email}`, attributes: { email } }),
        RelayState: login.relayState,
      },
      login.bindingCookie,
    );
    expect(sso.status).toBe(303);
  });
});
