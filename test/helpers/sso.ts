// SSO test fixtures: an organization with a verified domain (through the real verification
// workflow and a real DNS server) and a SAML connection to the signing test IdP.
import { inflateRawSync } from 'node:zlib';
import { expect } from 'vitest';
import { spUrls } from '../../sso/connectorUrls';
import { createOrgWithKey, uniqueDomain, type OrgFixture } from './admin';
import { startDnsServer, type TestDnsServer } from './dnsServer';
import { request } from './http';
import { TEST_IDP, buildSamlResponse, idpMetadataXml, type SamlResponseOptions } from './samlIdp';
import { startTestStack, type TestStack } from './stack';
import { eventually } from './wait';

export interface SsoFixture {
  org: OrgFixture;
  domain: string;
  connectorId: string;
  acsUrl: string;
  spEntityId: string;
}

export async function verifyDomain(
  stack: TestStack,
  dns: TestDnsServer,
  org: OrgFixture,
  domain = uniqueDomain(),
): Promise<string> {
  const added = await request<{ id: string; txtRecord: { name: string; value: string } }>(
    stack.baseUrl,
    'POST',
    `/v1/orgs/${org.id}/domains`,
    { token: org.key, body: { domain } },
  );
  expect(added.status).toBe(201);
  dns.setTxt(added.body.txtRecord.name, [added.body.txtRecord.value]);
  await request(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/domains/${added.body.id}/verify`, {
    token: org.key,
  });
  await eventually(async () => {
    const view = await request<{ status: string }>(
      stack.baseUrl,
      'GET',
      `/v1/orgs/${org.id}/domains/${added.body.id}`,
      { token: org.key },
    );
    return view.body.status === 'verified' ? true : undefined;
  }, `domain ${domain} to be verified`);
  return domain;
}

export interface ConnectorView {
  id: string;
  sp: { entityId: string; acsUrl: string };
  saml: { entityId: string; ssoUrl: string; metadataUrl: string | null; certificates: { sha256: string }[] };
}

/** POST /v1/orgs/:orgId/connectors as the org admin; `type` defaults to saml. */
export function postConnector(stack: TestStack, org: OrgFixture, body: Record<string, unknown>) {
  return request<ConnectorView>(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/connectors`, {
    token: org.key,
    body: { type: 'saml', ...body },
  });
}

export async function createSamlConnection(
  stack: TestStack,
  dns: TestDnsServer,
  options: {
    jit?: { enabled: boolean; defaultRole?: string };
    attributeMapping?: Record<string, string[]>;
  } = {},
): Promise<SsoFixture> {
  const org = await createOrgWithKey(stack.baseUrl);
  const domain = await verifyDomain(stack, dns, org);
  const res = await postConnector(stack, org, {
    name: 'Test IdP',
    domains: [domain],
    saml: { metadataXml: idpMetadataXml() },
    ...(options.jit ? { jit: options.jit } : {}),
    ...(options.attributeMapping ? { attributeMapping: options.attributeMapping } : {}),
  });
  expect(res.status).toBe(201);
  const sp = spUrls(stack.config.publicUrl, res.body.id);
  expect(res.body.sp).toMatchObject({ acsUrl: sp.acsUrl, entityId: sp.entityId });
  return { org, domain, connectorId: res.body.id, acsUrl: sp.acsUrl, spEntityId: sp.entityId };
}

export interface StartedLogin {
  requestId: string;
  relayState: string;
  location: URL;
  bindingCookie?: string;
}

export async function startLogin(
  stack: Pick<TestStack, 'baseUrl'>,
  connectorId: string,
  returnTo = 'https://app.example.test/home',
  /** Cookies the browser already holds, as a `cookie` header. */
  cookie?: string,
): Promise<StartedLogin> {
  const res = await request(
    stack.baseUrl,
    'GET',
    `/v1/sso/${connectorId}/login?returnTo=${encodeURIComponent(returnTo)}`,
    cookie ? { headers: { cookie } } : {},
  );
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  expect(location.origin + location.pathname).toBe(TEST_IDP.ssoUrl);
  const authnRequest = inflateRawSync(
    Buffer.from(location.searchParams.get('SAMLRequest') ?? '', 'base64'),
  ).toString('utf8');
  const requestId = /\sID="([^"]+)"/.exec(authnRequest)?.[1];
  expect(requestId).toBeDefined();
  // The browser-binding cookie, as a browser would send it back with the IdP's POST.
  const bindingCookie = /((?:__Host-)?sso_binding=[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  return {
    requestId: requestId!,
    relayState: location.searchParams.get('RelayState') ?? '',
    location,
    ...(bindingCookie ? { bindingCookie } : {}),
  };
}

export function responseFor(
  fixture: SsoFixture,
  login: StartedLogin,
  options: SamlResponseOptions = {},
): string {
  return buildSamlResponse({
    inResponseTo: login.requestId,
    destination: fixture.acsUrl,
    recipient: fixture.acsUrl,
    audience: fixture.spEntityId,
    ...options,
  });
}

export async function postAcs(
  stack: Pick<TestStack, 'baseUrl'>,
  connectorId: string,
  fields: Record<string, string>,
  cookie?: string,
) {
  const res = await fetch(`${stack.baseUrl}/v1/sso/${connectorId}/acs`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // a redirect has no JSON body
  }
  const sessionToken = /sso_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  return { status: res.status, location: res.headers.get('location'), body, sessionToken };
}

/** A complete SP-initiated sign-in: login redirect, signed response, ACS post. */
export async function signIn(stack: TestStack, fixture: SsoFixture, options: SamlResponseOptions = {}) {
  const login = await startLogin(stack, fixture.connectorId);
  return postAcs(
    stack,
    fixture.connectorId,
    { SAMLResponse: responseFor(fixture, login, options), RelayState: login.relayState },
    login.bindingCookie,
  );
}

export interface SsoStack {
  dns: TestDnsServer;
  stack: TestStack;
  fixture: SsoFixture;
  stop(): Promise<void>;
}

/**
 * A test stack whose DNS server the test controls, with an organization, its verified domain and
 * a SAML connection (createSamlConnection), for suites that sign people in through the ACS.
 */
export async function startSsoStack(
  env: Record<string, string> = {},
  connection: Parameters<typeof createSamlConnection>[2] = {},
): Promise<SsoStack> {
  const dns = await startDnsServer();
  const stack = await startTestStack({
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
    ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
    ...env,
  });
  const fixture = await createSamlConnection(stack, dns, connection);
  return {
    dns,
    stack,
    fixture,
    stop: async () => {
      await stack.stop();
      await dns.stop();
    },
  };
}
