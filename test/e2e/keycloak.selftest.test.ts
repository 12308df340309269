// Proves the e2e identity provider works on its own, before any test of ours relies on it: a real
// Keycloak answers a hand-made, unsigned HTTP-Redirect AuthnRequest with its login form, and after
// a real username/password login posts a signed SAMLResponse for that request to the SP's ACS URL,
// which node-saml (the library our backend uses) accepts against the IdP's published certificate.
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';

import { type CacheProvider, SAML, type SamlConfig, ValidateInResponseTo } from '@node-saml/node-saml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Browser, findLoginForm, findSamlPostForm } from './helpers/browser';
import { type KeycloakServer, type KeycloakUser, startKeycloak } from './helpers/keycloak';

// Port 1 is never listened on: nothing here may reach the SP; the test reads what would be posted.
const SP = { entityId: 'http://127.0.0.1:1/sp', acsUrl: 'http://127.0.0.1:1/acs' };
const ALICE: KeycloakUser = {
  username: 'alice',
  password: 'correct horse battery staple',
  email: 'alice@acme.example',
  firstName: 'Alice',
  lastName: 'Liddell',
  attributes: { department: 'Research' },
};

let keycloak: KeycloakServer;

beforeAll(async () => {
  // The first run on a machine fetches (~180 MB) and builds Keycloak before starting it.
  keycloak = await startKeycloak({
    realm: 'selftest',
    spEntityId: SP.entityId,
    acsUrl: SP.acsUrl,
    users: [ALICE],
  });
  process.stderr.write(
    `[keycloak] ${keycloak.keycloakVersion} on Java ${keycloak.java.version} answered after ${keycloak.startupMs} ms\n`,
  );
}, 15 * 60_000);

afterAll(async () => {
  await keycloak?.stop();
}, 60_000);

describe('Keycloak as the e2e SAML identity provider', () => {
  it('publishes IdP metadata with a signing certificate and a SingleSignOnService', () => {
    expect(keycloak.idpMetadataXml).toContain(`entityID="${keycloak.idpEntityId}"`);
    expect(keycloak.idpMetadataXml).toMatch(
      /<(\w+:)?X509Certificate>[A-Za-z0-9+/=\s]{100,}<\/(\w+:)?X509Certificate>/,
    );
    expect(keycloak.idpMetadataXml).toMatch(
      new RegExp(
        `<(\\w+:)?SingleSignOnService[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"[^>]*Location="${keycloak.ssoUrl}"`,
      ),
    );
  });

  it('logs a user in through the login form and posts a signed SAMLResponse for the request to the ACS URL', async () => {
    const request = authnRequest(keycloak.ssoUrl, SP);
    const browser = new Browser();

    const loginPage = await browser.get(request.url);
    expect(loginPage.status).toBe(200);
    const afterLogin = await browser.submitForm(findLoginForm(loginPage), {
      username: ALICE.username,
      password: ALICE.password,
    });

    const post = findSamlPostForm(afterLogin);
    expect(post.form.method).toBe('POST');
    expect(post.form.action).toBe(SP.acsUrl);
    expect(post.relayState).toBe(request.relayState);
    const xml = Buffer.from(post.samlResponse, 'base64').toString('utf8');
    expect(xml).toContain(`InResponseTo="${request.id}"`);
    expect(xml).toContain(`Destination="${SP.acsUrl}"`);
    expect(xml).toContain(ALICE.email);
    expect(xml).toMatch(/<(\w+:)?Signature\b/);

    const { profile } = await serviceProvider(keycloak, request.id).validatePostResponseAsync({
      SAMLResponse: post.samlResponse,
    });
    expect(profile).toMatchObject({
      issuer: keycloak.idpEntityId,
      nameID: ALICE.email,
      nameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      email: ALICE.email,
      firstName: ALICE.firstName,
      lastName: ALICE.lastName,
    });
  });

  it.each([
    ['node-saml defaults (emailAddress NameIDPolicy, RequestedAuthnContext)', {}],
    [
      "our backend's settings (unspecified NameIDPolicy, no RequestedAuthnContext)",
      {
        identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
        disableRequestedAuthnContext: true,
      },
    ],
  ] as const)('answers an AuthnRequest built by node-saml with %s', async (_name, settings) => {
    const sp = serviceProvider(keycloak, undefined, SP, settings);
    const browser = new Browser();
    const loginPage = await browser.get(await sp.getAuthorizeUrlAsync('relay-1', undefined, {}));
    const post = findSamlPostForm(
      await browser.submitForm(findLoginForm(loginPage), {
        username: ALICE.username,
        password: ALICE.password,
      }),
    );
    expect(post.relayState).toBe('relay-1');
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: post.samlResponse });
    expect(profile).toMatchObject({ nameID: ALICE.email, email: ALICE.email });
  });

  it('shows the login form again, with an error, after a wrong password', async () => {
    const browser = new Browser();
    const loginPage = await browser.get(authnRequest(keycloak.ssoUrl, SP).url);
    const retry = await browser.submitForm(findLoginForm(loginPage), {
      username: ALICE.username,
      password: 'wrong',
    });
    expect(retry.body).toContain('Invalid username or password.');
    expect(() => findSamlPostForm(retry)).toThrow(/no form with a SAMLResponse/);
    expect(findLoginForm(retry).action).toContain('/login-actions/authenticate');
  });

  it('serves another connector from the same server: a new client and user, persistent NameID, no email attribute', async () => {
    const other = { entityId: 'http://127.0.0.1:1/other-sp', acsUrl: 'http://127.0.0.1:1/other-acs' };
    const bob: KeycloakUser = {
      username: 'bob',
      password: 'another long password',
      email: 'bob@acme.example',
      firstName: 'Bob',
      lastName: 'Builder',
      attributes: { department: 'Sales' },
    };
    await keycloak.addSamlClient({
      spEntityId: other.entityId,
      acsUrl: other.acsUrl,
      nameIdFormat: 'persistent',
      attributeNames: { email: null },
      userAttributes: ['department'],
    });
    await keycloak.addUser(bob);

    const request = authnRequest(keycloak.ssoUrl, other);
    const browser = new Browser();
    const loginPage = await browser.get(request.url);
    const post = findSamlPostForm(
      await browser.submitForm(findLoginForm(loginPage), { username: bob.username, password: bob.password }),
    );
    expect(post.form.action).toBe(other.acsUrl);

    const { profile } = await serviceProvider(keycloak, request.id, other).validatePostResponseAsync({
      SAMLResponse: post.samlResponse,
    });
    expect(profile?.nameIDFormat).toBe('urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
    expect(profile?.nameID).not.toContain(bob.email);
    expect(profile?.email).toBeUndefined();
    expect(profile).toMatchObject({ firstName: bob.firstName, department: 'Sales' });
    expect(Buffer.from(post.samlResponse, 'base64').toString('utf8')).not.toContain(bob.email);
  });

  it('signs in again without a password while the IdP session lasts', async () => {
    const browser = new Browser();
    const first = await browser.get(authnRequest(keycloak.ssoUrl, SP).url);
    await browser.submitForm(findLoginForm(first), { username: ALICE.username, password: ALICE.password });

    const again = authnRequest(keycloak.ssoUrl, SP);
    const page = await browser.get(again.url);
    const post = findSamlPostForm(page);
    expect(Buffer.from(post.samlResponse, 'base64').toString('utf8')).toContain(`InResponseTo="${again.id}"`);
  });
});

