// OpenID Connect sign-in end to end: the API, the real Temporal workflows and database, and a real
// OpenID provider (oidc-provider) on 127.0.0.1 shaped like Microsoft Entra ID (issuer
// `/{tenant}/v2.0`, claims tid/oid/preferred_username/email). Connections of type `entra-id` and
// `oidc`; JIT, linking, returning users, refusals, replays, forged nonces, expired tokens, key
// rotation, and the client secret never leaving the backend.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED_PATHS } from '../../logger';
import { spUrls } from '../../sso/connectorUrls';
import { signUpAndProve } from '../helpers/accounts';
import { createOrgWithKey, type OrgFixture } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import {
  authorizeAtProvider,
  oidcCallback,
  startOidcLogin,
  startOidcProvider,
  type TestOidcProvider,
} from '../helpers/oidcProvider';
import { verifyDomain } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';

let dns: TestDnsServer;
let mailbox: TestMailbox;
let idp: TestOidcProvider;
let stack: TestStack;
const logLines: string[] = [];
/** Every response body the API gave in this file, to look for the client secrets afterwards. */
const secretsUsed: string[] = [];

beforeAll(async () => {
  dns = await startDnsServer();
  mailbox = await startMailbox();
  idp = await startOidcProvider();
  const logger = pino(
    { level: 'trace', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  stack = await startTestStack(
    {
      SMTP_URL: mailbox.url,
      DNS_SERVERS: dns.address,
      DNS_TIMEOUT: '300ms',
      DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
      DOMAIN_VERIFICATION_MAX_INTERVAL: '1s',
      ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
      SIGN_IN_WAIT: '5s',
      ENTRA_AUTHORITY_HOST: idp.origin,
      // The provider listens on loopback, which the SSRF-safe fetch refuses by default.
      IDP_FETCH_ALLOWED_NETWORKS: '127.0.0.0/8',
      // No tolerance, so a token that expired a moment ago is refused.
      SAML_CLOCK_SKEW: '0s',
    },
    { logger },
  );
});

afterAll(async () => {
  await stack?.stop();
  await idp?.stop();
  await dns?.stop();
  await mailbox?.stop();
});

interface Connection {
  org: OrgFixture;
  domain: string;
  connectorId: string;
  clientSecret: string;
  callbackUrl: string;
}

async function createConnection(
  type: 'entra-id' | 'oidc' = 'entra-id',
  extra: Record<string, unknown> = {},
): Promise<Connection> {
  const org = await createOrgWithKey(stack.baseUrl);
  const domain = await verifyDomain(stack, dns, org);
  const clientId = `client-${randomUUID()}`;
  const clientSecret = `secret-${randomUUID()}`;
  secretsUsed.push(clientSecret);
  const settings =
    type === 'entra-id'
      ? { entra: { tenantId: idp.tenantId, clientId, clientSecret } }
      : { oidc: { issuer: idp.issuer, clientId, clientSecret } };
  const res = await request<{ id: string; sp: { oidcCallbackUrl: string }; oidc: Record<string, unknown> }>(
    stack.baseUrl,
    'POST',
    `/v1/orgs/${org.id}/connectors`,
    { token: org.key, body: { type, name: 'Entra', domains: [domain], ...settings, ...extra } },
  );
  expect(res.status).toBe(201);
  const callbackUrl = spUrls(stack.config.publicUrl, res.body.id).oidcCallbackUrl;
  expect(res.body.sp.oidcCallbackUrl).toBe(callbackUrl);
  idp.addClient({ clientId, clientSecret, redirectUri: callbackUrl });
  return { org, domain, connectorId: res.body.id, clientSecret, callbackUrl };
}

const person = (domain: string) => `p${Math.random().toString(36).slice(2, 9)}@${domain}`;

function entraAccount(connection: Connection, claims: Record<string, unknown> = {}) {
  const email = person(connection.domain);
  const oid = randomUUID();
  const id = idp.setAccount({ tid: idp.tenantId, oid, email, preferred_username: email, ...claims });
  return { id, oid, email };
}

/** A full sign-in in a fresh browser; `tamper` may change the authorization request first. */
async function signIn(connection: Connection, accountId: string, tamper?: (url: URL) => void) {
  idp.loginAs(accountId);
  const login = await startOidcLogin(stack, connection.connectorId);
  tamper?.(login.authorizationUrl);
  const callback = await authorizeAtProvider(login.authorizationUrl, connection.callbackUrl);
  const result = await oidcCallback(stack, callback, login.bindingCookie);
  return { ...result, callback, cookie: login.bindingCookie };
}

async function orgUser(connection: Connection, userId: string) {
  const res = await request<{
    id: string;
    email: string;
    name: string | null;
    ssoIdentities: { connectorId: string; subject: string; profile: Record<string, unknown> }[];
  }>(stack.baseUrl, 'GET', `/v1/orgs/${connection.org.id}/users/${userId}`, { token: connection.org.key });
  expect(res.status).toBe(200);
  return res.body;
}

async function me(token: string | undefined) {
  const res = await request<{ id: string; amr: string[]; connectorId: string }>(
    stack.baseUrl,
    'GET',
    '/v1/me',
    {
      token: token ?? 'none',
    },
  );
  expect(res.status).toBe(200);
  return res.body;
}

describe('Entra ID and OIDC connections', () => {
  it('creates an Entra ID connection from discovery and shows the redirect URI, never the secret', async () => {
    const connection = await createConnection();
    const view = await request<Record<string, unknown>>(
      stack.baseUrl,
      'GET',
      `/v1/orgs/${connection.org.id}/connectors/${connection.connectorId}`,
      { token: connection.org.key },
    );
    expect(view.body).toMatchObject({
      type: 'entra-id',
      oidc: { issuer: idp.issuer, tenantId: idp.tenantId, hasClientSecret: true },
      sp: { oidcCallbackUrl: connection.callbackUrl },
    });
    expect(JSON.stringify(view.body)).not.toContain(connection.clientSecret);
    const stored = await stack.services.c.connectors.findOne({ _id: connection.connectorId as never });
    expect(JSON.stringify(stored)).not.toContain(connection.clientSecret);
  });

  it('serves no SAML metadata for an OIDC connection', async () => {
    const connection = await createConnection();
    const metadata = await request(stack.baseUrl, 'GET', `/v1/sso/${connection.connectorId}/metadata`);
    expect(metadata.status).toBe(404);
    expect(metadata.body).toMatchObject({ code: 'not_found' });
  });

  it('refuses a multi-tenant authority instead of a tenant ID', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const domain = await verifyDomain(stack, dns, org);
    const res = await request(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/connectors`, {
      token: org.key,
      body: {
        type: 'entra-id',
        name: 'x',
        domains: [domain],
        entra: { tenantId: 'common', clientId: 'c', clientSecret: 's' },
      },
    });
    expect(res).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it('answers idp_unavailable for a provider that cannot be reached, idp_metadata_invalid for a bad document', async () => {
    const org = await createOrgWithKey(stack.baseUrl);
    const domain = await verifyDomain(stack, dns, org);
    const create = (issuer: string) =>
      request(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/connectors`, {
        token: org.key,
        body: {
          type: 'oidc',
          name: 'x',
          domains: [domain],
          oidc: { issuer, clientId: 'c', clientSecret: 's' },
        },
      });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await create(`http://127.0.0.1:${closedPort}/tenant`)).toMatchObject({
      status: 502,
      body: { code: 'idp_unavailable' },
    });

    // A document naming another issuer than the one asked for (a mix-up waiting to happen).
    const impostor: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: idp.issuer, authorization_endpoint: `${idp.issuer}/auth` }));
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const port = (impostor.address() as AddressInfo).port;
    expect(await create(`http://127.0.0.1:${port}/impostor`)).toMatchObject({
      status: 422,
      body: { code: 'idp_metadata_invalid' },
    });
    impostor.close();
  });
});

