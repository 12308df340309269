// With an https PUBLIC_URL (every real deployment), a SAML response only finishes the sign-in in
// the browser that started it: the relay state carries a digest of a nonce held in an HttpOnly,
// SameSite=None, Secure, `__Host-` cookie that the server signs. This stops login CSRF (an
// attacker posting their own valid response from a victim's browser), including with a binding
// cookie planted in the victim's browser.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { createSamlConnection, postAcs, responseFor, startLogin, type SsoFixture } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';

let dns: TestDnsServer;
let stack: TestStack;
let fixture: SsoFixture;

beforeAll(async () => {
  dns = await startDnsServer();
  stack = await startTestStack({
    // Browsers reach the service at this address through a TLS-terminating proxy; the test talks
    // to the process directly.
    PUBLIC_URL: 'https://sso.example.test',
    ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
  });
  fixture = await createSamlConnection(stack, dns);
});

afterAll(async () => {
  await stack?.stop();
  await dns?.stop();
});

const email = () => `b${Math.random().toString(36).slice(2, 9)}@${fixture.domain}`;

describe('browser binding', () => {
  it('sets an HttpOnly, Secure, SameSite=None, __Host- nonce cookie', async () => {
    const res = await fetch(`${stack.baseUrl}/v1/sso/${fixture.connectorId}/login`, { redirect: 'manual' });
    const cookie = res.headers.getSetCookie().find((line) => line.startsWith('__Host-sso_binding='));
    // What browsers require of a __Host- cookie: Secure, Path=/, no Domain.
    expect(cookie).toMatch(/; path=\/(;|$)/i);
    expect(cookie).not.toMatch(/; domain=/i);
    expect(cookie).toMatch(/; secure/i);
    expect(cookie).toMatch(/; samesite=none/i);
    expect(cookie).toMatch(/; httponly/i);
  });

  it('finishes the sign-in in the browser that started it, with a Secure session cookie', async () => {
    const login = await startLogin(stack, fixture.connectorId);
    const address = email();
    const res = await fetch(`${stack.baseUrl}/v1/sso/${fixture.connectorId}/acs`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: login.bindingCookie ?? '' },
      body: new URLSearchParams({
        SAMLResponse: responseFor(fixture, login, { nameId: address, attributes: { email: address } }),
        RelayState: login.relayState,
      }).toString(),
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const session = res.headers.getSetCookie().find((line) => line.startsWith('__Host-sso_session='));
    expect(session).toMatch(/; path=\/(;|$)/i);
    expect(session).not.toMatch(/; domain=/i);
    expect(session).toMatch(/; secure/i);
    expect(session).toMatch(/; httponly/i);
  });

  it('refuses a response posted from another browser, and changes nothing', async () => {
    const attackersLogin = await startLogin(stack, fixture.connectorId);
    const address = email();
    const fields = {
      SAMLResponse: responseFor(fixture, attackersLogin, { nameId: address, attributes: { email: address } }),
      RelayState: attackersLogin.relayState,
    };
    const victimsBrowser = (await startLogin(stack, fixture.connectorId)).bindingCookie;
    const usersBefore = await stack.services.c.users.countDocuments();
    expect(await postAcs(stack, fixture.connectorId, fields, victimsBrowser)).toMatchObject({
      status: 400,
      body: { code: 'sso_browser_mismatch' },
    });
    expect(await postAcs(stack, fixture.connectorId, fields)).toMatchObject({ status: 400 });
    expect(await stack.services.c.users.countDocuments()).toBe(usersBefore);
  });

  it('ignores a binding value the server did not set, and does not adopt it', async () => {
    // Planted in the victim's browser, and used by the attacker when starting their own sign-in.
    const planted = `__Host-sso_binding=${'A'.repeat(28)}`;
    const attackersLogin = await startLogin(stack, fixture.connectorId, undefined, planted);
    expect(attackersLogin.bindingCookie).toMatch(/^__Host-sso_binding=/);
    expect(attackersLogin.bindingCookie).not.toContain('A'.repeat(28));
    const address = email();
    const fields = {
      SAMLResponse: responseFor(fixture, attackersLogin, { nameId: address, attributes: { email: address } }),
      RelayState: attackersLogin.relayState,
    };
    const usersBefore = await stack.services.c.users.countDocuments();
    expect(await postAcs(stack, fixture.connectorId, fields, planted)).toMatchObject({
      status: 400,
      body: { code: 'sso_browser_mismatch' },
    });
    // Nor does the server's own value under the bare name count: a sibling subdomain can set that.
    const unprefixed = attackersLogin.bindingCookie?.replace(/^__Host-/, '');
    expect(await postAcs(stack, fixture.connectorId, fields, unprefixed)).toMatchObject({ status: 400 });
    expect(await stack.services.c.users.countDocuments()).toBe(usersBefore);
  });
});
