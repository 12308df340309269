// SAML sign-in end to end through the API, the real Temporal workflows and the real database,
// with responses signed by a test IdP key: JIT provisioning, account linking, returning identities,
// reclaiming accounts whose email was never proven (pre-hijacking), the rules that refuse, and
// hostile responses that must change nothing.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndProve, signUpForCode, verifySignUp } from '../helpers/accounts';
import { createOrgWithKey, uniqueDomain } from '../helpers/admin';
import { BrowserClient } from '../helpers/browserClient';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { TEST_IDP, buildSamlResponse, idpMetadataXml, testIdpKey } from '../helpers/samlIdp';
import { spUrls } from '../../sso/connectorUrls';
import {
  createSamlConnection,
  postConnector,
  postAcs,
  responseFor,
  signIn,
  startLogin,
  verifyDomain,
  type SsoFixture,
} from '../helpers/sso';
import { ssoSignInWorkflowId } from '../../api/workflowClient';
import { asConnectorId, asUserId } from '../../domain/ids';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

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

async function me(token: string | undefined) {
  const res = await request<{
    id: string;
    email: string;
    amr: string[];
    organizations: { id: string; role: string }[];
  }>(stack.baseUrl, 'GET', '/v1/me', { token: token ?? 'none' });
  expect(res.status).toBe(200);
  return res.body;
}

async function orgUser(fixture: SsoFixture, userId: string) {
  return request<{
    id: string;
    email: string;
    name: string | null;
    avatarUrl: string | null;
    role: string;
    hasPassword: boolean;
    ssoIdentities: { connectorId: string; subject: string; profile: Record<string, unknown> }[];
  }>(stack.baseUrl, 'GET', `/v1/orgs/${fixture.org.id}/users/${userId}`, { token: fixture.org.key });
}

async function counts() {
  const c = stack.services.c;
  return {
    users: await c.users.countDocuments(),
    identities: await c.ssoIdentities.countDocuments(),
    memberships: await c.memberships.countDocuments(),
    sessions: await c.sessions.countDocuments(),
  };
}