/** An unsigned AuthnRequest in the HTTP-Redirect binding: deflate, base64, URL-encode. */
function authnRequest(
  ssoUrl: string,
  sp: { entityId: string; acsUrl: string },
): { id: string; relayState: string; url: string } {
  // IDs are xs:ID values, which must not start with a digit.
  const id = `_${randomBytes(16).toString('hex')}`;
  const relayState = randomBytes(8).toString('hex');
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
    ` ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${ssoUrl}"` +
    ` ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" AssertionConsumerServiceURL="${sp.acsUrl}">` +
    `<saml:Issuer>${sp.entityId}</saml:Issuer>` +
    `<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>` +
    `</samlp:AuthnRequest>`;
  const samlRequest = deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64');
  const query = new URLSearchParams({ SAMLRequest: samlRequest, RelayState: relayState });
  return { id, relayState, url: `${ssoUrl}?${query.toString()}` };
}

/**
 * node-saml as a service provider that accepts only signed answers to its own requests: to
 * `requestId` if given, else to the requests it builds itself.
 */
function serviceProvider(
  idp: KeycloakServer,
  requestId: string | undefined,
  sp = SP,
  settings: Partial<SamlConfig> = {},
): SAML {
  const certificate = /<(?:\w+:)?X509Certificate>([^<]+)<\//
    .exec(idp.idpMetadataXml)?.[1]
    ?.replace(/\s+/g, '');
  if (!certificate) throw new Error('no certificate in the IdP metadata');
  const pending = new Map<string, string>(requestId ? [[requestId, new Date().toISOString()]] : []);
  const cacheProvider: CacheProvider = {
    saveAsync: (key, value) => {
      pending.set(key, value);
      return Promise.resolve({ value, createdAt: Date.now() });
    },
    getAsync: (key) => Promise.resolve(pending.get(key) ?? null),
    removeAsync: (key) => {
      const value = key === null ? undefined : pending.get(key);
      if (key !== null) pending.delete(key);
      return Promise.resolve(value ?? null);
    },
  };
  return new SAML({
    callbackUrl: sp.acsUrl,
    entryPoint: idp.ssoUrl,
    issuer: sp.entityId,
    audience: sp.entityId,
    idpIssuer: idp.idpEntityId,
    idpCert: certificate,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider,
    ...settings,
  });
}
