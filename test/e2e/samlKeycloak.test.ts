// End to end against a real, independently written SAML IdP: Keycloak on 127.0.0.1. A browser
// (cookie-keeping HTTP client) follows our login redirect to Keycloak's login form, signs in, and
// carries Keycloak's auto-POST form back to our ACS; the backend validates it with node-saml and
// provisions or links the account through the real Temporal workflows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpAndProve } from '../helpers/accounts';
import { createOrgWithKey, type OrgFixture } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { postConnector, verifyDomain } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { Browser, findLoginForm, findSamlPostForm, redirectTarget } from './helpers/browser';
import { startKeycloak, type KeycloakServer, type KeycloakUser } from './helpers/keycloak';

const RETURN_TO = 'https://app.example.test/welcome';

let dns: TestDnsServer;
let mailbox: TestMailbox;
let stack: TestStack;
let keycloak: KeycloakServer;
let org: OrgFixture;
let domain: string;
let connectorId: string;

const user = (name: string, extra: Partial<KeycloakUser> = {}): KeycloakUser => ({
  username: name,
  password: `${name}-password-123`,
  email: `${name}@${domain}`,
  firstName: name[0]!.toUpperCase() + name.slice(1),
  lastName: 'Tester',
  ...extra,
});

beforeAll(async () => {
  dns = await startDnsServer();
  mailbox = await startMailbox();
  [stack, keycloak] = await Promise.all([
    startTestStack(
      {
        SMTP_URL: mailbox.url,
        DNS_SERVERS: dns.address,
        DNS_TIMEOUT: '300ms',
        DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
        ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
        // Keycloak's metadata URL is on 127.0.0.1, which the metadata fetch refuses by default.
        IDP_FETCH_ALLOWED_NETWORKS: '127.0.0.0/8',
      },
      { fixedPort: true },
    ),
    // The first run on a machine fetches Keycloak from Maven Central and builds it (about a minute).
    startKeycloak({ realm: 'acme' }),
  ]);
  org = await createOrgWithKey(stack.baseUrl);
  domain = await verifyDomain(stack, dns, org);
  // The admin hands us Keycloak's metadata URL; the worker fetches it.
  const created = await postConnector(stack, org, {
    name: 'Keycloak',
    domains: [domain],
    saml: { metadataUrl: keycloak.idpMetadataUrl },
    jit: { enabled: true, defaultRole: 'engineer' },
  });
  expect(created.status).toBe(201);
  connectorId = created.body.id;
  // ...and gives Keycloak our SP settings.
  await keycloak.addSamlClient({
    spEntityId: created.body.sp.entityId,
    acsUrl: created.body.sp.acsUrl,
    userAttributes: ['department'],
  });
}, 15 * 60_000);

afterAll(async () => {
  await keycloak?.stop();
  await stack?.stop();
  await dns?.stop();
  await mailbox?.stop();
}, 60_000);

/** The whole browser journey; returns the browser (holding our session cookie) and our final answer. */
async function signInThroughKeycloak(who: KeycloakUser) {
  const browser = new Browser();
  const start = await browser.get(
    `${stack.baseUrl}/v1/sso/${connectorId}/login?returnTo=${encodeURIComponent(RETURN_TO)}`,
    { followRedirects: false },
  );
  expect(start.status).toBe(302);
  expect(redirectTarget(start)).toContain(keycloak.ssoUrl);
  const loginPage = await browser.followRedirects(start);
  expect(loginPage.status).toBe(200);
  const afterLogin = await browser.submitForm(findLoginForm(loginPage), {
    username: who.username,
    password: who.password,
  });
  const post = findSamlPostForm(afterLogin);
  expect(post.form.action).toBe(`${stack.config.publicUrl}/v1/sso/${connectorId}/acs`);
  const answer = await browser.submitForm(post.form, {}, { followRedirects: false });
  return { browser, answer };
}

async function me(browser: Browser) {
  const page = await browser.get(`${stack.baseUrl}/v1/me`);
  expect(page.status).toBe(200);
  return JSON.parse(page.body) as {
    id: string;
    email: string;
    amr: string[];
    organizations: { id: string; role: string }[];
  };
}

describe('SAML sign-in with Keycloak', () => {
  it('provisions a first-time user just in time and lands them signed in', async () => {
    const alice = user('alice', { attributes: { department: 'Research' } });
    await keycloak.addUser(alice);
    const { browser, answer } = await signInThroughKeycloak(alice);
    expect(answer.status).toBe(303);
    expect(redirectTarget(answer)).toBe(RETURN_TO);
    const session = await me(browser);
    expect(session).toMatchObject({
      email: alice.email,
      amr: ['sso'],
      organizations: [{ id: org.id, role: 'engineer' }],
    });
    const profile = await request<{ name: string; ssoIdentities: { profile: Record<string, unknown> }[] }>(
      stack.baseUrl,
      'GET',
      `/v1/orgs/${org.id}/users/${session.id}`,
      { token: org.key },
    );
    expect(profile.body.name).toBe('Alice Tester');
    expect(profile.body.ssoIdentities[0]?.profile).toMatchObject({ department: 'Research' });
  });

  it('links an existing personal account with a proven email, keeping its user ID', async () => {
    const bob = user('bob');
    const signUp = await signUpAndProve(stack, mailbox, {
      email: bob.email,
      password: 'bob personal password',
    });
    await keycloak.addUser(bob);
    const { browser, answer } = await signInThroughKeycloak(bob);
    expect(answer.status).toBe(303);
    expect((await me(browser)).id).toBe(signUp.id);
  });

  it('signs a returning user in again as the same user', async () => {
    const carol = user('carol');
    await keycloak.addUser(carol);
    const first = await me((await signInThroughKeycloak(carol)).browser);
    const second = await me((await signInThroughKeycloak(carol)).browser);
    expect(second.id).toBe(first.id);
    expect(await stack.services.c.users.countDocuments({ email: carol.email })).toBe(1);
  });

  it('refuses the same Keycloak response posted a second time', async () => {
    const dave = user('dave');
    await keycloak.addUser(dave);
    const browser = new Browser();
    const loginPage = await browser.get(
      `${stack.baseUrl}/v1/sso/${connectorId}/login?returnTo=${encodeURIComponent(RETURN_TO)}`,
    );
    const post = findSamlPostForm(
      await browser.submitForm(findLoginForm(loginPage), {
        username: dave.username,
        password: dave.password,
      }),
    );
    expect((await browser.submitForm(post.form, {}, { followRedirects: false })).status).toBe(303);
    const replay = await browser.submitForm(post.form, {}, { followRedirects: false });
    expect(replay.status).toBe(400);
    expect(JSON.parse(replay.body)).toMatchObject({ code: 'saml_unsolicited_response' });
  });
});