describe('connections', () => {
  it('refuses organizations that are not on the Business plan', async () => {
    const org = await createOrgWithKey(stack.baseUrl, 'team');
    const res = await request(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/connectors`, {
      token: org.key,
      body: { type: 'saml', name: 'x', domains: ['acme.example.com'], saml: { metadataXml: '<x/>' } },
    });
    expect(res).toMatchObject({ status: 402, body: { code: 'plan_required' } });
  });

  it('refuses domains the organization has not verified', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const res = await request(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/connectors`, {
      token: org.key,
      body: { type: 'saml', name: 'x', domains: [uniqueDomain()], saml: { metadataXml: '<x/>' } },
    });
    expect(res).toMatchObject({ status: 409, body: { code: 'domain_not_verified' } });
  });

  it('ties a domain to one connection only', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const res = await postConnector(stack, fixture.org, {
      name: 'second',
      domains: [fixture.domain],
      saml: { metadataXml: idpMetadataXml() },
    });
    expect(res).toMatchObject({ status: 409, body: { code: 'domain_in_use' } });
  });

  it('lets one organization have several connections, each for its own domains', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const [first, second] = [await verifyDomain(stack, dns, org), await verifyDomain(stack, dns, org)];
    const made = [
      await postConnector(stack, org, {
        name: 'one',
        domains: [first],
        saml: { metadataXml: idpMetadataXml() },
      }),
      await postConnector(stack, org, {
        name: 'two',
        domains: [second],
        saml: { metadataXml: idpMetadataXml() },
      }),
    ];
    expect(made.map((res) => res.status)).toEqual([201, 201]);
    const identify = async (domain: string) =>
      (await request(stack.baseUrl, 'POST', '/v1/auth/identify', { body: { email: person(domain) } })).body;
    expect(await identify(first)).toMatchObject({ method: 'sso', connectorId: made[0]?.body.id });
    expect(await identify(second)).toMatchObject({ method: 'sso', connectorId: made[1]?.body.id });
    const listed = await request<{ connectors: unknown[] }>(
      stack.baseUrl,
      'GET',
      `/v1/orgs/${org.id}/connectors`,
      {
        token: org.key,
      },
    );
    expect(listed.body.connectors).toHaveLength(2);
  });

  it('keeps a domain that a connection uses from being deleted', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const domains = await request<{ domains: { id: string; domain: string }[] }>(
      stack.baseUrl,
      'GET',
      `/v1/orgs/${fixture.org.id}/domains`,
      {
        token: fixture.org.key,
      },
    );
    const used = domains.body.domains.find((d) => d.domain === fixture.domain);
    const res = await request(stack.baseUrl, 'DELETE', `/v1/orgs/${fixture.org.id}/domains/${used?.id}`, {
      token: fixture.org.key,
    });
    expect(res).toMatchObject({ status: 409, body: { code: 'domain_in_use' } });
  });

  it('takes IdP settings given by hand, with several certificates', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const domain = await verifyDomain(stack, dns, org);
    const res = await postConnector(stack, org, {
      name: 'manual',
      domains: [domain],
      saml: {
        entityId: 'https://idp.example.test/saml/metadata',
        ssoUrl: 'https://idp.example.test/saml/sso',
        certificates: [testIdpKey().certificatePem, testIdpKey('rotated').certificatePem],
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.saml.certificates).toHaveLength(2);
    const bad = await request(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/connectors`, {
      token: org.key,
      body: {
        type: 'saml',
        name: 'bad',
        domains: [domain],
        saml: { entityId: 'x', ssoUrl: 'https://idp.example.test/', certificates: ['nope'] },
      },
    });
    expect(bad).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('sends the AuthnRequest by an auto-submitting form to IdPs that take HTTP-POST only', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const domain = await verifyDomain(stack, dns, org);
    const created = await postConnector(stack, org, {
      name: 'post only',
      domains: [domain],
      saml: { metadataXml: idpMetadataXml({ bindings: ['HTTP-POST'] }) },
    });
    expect(created).toMatchObject({ status: 201, body: { saml: { ssoBinding: 'HTTP-POST' } } });
    const sp = spUrls(stack.config.publicUrl, created.body.id);
    const login = await fetch(`${stack.baseUrl}/v1/sso/${created.body.id}/login`, { redirect: 'manual' });
    expect(login.status).toBe(200);
    expect(login.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await login.text();
    expect(html).toContain(`action="${TEST_IDP.ssoUrl}"`);
    expect(login.headers.get('content-security-policy')).toContain(
      `form-action ${new URL(TEST_IDP.ssoUrl).origin}`,
    );
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]+)"`).exec(html)?.[1] ?? '';
    const authnRequest = Buffer.from(field('SAMLRequest'), 'base64').toString('utf8');
    const requestId = /\sID="([^"]+)"/.exec(authnRequest)?.[1] ?? '';
    expect(authnRequest).toContain(`AssertionConsumerServiceURL="${sp.acsUrl}"`);
    const address = person(domain);
    const res = await postAcs(stack, created.body.id, {
      SAMLResponse: buildSamlResponse({
        inResponseTo: requestId,
        destination: sp.acsUrl,
        recipient: sp.acsUrl,
        audience: sp.entityId,
        nameId: address,
        attributes: { email: address },
      }),
      RelayState: field('RelayState').replaceAll('&#x3D;', '=').replaceAll('&amp;', '&'),
    });
    expect(res.status).toBe(303);
  });

  it('refuses metadata with a DOCTYPE', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const domain = await verifyDomain(stack, dns, org);
    const res = await request(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/connectors`, {
      token: org.key,
      body: {
        type: 'saml',
        name: 'x',
        domains: [domain],
        saml: { metadataXml: '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>' },
      },
    });
    expect(res).toMatchObject({ status: 422, body: { code: 'idp_metadata_invalid' } });
  });

  it('serves SP metadata and routes verified-domain emails to SSO', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const metadata = await fetch(`${stack.baseUrl}/v1/sso/${fixture.connectorId}/metadata`);
    const xml = await metadata.text();
    expect(xml).toContain(`entityID="${fixture.spEntityId}"`);
    expect(xml).toContain(`Location="${fixture.acsUrl}"`);
    const sso = await request(stack.baseUrl, 'POST', '/v1/auth/identify', {
      body: { email: person(fixture.domain).toUpperCase() },
    });
    expect(sso.body).toMatchObject({ method: 'sso', connectorId: fixture.connectorId });
    const other = await request(stack.baseUrl, 'POST', '/v1/auth/identify', {
      body: { email: 'someone@elsewhere.example.org' },
    });
    expect(other.body).toEqual({ method: 'password' });
  });
});

describe('signing in', () => {
  it('provisions a first-time user just in time, with IdP name and avatar, other attributes on the profile', async () => {
    const fixture = await createSamlConnection(stack, dns, {
      jit: { enabled: true, defaultRole: 'developer' },
    });
    const email = person(fixture.domain);
    const res = await signIn(stack, fixture, {
      nameId: `subject-${email}`,
      attributes: {
        email,
        displayName: 'Ada Lovelace',
        picture: 'https://cdn.example.test/ada.png',
        department: 'Engines',
      },
    });
    expect(res.status).toBe(303);
    expect(res.location).toBe('https://app.example.test/home');
    const session = await me(res.sessionToken);
    expect(session).toMatchObject({
      email,
      amr: ['sso'],
      organizations: [{ id: fixture.org.id, role: 'developer' }],
    });
    const user = await orgUser(fixture, session.id);
    expect(user.body).toMatchObject({
      name: 'Ada Lovelace',
      avatarUrl: 'https://cdn.example.test/ada.png',
      hasPassword: false,
    });
    expect(user.body.ssoIdentities).toEqual([
      expect.objectContaining({
        connectorId: fixture.connectorId,
        subject: `subject-${email}`,
        profile: { department: 'Engines' },
      }),
    ]);
  });

  it('keeps emails and IdP attributes out of Temporal: histories and IDs carry only IDs', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const res = await signIn(stack, fixture, {
      nameId: email,
      attributes: { email, department: 'Secret Lab' },
    });
    expect(res.status).toBe(303);
    const workflowId = ssoSignInWorkflowId(stack.services.keys, fixture.connectorId, email);
    expect(workflowId).not.toContain(email);
    // Keyed: hashing a guessed email does not reproduce any part of the ID.
    const unkeyed = createHash('sha256').update(email).digest('base64url');
    expect(workflowId).not.toContain(unkeyed.slice(0, 16));
    // The API decides and starts the one provisioning run; its ID extends the sign-in's.
    const histories = [await stack.services.temporal.workflow.getHandle(`${workflowId}-jit`).fetchHistory()];
    // Payload bytes serialize as base64 in the history's JSON form; decode them into text.
    const recorded = JSON.stringify(histories, (key, value: unknown) =>
      key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value,
    );
    // Payloads are decoded into the text searched below: the input's attempt ID is readable.
    expect(recorded).toContain('att_');
    expect(recorded).toContain(fixture.connectorId);
    expect(recorded).not.toContain(email);
    expect(recorded).not.toContain('Secret Lab');
  });

  it('links an existing personal account with a proven email and keeps its user ID, password and sessions', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const signUp = await signUpAndProve(stack, mailbox, {
      email: email.toUpperCase(),
      password: 'personal password',
      name: 'Personal Name',
    });
    const res = await signIn(stack, fixture, {
      nameId: `sub-${email}`,
      attributes: { email, displayName: 'IdP Name' },
    });
    expect(res.status).toBe(303);
    const session = await me(res.sessionToken);
    expect(session.id).toBe(signUp.id);
    const user = await orgUser(fixture, signUp.id);
    expect(user.body).toMatchObject({
      name: 'Personal Name',
      hasPassword: true,
      needsPasswordSetup: false,
      role: 'member',
    });
    expect(await stack.services.c.users.countDocuments({ email })).toBe(1);
    expect((await me(signUp.token)).id).toBe(signUp.id);
    const password = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'personal password' },
    });
    expect(password.status).toBe(200);
    expect(
      await stack.services.c.auditEvents.countDocuments({ type: 'account.reclaimed', subjectId: signUp.id }),
    ).toBe(0);
  });

  it('signs a returning identity in and refreshes its profile', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const first = await signIn(stack, fixture, {
      nameId: `ret-${email}`,
      attributes: { email, displayName: 'First', team: 'A' },
    });
    const userId = (await me(first.sessionToken)).id;
    const second = await signIn(stack, fixture, {
      nameId: `ret-${email}`,
      attributes: { email, displayName: 'Renamed', team: 'B' },
    });
    expect(second.status).toBe(303);
    expect((await me(second.sessionToken)).id).toBe(userId);
    const user = await orgUser(fixture, userId);
    expect(user.body.name).toBe('First');
    expect(user.body.ssoIdentities[0]?.profile).toEqual({ team: 'B' });
  });

  it('signs a returning identity in even when the IdP stops sending an email', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const first = await signIn(stack, fixture, { nameId: `noemail-${email}`, attributes: { email } });
    const userId = (await me(first.sessionToken)).id;
    const again = await signIn(stack, fixture, {
      nameId: `noemail-${email}`,
      nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      attributes: {},
    });
    expect(again.status).toBe(303);
    expect((await me(again.sessionToken)).id).toBe(userId);
  });

  it('refuses a new identity without an email, saying the mapping must provide one', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const before = await counts();
    const res = await signIn(stack, fixture, {
      nameId: 'opaque-subject-1',
      nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      attributes: { displayName: 'No Email' },
    });
    expect(res).toMatchObject({ status: 422, body: { code: 'email_missing' } });
    expect(String(res.body.title)).toMatch(/attribute mapping/);
    expect(await counts()).toEqual(before);
  });

  it('uses a custom attribute mapping', async () => {
    const fixture = await createSamlConnection(stack, dns, { attributeMapping: { email: ['corpMail'] } });
    const email = person(fixture.domain);
    const res = await signIn(stack, fixture, {
      nameId: 'opaque-subject-2',
      nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      attributes: { corpMail: email },
    });
    expect(res.status).toBe(303);
    expect((await me(res.sessionToken)).email).toBe(email);
  });

  it('refuses unknown users when JIT is off, but still links existing accounts', async () => {
    const fixture = await createSamlConnection(stack, dns, { jit: { enabled: false } });
    const before = await counts();
    const refused = await signIn(stack, fixture, {
      nameId: 'jit-off-1',
      attributes: { email: person(fixture.domain) },
    });
    expect(refused).toMatchObject({ status: 403, body: { code: 'jit_disabled' } });
    expect(await counts()).toEqual(before);

    const email = person(fixture.domain);
    const signUp = await signUpAndProve(stack, mailbox, { email, password: 'personal password' });
    const linked = await signIn(stack, fixture, { nameId: 'jit-off-2', attributes: { email } });
    expect(linked.status).toBe(303);
    expect((await me(linked.sessionToken)).id).toBe(signUp.id);
  });

  it('never links or creates an account outside the verified domains', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const victim = `victim${Math.random().toString(36).slice(2, 8)}@elsewhere.example.org`;
    const signUp = await signUpAndProve(stack, mailbox, { email: victim, password: 'victim password' });
    const unproven = `unproven${Math.random().toString(36).slice(2, 8)}@elsewhere.example.org`;
    await signUpForCode(stack, mailbox, { email: unproven, password: 'unproven password' });
    const before = await counts();
    for (const [nameId, email] of [
      ['attacker', victim],
      ['attacker-2', unproven],
    ] as const) {
      const res = await signIn(stack, fixture, { nameId, attributes: { email } });
      expect(res).toMatchObject({ status: 403, body: { code: 'email_domain_not_allowed' } });
    }
    expect(await counts()).toEqual(before);
    expect(await stack.services.c.ssoIdentities.countDocuments({ userId: signUp.id as never })).toBe(0);
    expect(await stack.services.c.users.findOne({ email: unproven })).toMatchObject({ emailVerified: null });
  });

  it('creates exactly one user, identity and membership for 20 concurrent callbacks', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const logins = await Promise.all(
      Array.from({ length: 20 }, () => startLogin(stack, fixture.connectorId)),
    );
    const results = await Promise.all(
      logins.map((login) =>
        postAcs(stack, fixture.connectorId, {
          SAMLResponse: responseFor(fixture, login, { nameId: `many-${email}`, attributes: { email } }),
          RelayState: login.relayState,
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(303));
    const c = stack.services.c;
    const users = await c.users.find({ email }).toArray();
    expect(users).toHaveLength(1);
    expect(await c.ssoIdentities.countDocuments({ connectorId: fixture.connectorId as never })).toBe(1);
    expect(await c.memberships.countDocuments({ orgId: fixture.org.id as never })).toBe(1);
    const ids = new Set(await Promise.all(results.map(async (r) => (await me(r.sessionToken)).id)));
    expect([...ids]).toEqual([users[0]?._id]);
  });

  it('refuses a returnTo on another origin before sending anyone to the IdP', async () => {
    const fixture = await createSamlConnection(stack, dns);
    for (const target of [
      'https://evil.example.net/',
      '//evil.example.net/',
      'javascript:alert(1)',
      'https://app.example.test.evil.net/',
    ]) {
      const res = await request(
        stack.baseUrl,
        'GET',
        `/v1/sso/${fixture.connectorId}/login?returnTo=${encodeURIComponent(target)}`,
      );
      expect(res).toMatchObject({ status: 400, body: { code: 'return_to_not_allowed' } });
    }
  });
});

describe('account pre-hijacking', () => {
  async function reclaimEvents(userId: string) {
    return stack.services.c.auditEvents.find({ type: 'account.reclaimed', subjectId: userId }).toArray();
  }

  // The takeover the issue describes, in two browsers: an attacker signs up with the address of
  // someone at an organization before that person ever signs in through the org's IdP.
  it("gives the attacker's sign-up nothing: the owner signs in through the IdP on that same account, the attacker's password is gone", async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const attacker = new BrowserClient(stack);
    const victim = new BrowserClient(stack);

    const signUp = await attacker.json('POST', '/v1/auth/sign-up', {
      email,
      password: 'attacker password',
      name: 'Attacker Name',
    });
    expect(signUp).toMatchObject({ status: 202, body: { status: 'verification_sent' } });
    // The code went to the victim's mailbox; the attacker can only guess, and holds nothing.
    const codeToVictim = (await mailbox.next(email)).text;
    expect((await attacker.json('POST', '/v1/auth/sign-up/verify', { email, code: '000000' })).status).toBe(
      401,
    );
    const early = await attacker.json('POST', '/v1/auth/password', { email, password: 'attacker password' });
    expect(early).toMatchObject({ status: 403, body: { code: 'email_unverified' } });
    expect((await attacker.json('GET', '/v1/me')).status).toBe(401);
    const squatted = await stack.services.c.users.findOne({ email });
    expect(squatted).toMatchObject({ emailVerified: null, passwordHash: null });

    const arrived = await victim.ssoSignIn(fixture, {
      nameId: `owner-${email}`,
      attributes: { email, displayName: 'Real Owner' },
    });
    expect(arrived.status).toBe(303);
    const session = await victim.json<{ id: string; amr: string[]; name: string }>('GET', '/v1/me');
    expect(session).toMatchObject({
      status: 200,
      body: { id: squatted!._id, amr: ['sso'], name: 'Real Owner' },
    });

    const afterwards = await attacker.json('POST', '/v1/auth/password', {
      email,
      password: 'attacker password',
    });
    expect(afterwards).toMatchObject({ status: 409, body: { code: 'password_setup_required' } });
    // Even the code the attacker's sign-up sent no longer proves anything (it would set their password).
    const staleCode = /\b(\d{6})\b/.exec(codeToVictim)?.[1] ?? '';
    expect((await verifySignUp(stack, email, staleCode)).status).toBe(401);
    expect((await attacker.json('GET', '/v1/me')).status).toBe(401);
    expect((await victim.json('GET', '/v1/me')).status).toBe(200);

    const user = await orgUser(fixture, squatted!._id);
    expect(user.body).toMatchObject({
      hasPassword: false,
      needsPasswordSetup: true,
      emailVerified: true,
      name: 'Real Owner',
    });
    const events = await reclaimEvents(squatted!._id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      orgId: fixture.org.id,
      data: { userId: squatted!._id, connectorId: fixture.connectorId },
    });
    expect(JSON.stringify(events)).not.toContain(email);
    expect(await stack.services.c.users.countDocuments({ email })).toBe(1);
  });

  // Accounts from before email proof existed are unproven and may hold live sessions and a
  // working password: the state the issue found. The IdP sign-in must end both.
  it('signs the attacker out everywhere when the account predates email proof and holds sessions', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const attacker = new BrowserClient(stack);
    const victim = new BrowserClient(stack);

    // Before the fix no code was needed; here the code stands in for that, then the document is
    // put back in its pre-proof shape (no emailVerified field at all).
    const code = await signUpForCode(stack, mailbox, { email, password: 'attacker password' });
    expect((await attacker.json('POST', '/v1/auth/sign-up/verify', { email, code })).status).toBe(200);
    const bearer = await request<{ token: string }>(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'attacker password' },
    });
    expect(bearer.status).toBe(200);
    await stack.services.c.users.updateOne({ email }, { $unset: { emailVerified: '' } });
    const attackerView = await attacker.json<{ id: string }>('GET', '/v1/me');
    expect(attackerView.status).toBe(200);
    const accountId = attackerView.body.id;

    const arrived = await victim.ssoSignIn(fixture, { nameId: `owner-${email}`, attributes: { email } });
    expect(arrived.status).toBe(303);

    expect((await attacker.json('GET', '/v1/me')).status).toBe(401);
    expect((await request(stack.baseUrl, 'GET', '/v1/me', { token: bearer.body.token })).status).toBe(401);
    expect(
      (await attacker.json('POST', '/v1/auth/password', { email, password: 'attacker password' })).body,
    ).toMatchObject({ code: 'password_setup_required' });
    expect(await victim.json('GET', '/v1/me')).toMatchObject({ status: 200, body: { id: accountId } });
    expect(await stack.services.c.sessions.countDocuments({ userId: accountId as never })).toBe(1);
    expect(await reclaimEvents(accountId)).toHaveLength(1);

    // Signing in again is a returning identity: nothing is reclaimed twice.
    const again = await victim.ssoSignIn(fixture, { nameId: `owner-${email}`, attributes: { email } });
    expect(again.status).toBe(303);
    expect(await stack.services.c.sessions.countDocuments({ userId: accountId as never })).toBe(2);
    expect(await reclaimEvents(accountId)).toHaveLength(1);
  });

  it('reclaims an unproven account even when JIT is off, since no account is created', async () => {
    const fixture = await createSamlConnection(stack, dns, { jit: { enabled: false } });
    const email = person(fixture.domain);
    await signUpForCode(stack, mailbox, { email, password: 'squatter password' });
    const squatted = await stack.services.c.users.findOne({ email });
    const res = await signIn(stack, fixture, { nameId: `jit-off-${email}`, attributes: { email } });
    expect(res.status).toBe(303);
    expect((await me(res.sessionToken)).id).toBe(squatted?._id);
    expect(await reclaimEvents(squatted!._id)).toHaveLength(1);
  });
});

describe('hostile responses change nothing', () => {
  let fixture: SsoFixture;
  beforeAll(async () => {
    fixture = await createSamlConnection(stack, dns);
  });

  const cases: [string, (email: string) => Parameters<typeof responseFor>[2], string][] = [
    ['an unsigned response', () => ({ sign: 'none' }), 'saml_signature_invalid'],
    ['a SHA-1 signature', () => ({ hash: 'sha1' }), 'saml_signature_algorithm_refused'],
    [
      'a response signed by another key',
      () => ({ signWith: testIdpKey('attacker') }),
      'saml_signature_invalid',
    ],
    ['a wrapped assertion beside the signed one', () => ({ wrap: 'sibling' }), 'saml_multiple_assertions'],
    [
      'a wrapped assertion inside the signed one',
      () => ({ wrap: 'inside-signed' }),
      'saml_multiple_assertions',
    ],
    [
      'an expired assertion',
      () => ({
        notBefore: new Date(Date.now() - 3_600_000),
        notOnOrAfter: new Date(Date.now() - 1_800_000),
        issueInstant: new Date(Date.now() - 3_600_000),
      }),
      'saml_assertion_expired',
    ],
    [
      'an assertion not valid yet',
      () => ({ notBefore: new Date(Date.now() + 1_800_000), notOnOrAfter: new Date(Date.now() + 3_600_000) }),
      'saml_assertion_not_yet_valid',
    ],
    ['a wrong audience', () => ({ audience: 'https://other-sp.example.test' }), 'saml_audience_mismatch'],
    [
      'a wrong destination',
      () => ({ destination: 'https://other-sp.example.test/acs' }),
      'saml_destination_mismatch',
    ],
    ['a missing InResponseTo', () => ({ inResponseTo: null }), 'saml_unsolicited_response'],
    ['an unknown InResponseTo', () => ({ inResponseTo: '_never-issued-by-us' }), 'saml_unsolicited_response'],
    ['a DOCTYPE with entities', () => ({ doctype: true }), 'saml_doctype_forbidden'],
  ];

  it.each(cases)('refuses %s', async (_, options, code) => {
    const email = person(fixture.domain);
    const before = await counts();
    const login = await startLogin(stack, fixture.connectorId);
    const res = await postAcs(stack, fixture.connectorId, {
      SAMLResponse: responseFor(fixture, login, {
        nameId: `hostile-${email}`,
        attributes: { email },
        ...options(email),
      }),
      RelayState: login.relayState,
    });
    expect(res).toMatchObject({ status: 400, body: { code } });
    expect(res.sessionToken).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain(email);
    expect(await counts()).toEqual(before);
  });

  it('does not let a comment in the email truncate it into another domain', async () => {
    const before = await counts();
    const email = `mallory@${fixture.domain}.evil.example.net`;
    const res = await signIn(stack, fixture, {
      nameId: email,
      attributes: { email },
      injectCommentAfter: `mallory@${fixture.domain}`,
    });
    // The full text is read (never the truncated, in-domain address), so the domain rule refuses it.
    expect(res).toMatchObject({ status: 403, body: { code: 'email_domain_not_allowed' } });
    expect(await counts()).toEqual(before);
  });

  it('accepts a response once and refuses it when posted again', async () => {
    const email = person(fixture.domain);
    const login = await startLogin(stack, fixture.connectorId);
    const fields = {
      SAMLResponse: responseFor(fixture, login, { nameId: `replay-${email}`, attributes: { email } }),
      RelayState: login.relayState,
    };
    expect((await postAcs(stack, fixture.connectorId, fields)).status).toBe(303);
    const before = await counts();
    const replay = await postAcs(stack, fixture.connectorId, fields);
    expect(replay).toMatchObject({ status: 400, body: { code: 'saml_unsolicited_response' } });
    expect(await counts()).toEqual(before);
  });

  it('refuses invalid base64, a missing response and an oversized body', async () => {
    const before = await counts();
    expect(await postAcs(stack, fixture.connectorId, { SAMLResponse: '%%%not base64%%%' })).toMatchObject({
      status: 400,
      body: { code: 'saml_response_malformed' },
    });
    expect(await postAcs(stack, fixture.connectorId, {})).toMatchObject({
      status: 400,
      body: { code: 'saml_response_missing' },
    });
    const oversized = await postAcs(stack, fixture.connectorId, { SAMLResponse: 'A'.repeat(700_000) });
    expect(oversized).toMatchObject({ status: 413, body: { code: 'payload_too_large' } });
    expect(await counts()).toEqual(before);
  });

  it('refuses a forged RelayState', async () => {
    const email = person(fixture.domain);
    const login = await startLogin(stack, fixture.connectorId);
    const res = await postAcs(stack, fixture.connectorId, {
      SAMLResponse: responseFor(fixture, login, { nameId: `relay-${email}`, attributes: { email } }),
      RelayState:
        Buffer.from(
          JSON.stringify({ c: fixture.connectorId, r: 'https://evil.example.net', e: Date.now() + 60_000 }),
        ).toString('base64url') + '.forged',
    });
    expect(res).toMatchObject({ status: 400, body: { code: 'return_to_not_allowed' } });
  });
});

describe('when provisioning cannot finish in time', () => {
  it('answers "try again shortly" and the workflow completes on its own', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    await stack.worker?.shutdown();
    try {
      const res = await signIn(stack, fixture, { nameId: `slow-${email}`, attributes: { email } });
      expect(res).toMatchObject({ status: 503, body: { code: 'try_again_later' } });
    } finally {
      stack.worker = await stack.startWorker();
    }
    await eventually(
      async () => ((await stack.services.c.users.countDocuments({ email })) === 1 ? true : undefined),
      'the user to be provisioned',
    );
  });
});

describe('returning identities', () => {
  it('sign in without a worker: one write refreshes the profile, concurrent callbacks change nothing twice', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const first = await signIn(stack, fixture, { nameId: email, attributes: { email, team: 'A' } });
    const userId = (await me(first.sessionToken)).id;
    const identityFilter = { connectorId: asConnectorId(fixture.connectorId), subject: email };
    const before = await stack.services.c.ssoIdentities.findOne(identityFilter);

    await stack.worker?.shutdown();
    try {
      const again = await Promise.all(
        Array.from({ length: 5 }, () =>
          signIn(stack, fixture, { nameId: email, attributes: { email, team: 'B' } }),
        ),
      );
      expect(again.map((res) => res.status)).toEqual([303, 303, 303, 303, 303]);
      for (const res of again) expect((await me(res.sessionToken)).id).toBe(userId);
    } finally {
      stack.worker = await stack.startWorker();
    }
    const identities = await stack.services.c.ssoIdentities.find(identityFilter).toArray();
    expect(identities).toHaveLength(1);
    expect(identities[0]).toMatchObject({ userId, profile: { team: 'B' } });
    expect(identities[0]!.lastSignInAt.getTime()).toBeGreaterThan(before!.lastSignInAt.getTime());
    expect(await stack.services.c.memberships.countDocuments({ userId: asUserId(userId) })).toBe(1);
  });
});

describe('provisioning that fails', () => {
  it('is listed while running and once failed, and a manual retry completes it', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    const list = async (status: string) =>
      (
        await request<{ runs: { id: string; status: string; connectorId: string }[] }>(
          stack.baseUrl,
          'GET',
          `/v1/orgs/${fixture.org.id}/provisioning?status=${status}`,
          { token: fixture.org.key },
        )
      ).body.runs;

    await stack.worker?.shutdown();
    let runId: string;
    try {
      expect(
        (await signIn(stack, fixture, { nameId: `failing-${email}`, attributes: { email } })).status,
      ).toBe(503);
      const running = await eventually(async () => {
        const runs = await list('running');
        return runs.length === 1 ? runs : undefined;
      }, 'the running sign-in to be listed');
      expect(running[0]).toMatchObject({ status: 'RUNNING', connectorId: fixture.connectorId });
      runId = running[0]!.id;
      // An operator gives up on it (as a non-retryable failure would end it).
      await stack.services.temporal.workflow.getHandle(runId).terminate('operator stopped it');
      await eventually(
        async () => ((await list('failed')).some((run) => run.id === runId) ? true : undefined),
        'the failed run to be listed',
      );
    } finally {
      stack.worker = await stack.startWorker();
    }
    expect(await stack.services.c.users.countDocuments({ email })).toBe(0);

    const other = await createOrgWithKey(stack.baseUrl);
    const foreign = await request(stack.baseUrl, 'POST', `/v1/orgs/${other.id}/provisioning/${runId}/retry`, {
      token: other.key,
    });
    expect(foreign).toMatchObject({ status: 404, body: { code: 'not_found' } });

    const retried = await request(
      stack.baseUrl,
      'POST',
      `/v1/orgs/${fixture.org.id}/provisioning/${runId}/retry`,
      { token: fixture.org.key },
    );
    expect(retried).toMatchObject({ status: 202, body: { id: runId } });
    await eventually(
      async () => ((await stack.services.c.users.countDocuments({ email })) === 1 ? true : undefined),
      'the retried provisioning',
    );
    expect(
      (
        await request(stack.baseUrl, 'GET', `/v1/orgs/${fixture.org.id}/provisioning?status=bogus`, {
          token: fixture.org.key,
        })
      ).status,
    ).toBe(400);
  });
});

describe('enforcement', () => {
  it('routes enforced domains to SSO: passwords and sign-ups are refused with the login to use', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    await signUpAndProve(stack, mailbox, { email, password: 'before enforcement' });
    expect(
      (
        await request(stack.baseUrl, 'POST', '/v1/auth/password', {
          body: { email, password: 'before enforcement' },
        })
      ).status,
    ).toBe(200);

    const patched = await request(
      stack.baseUrl,
      'PATCH',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`,
      {
        token: fixture.org.key,
        body: { enforced: true },
      },
    );
    expect(patched).toMatchObject({ status: 200, body: { enforced: true } });

    const refused = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'before enforcement' },
    });
    expect(refused).toMatchObject({
      status: 403,
      body: { code: 'sso_required', connectorId: fixture.connectorId },
    });
    expect(refused.body.loginUrl).toBe(`${stack.config.publicUrl}/v1/sso/${fixture.connectorId}/login`);
    // The answer is the same for unknown addresses and wrong passwords: it depends on the domain only.
    const unknown = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email: person(fixture.domain), password: 'whatever' },
    });
    expect(unknown).toMatchObject({ status: 403, body: { code: 'sso_required' } });
    const newAccount = await request(stack.baseUrl, 'POST', '/v1/auth/sign-up', {
      body: { email: person(fixture.domain), password: 'long enough' },
    });
    expect(newAccount).toMatchObject({ status: 403, body: { code: 'sso_required' } });
  });

  it('asks old desktop clients to upgrade once SSO is enforced, and leaves web and new clients alone', async () => {
    const fixture = await createSamlConnection(stack, dns);
    await request(stack.baseUrl, 'PATCH', `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`, {
      token: fixture.org.key,
      body: { enforced: true },
    });
    const email = person(fixture.domain);
    const old = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'whatever' },
      headers: { 'x-client-version': 'desktop/4.4.1' },
    });
    expect(old).toMatchObject({ status: 426, body: { code: 'client_upgrade_required' } });
    const current = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'whatever' },
      headers: { 'x-client-version': 'desktop/4.4.2' },
    });
    expect(current).toMatchObject({ status: 403, body: { code: 'sso_required' } });
    const oldLogin = await request(stack.baseUrl, 'GET', `/v1/sso/${fixture.connectorId}/login`, {
      headers: { 'x-client-version': 'desktop/4.3.9' },
    });
    expect(oldLogin).toMatchObject({ status: 426, body: { code: 'client_upgrade_required' } });
    const web = await request(stack.baseUrl, 'GET', `/v1/sso/${fixture.connectorId}/login`);
    expect(web.status).toBe(302);
  });

  it('leaves password sign-in alone for domains without an enforced connection', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const email = person(fixture.domain);
    await signUpAndProve(stack, mailbox, { email, password: 'not enforced' });
    const res = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'not enforced' },
      headers: { 'x-client-version': 'desktop/1.0.0' },
    });
    expect(res.status).toBe(200);
  });

  it('stops routing and enforcing once the domain is no longer verified', async () => {
    const fixture = await createSamlConnection(stack, dns);
    await request(stack.baseUrl, 'PATCH', `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`, {
      token: fixture.org.key,
      body: { enforced: true },
    });
    const email = person(fixture.domain);
    expect(
      (await request(stack.baseUrl, 'POST', '/v1/auth/identify', { body: { email } })).body,
    ).toMatchObject({
      method: 'sso',
    });
    // What re-verification does when the TXT record stayed away past the grace period.
    await stack.services.c.domains.updateOne({ domain: fixture.domain }, { $set: { status: 'unverified' } });
    expect((await request(stack.baseUrl, 'POST', '/v1/auth/identify', { body: { email } })).body).toEqual({
      method: 'password',
    });
    const res = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'whatever' },
    });
    expect(res).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
  });

  it('switches JIT off through PATCH', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const patched = await request(
      stack.baseUrl,
      'PATCH',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`,
      {
        token: fixture.org.key,
        body: { jit: { enabled: false, defaultRole: 'member' } },
      },
    );
    expect(patched).toMatchObject({ status: 200, body: { jit: { enabled: false } } });
    const res = await signIn(stack, fixture, {
      nameId: 'after-patch',
      attributes: { email: person(fixture.domain) },
    });
    expect(res).toMatchObject({ status: 403, body: { code: 'jit_disabled' } });
    const bad = await request(
      stack.baseUrl,
      'PATCH',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`,
      {
        token: fixture.org.key,
        body: { status: 'deleted' },
      },
    );
    expect(bad).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });
});