describe('signing in through Entra ID', () => {
  it('provisions a new user just in time, keyed by tenant and object ID, with the other claims on the profile', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection, { name: 'Ada Lovelace', roles: ['Admin'] });
    const res = await signIn(connection, account.id);
    expect(res).toMatchObject({ status: 303, location: 'https://app.example.test/home' });
    const session = await me(res.sessionToken);
    expect(session).toMatchObject({ amr: ['sso'], connectorId: connection.connectorId });
    const user = await orgUser(connection, session.id);
    expect(user).toMatchObject({ email: account.email, name: 'Ada Lovelace' });
    expect(user.ssoIdentities).toHaveLength(1);
    expect(user.ssoIdentities[0]?.subject).toBe(`${idp.tenantId}:${account.oid}`);
    expect(user.ssoIdentities[0]?.profile).toMatchObject({
      roles: ['Admin'],
      tid: idp.tenantId,
      oid: account.oid,
    });
    expect(user.ssoIdentities[0]?.profile).not.toHaveProperty('nonce');
    expect(user.ssoIdentities[0]?.profile).not.toHaveProperty('exp');
  });

  it('links a proven personal account with the same email, which keeps its user ID', async () => {
    const connection = await createConnection();
    const email = person(connection.domain);
    const personal = await signUpAndProve(stack, mailbox, { email, password: 'correct horse battery' });
    const account = entraAccount(connection, { email, preferred_username: email });
    const res = await signIn(connection, account.id);
    expect(res.status).toBe(303);
    expect((await me(res.sessionToken)).id).toBe(personal.id);
  });

  it('signs a returning user in as the same user and refreshes the identity profile', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection, { roles: ['Reader'] });
    const first = await signIn(connection, account.id);
    const userId = (await me(first.sessionToken)).id;
    idp.setAccount(
      { tid: idp.tenantId, oid: account.oid, email: account.email, roles: ['Writer'] },
      account.id,
    );
    const second = await signIn(connection, account.id);
    expect(second.status).toBe(303);
    expect((await me(second.sessionToken)).id).toBe(userId);
    const user = await orgUser(connection, userId);
    expect(user.ssoIdentities[0]?.profile).toMatchObject({ roles: ['Writer'] });
  });

  it('uses preferred_username as the email only inside a verified domain', async () => {
    const connection = await createConnection();
    const upn = person(connection.domain);
    const inside = idp.setAccount({ tid: idp.tenantId, oid: randomUUID(), preferred_username: upn });
    const ok = await signIn(connection, inside);
    expect(ok.status).toBe(303);
    expect((await orgUser(connection, (await me(ok.sessionToken)).id)).email).toBe(upn);

    const outside = idp.setAccount({
      tid: idp.tenantId,
      oid: randomUUID(),
      preferred_username: 'someone@elsewhere.example',
    });
    const refused = await signIn(connection, outside);
    expect(refused).toMatchObject({ status: 422, body: { code: 'email_missing' } });
  });

  it('refuses a token from another tenant and creates nothing', async () => {
    const connection = await createConnection();
    const users = await stack.services.c.users.countDocuments();
    const stranger = entraAccount(connection, { tid: randomUUID() });
    const res = await signIn(connection, stranger.id);
    expect(res).toMatchObject({ status: 403, body: { code: 'oidc_tenant_mismatch' } });
    expect(res.sessionToken).toBeUndefined();
    expect(await stack.services.c.users.countDocuments()).toBe(users);
  });

  it('accepts each state once: a replayed or doubled callback is refused', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection);
    const first = await signIn(connection, account.id);
    expect(first.status).toBe(303);
    const replay = await oidcCallback(stack, first.callback, first.cookie);
    expect(replay).toMatchObject({ status: 400, body: { code: 'oidc_state_invalid' } });

    // The same answer arriving twice at once (two tabs, two API replicas): one signs in.
    idp.loginAs(account.id);
    const login = await startOidcLogin(stack, connection.connectorId);
    const callback = await authorizeAtProvider(login.authorizationUrl, connection.callbackUrl);
    const both = await Promise.all([
      oidcCallback(stack, callback, login.bindingCookie),
      oidcCallback(stack, callback, login.bindingCookie),
    ]);
    expect(both.map((res) => res.status).sort()).toEqual([303, 400]);
    expect(both.find((res) => res.status === 400)?.body).toMatchObject({ code: 'oidc_state_invalid' });
  });

  it('answers oidc_idp_error when the provider sends an error instead of a code', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection);
    // No session at the provider and no prompt allowed: it answers login_required.
    const res = await signIn(connection, account.id, (url) => url.searchParams.set('prompt', 'none'));
    expect(res).toMatchObject({ status: 400, body: { code: 'oidc_idp_error' } });
    expect(res.body.title).toContain('login_required');
  });

  it('refuses a callback whose state this backend never issued', async () => {
    const connection = await createConnection();
    const res = await oidcCallback(
      stack,
      new URL(`${connection.callbackUrl}?code=abc&state=${randomUUID()}`),
      undefined,
    );
    expect(res).toMatchObject({ status: 400, body: { code: 'oidc_state_invalid' } });
  });

  it('refuses an ID token with another nonce than the one the sign-in started with', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection);
    const res = await signIn(connection, account.id, (url) => url.searchParams.set('nonce', 'forged-nonce'));
    expect(res).toMatchObject({ status: 400, body: { code: 'oidc_token_invalid' } });
    expect(res.body.title).toContain('OAUTH_JWT_CLAIM_COMPARISON_FAILED');
  });

  it('refuses an expired ID token', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection);
    idp.idTokenTtlSeconds = 1;
    idp.tokenDelayMs = 2_100;
    try {
      const res = await signIn(connection, account.id);
      expect(res).toMatchObject({ status: 400, body: { code: 'oidc_token_invalid' } });
      expect(res.body.title).toContain('OAUTH_JWT_TIMESTAMP_CHECK_FAILED');
    } finally {
      idp.idTokenTtlSeconds = 3600;
      idp.tokenDelayMs = 0;
    }
  });

  it('refuses an ID token whose signature the published key does not verify', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection);
    idp.forgeJwks = true;
    try {
      const res = await signIn(connection, account.id);
      expect(res).toMatchObject({ status: 400, body: { code: 'oidc_token_invalid' } });
    } finally {
      idp.forgeJwks = false;
    }
  });

  it('picks up a rotated signing key between two sign-ins, without a restart', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection);
    expect((await signIn(connection, account.id)).status).toBe(303);
    const fetched = idp.jwksFetches();
    // Cached: the next sign-in with the same key does not fetch the JWKS again.
    expect((await signIn(connection, account.id)).status).toBe(303);
    expect(idp.jwksFetches()).toBe(fetched);
    const before = idp.currentKid();
    idp.rotateKeys();
    expect(idp.currentKid()).not.toBe(before);
    expect((await signIn(connection, account.id)).status).toBe(303);
    expect(idp.jwksFetches()).toBe(fetched + 1);
  });

  it('takes a new client secret by PATCH and uses it at once', async () => {
    const connection = await createConnection();
    const account = entraAccount(connection);
    const patch = (body: Record<string, unknown>) =>
      request(stack.baseUrl, 'PATCH', `/v1/orgs/${connection.org.id}/connectors/${connection.connectorId}`, {
        token: connection.org.key,
        body,
      });
    const wrong = `wrong-${randomUUID()}`;
    secretsUsed.push(wrong);
    const changed = await patch({ entra: { clientSecret: wrong } });
    expect(changed).toMatchObject({ status: 200, body: { oidc: { hasClientSecret: true } } });
    expect(JSON.stringify(changed.body)).not.toContain(wrong);
    expect(await signIn(connection, account.id)).toMatchObject({
      status: 400,
      body: { code: 'oidc_code_rejected' },
    });
    expect((await patch({ entra: { clientSecret: connection.clientSecret } })).status).toBe(200);
    expect((await signIn(connection, account.id)).status).toBe(303);
    expect(await patch({ oidc: { clientSecret: 'x' } })).toMatchObject({
      status: 400,
      body: { code: 'validation_failed' },
    });
  });
});

describe('signing in through a generic OIDC connection', () => {
  it('provisions by sub', async () => {
    const connection = await createConnection('oidc');
    const email = person(connection.domain);
    const id = idp.setAccount({ email, name: 'Grace Hopper' });
    const res = await signIn(connection, id);
    expect(res.status).toBe(303);
    const user = await orgUser(connection, (await me(res.sessionToken)).id);
    expect(user).toMatchObject({ email, name: 'Grace Hopper' });
    expect(user.ssoIdentities[0]?.subject).toBe(id);
  });

  it('refuses a sign-in without an email for a new identity', async () => {
    const connection = await createConnection('oidc');
    const id = idp.setAccount({ preferred_username: person(connection.domain) });
    expect(await signIn(connection, id)).toMatchObject({ status: 422, body: { code: 'email_missing' } });
  });
});

describe('sign-in diagnostics', () => {
  interface Attempt {
    protocol: string;
    outcome: string;
    path: string | null;
    code: string | null;
    hint: string | null;
    details: Record<string, unknown> | null;
  }
  async function attempts(connection: Connection) {
    const res = await request<{ attempts: Attempt[] }>(
      stack.baseUrl,
      'GET',
      `/v1/orgs/${connection.org.id}/connectors/${connection.connectorId}/sign-in-attempts`,
      { token: connection.org.key },
    );
    expect(res.status).toBe(200);
    return res.body.attempts;
  }

  it('records a refused and a successful OIDC sign-in, newest first', async () => {
    const connection = await createConnection();
    const stranger = entraAccount(connection, { tid: randomUUID() });
    expect(await signIn(connection, stranger.id)).toMatchObject({ status: 403 });
    const account = entraAccount(connection);
    expect((await signIn(connection, account.id)).status).toBe(303);
    const replayed = await oidcCallback(
      stack,
      new URL(`${connection.callbackUrl}?code=abc&state=${randomUUID()}`),
      undefined,
    );
    expect(replayed.status).toBe(400);
    const recorded = await attempts(connection);
    expect(recorded).toMatchObject([
      { protocol: 'oidc', outcome: 'failed', code: 'oidc_state_invalid' },
      { protocol: 'oidc', outcome: 'succeeded', path: 'jit', code: null },
      {
        protocol: 'oidc',
        outcome: 'failed',
        code: 'oidc_tenant_mismatch',
        details: { expectedTenant: idp.tenantId },
      },
    ]);
    expect(recorded[2]?.hint).toMatch(
      /^tenant mismatch: the ID token comes from the Entra tenant "[0-9a-f-]{36}"/,
    );
  });

  it('refuses an ID token whose email claim gives two addresses (rule 11) and says so', async () => {
    const connection = await createConnection('oidc');
    const users = await stack.services.c.users.countDocuments();
    const id = idp.setAccount({ email: [person(connection.domain), person(connection.domain)] });
    const res = await signIn(connection, id);
    expect(res).toMatchObject({ status: 422, body: { code: 'sso_ambiguous_identity' } });
    expect(await stack.services.c.users.countDocuments()).toBe(users);
    const [attempt] = await attempts(connection);
    expect(attempt).toMatchObject({
      code: 'sso_ambiguous_identity',
      details: { ambiguous: { source: 'email', names: ['email'], distinctValues: 2 } },
    });
  });

  it('names the claims a token without an email carried, without their values', async () => {
    const connection = await createConnection('oidc');
    const username = person(connection.domain);
    const id = idp.setAccount({ preferred_username: username, name: 'Grace Hopper' });
    expect(await signIn(connection, id)).toMatchObject({ status: 422, body: { code: 'email_missing' } });
    const [attempt] = await attempts(connection);
    expect(attempt).toMatchObject({ code: 'email_missing' });
    expect(attempt?.details?.attributeNames).toEqual(expect.arrayContaining(['sub', 'preferred_username']));
    expect(JSON.stringify(attempt)).not.toMatch(new RegExp(`${username}|Grace Hopper`));
  });
});

describe('the client secret', () => {
  it('appears in no log line of the API or the worker', () => {
    expect(secretsUsed.length).toBeGreaterThan(3);
    expect(logLines.length).toBeGreaterThan(10);
    const logs = logLines.join('\n');
    for (const secret of secretsUsed) expect(logs).not.toContain(secret);
  });
});
