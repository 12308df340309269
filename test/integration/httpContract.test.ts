// Every route of the HTTP contract, fed wrong input: each answers a 4xx problem+json with a stable
// code, and every org-scoped admin route refuses a missing token (401) and another org's key (403).
// The document describes every route and every answer; helpers/http.ts checks each real answer
// of the integration suite against it.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgWithKey, type OrgFixture } from '../helpers/admin';
import { request } from '../helpers/http';
import { apiRouters, createApp } from '../../api/app';
import type { ApiDeps } from '../../api/context';
import { freePorts } from '../../servers/ports';
import { OPERATOR_TOKEN, startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let mine: OrgFixture;
let other: OrgFixture;
const FAKE = { dom: `dom_${'a'.repeat(32)}`, con: `con_${'b'.repeat(32)}`, usr: `usr_${'c'.repeat(32)}` };

beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  [mine, other] = await Promise.all([createOrgWithKey(stack.baseUrl), createOrgWithKey(stack.baseUrl)]);
});
afterAll(async () => {
  await stack?.stop();
});

/** Paths name the caller's organization as :org. */
type Case = [method: string, path: string, body: unknown, status: number, code: string];
const at = (path: string, orgId: string) => path.replace(':org', orgId);

/** Wrong input with valid credentials (the org's own key, or the operator token where required). */
const wrongInput: Case[] = [
  ['POST', '/v1/orgs', { name: 'x', plan: 'platinum' }, 400, 'validation_failed'],
  ['PATCH', `/v1/orgs/:org`, { plan: 42 }, 400, 'validation_failed'],
  ['PATCH', `/v1/orgs/:org`, {}, 400, 'validation_failed'],
  ['POST', `/v1/orgs/org_${'0'.repeat(32)}/api-keys`, undefined, 404, 'not_found'],
  ['POST', `/v1/orgs/:org/domains`, { domain: 'localhost' }, 400, 'domain_invalid'],
  ['POST', `/v1/orgs/:org/domains`, { name: 'acme.com' }, 400, 'validation_failed'],
  ['GET', `/v1/orgs/:org/domains/not-an-id`, undefined, 400, 'validation_failed'],
  ['GET', `/v1/orgs/:org/domains/${FAKE.dom}`, undefined, 404, 'not_found'],
  ['POST', `/v1/orgs/:org/domains/${FAKE.dom}/verify`, undefined, 404, 'not_found'],
  ['DELETE', `/v1/orgs/:org/domains/${FAKE.dom}`, undefined, 404, 'not_found'],
  [
    'POST',
    `/v1/orgs/:org/connectors`,
    { type: 'oidc', name: 'x', domains: ['a.example.com'] },
    400,
    'validation_failed',
  ],
  [
    'POST',
    `/v1/orgs/:org/connectors`,
    { type: 'saml', name: 'x', domains: [], saml: {} },
    400,
    'validation_failed',
  ],
  ['GET', `/v1/orgs/:org/connectors/${FAKE.con}`, undefined, 404, 'not_found'],
  ['PATCH', `/v1/orgs/:org/connectors/${FAKE.con}`, { enforced: 'yes' }, 400, 'validation_failed'],
  ['DELETE', `/v1/orgs/:org/connectors/${FAKE.con}`, undefined, 404, 'not_found'],
  ['DELETE', `/v1/orgs/:org/connectors/not-a-connection`, undefined, 400, 'validation_failed'],
  ['POST', `/v1/orgs/:org/connectors/${FAKE.con}/restore`, undefined, 404, 'not_found'],
  ['GET', `/v1/orgs/:org/connectors/${FAKE.con}/teardown`, undefined, 404, 'not_found'],
  ['POST', `/v1/orgs/:org/connectors/${FAKE.con}/teardown/expedite`, undefined, 404, 'not_found'],
  ['GET', `/v1/orgs/:org/users/${FAKE.usr}`, undefined, 404, 'not_found'],
  ['GET', `/v1/orgs/:org/users/someone`, undefined, 400, 'validation_failed'],
  ['GET', `/v1/orgs/:org/provisioning?status=gone`, undefined, 400, 'validation_failed'],
  ['GET', `/v1/orgs/:org/connectors/${FAKE.con}/sign-in-attempts`, undefined, 404, 'not_found'],
  [
    'GET',
    `/v1/orgs/:org/connectors/${FAKE.con}/sign-in-attempts?outcome=maybe`,
    undefined,
    400,
    'validation_failed',
  ],
  [
    'GET',
    `/v1/orgs/:org/connectors/${FAKE.con}/sign-in-attempts?limit=201`,
    undefined,
    400,
    'validation_failed',
  ],
  ['GET', `/v1/orgs/:org/audit-events?limit=0`, undefined, 400, 'validation_failed'],
  ['GET', `/v1/orgs/:org/audit-events?from=yesterday`, undefined, 400, 'validation_failed'],
  ['GET', `/v1/orgs/:org/audit-events?actor=someone@example.com`, undefined, 400, 'validation_failed'],
  ['GET', `/v1/orgs/:org/audit-events?cursor=bm90LWEtY3Vyc29y`, undefined, 400, 'validation_failed'],
  ['GET', '/metrics', undefined, 401, 'unauthorized'],
  ['POST', `/v1/orgs/:org/provisioning/whatever/retry`, undefined, 400, 'validation_failed'],
  ['POST', '/v1/auth/sign-up', { email: 'a@b.example.com' }, 400, 'validation_failed'],
  ['POST', '/v1/auth/sign-up/verify', { email: 'a@b.example.com', code: 'abcdef' }, 400, 'validation_failed'],
  [
    'POST',
    '/v1/auth/sign-up/verify',
    { email: 'a@b.example.com', code: '123456' },
    401,
    'email_code_invalid',
  ],
  [
    'POST',
    '/v1/auth/password',
    { email: 'a@b.example.com', password: 'x', totp: 'abc' },
    400,
    'validation_failed',
  ],
  ['POST', '/v1/auth/identify', { email: 'no at sign' }, 400, 'email_invalid'],
  ['POST', '/v1/auth/password/setup/start', { email: 'no at sign' }, 400, 'email_invalid'],
  ['POST', '/v1/auth/password/setup', { token: 'short', password: 'long enough' }, 400, 'validation_failed'],
  [
    'POST',
    '/v1/auth/password/setup',
    { token: 'a'.repeat(43), password: 'long enough' },
    400,
    'setup_token_invalid',
  ],
  ['POST', '/v1/auth/email-code/start', { email: 'x' }, 400, 'validation_failed'],
  ['POST', '/v1/auth/email-code/start', { email: 'no at sign' }, 400, 'email_invalid'],
  ['POST', '/v1/auth/email-code/verify', { email: 'a@b.example.com', code: '12' }, 400, 'validation_failed'],
  [
    'POST',
    '/v1/auth/email-code/verify',
    { email: 'a@b.example.com', code: '123456' },
    401,
    'email_code_invalid',
  ],
  ['POST', '/v1/me/mfa/totp', undefined, 401, 'unauthorized'],
  ['POST', '/v1/me/mfa/totp/confirm', { code: '123456' }, 401, 'unauthorized'],
  ['POST', '/v1/me/mfa/totp/disable', { code: '123456' }, 401, 'unauthorized'],
  ['PUT', `/v1/orgs/:org/break-glass/not-a-user`, undefined, 400, 'validation_failed'],
  ['PUT', `/v1/orgs/:org/break-glass/${FAKE.usr}`, undefined, 404, 'not_found'],
  ['DELETE', `/v1/orgs/:org/break-glass/${FAKE.usr}`, undefined, 404, 'not_found'],
  ['GET', '/v1/sso/not-a-connector/login', undefined, 400, 'validation_failed'],
  ['GET', `/v1/sso/${FAKE.con}/login`, undefined, 404, 'not_found'],
  ['POST', `/v1/sso/${FAKE.con}/acs`, undefined, 404, 'not_found'],
  ['GET', `/v1/sso/${FAKE.con}/metadata`, undefined, 404, 'not_found'],
  ['GET', `/v1/sso/${FAKE.con}/callback?code=c&state=s`, undefined, 404, 'not_found'],
  ['GET', '/v1/sso/not-a-connector/callback', undefined, 400, 'validation_failed'],
  ['GET', '/v1/me', undefined, 401, 'unauthorized'],
  ['PUT', '/v1/orgs', {}, 405, 'method_not_allowed'],
];

function stackDeps(): ApiDeps {
  return {
    config: stack.config,
    db: stack.services.mongo.db,
    c: stack.services.c,
    temporal: stack.services.temporal,
    logger: stack.services.logger,
    clock: stack.services.clock,
    keys: stack.services.keys,
  };
}

const OPERATOR_ROUTES = new Set(['/v1/orgs', '/api-keys', '/teardown/expedite']);
const needsOperator = (method: string, path: string) =>
  [...OPERATOR_ROUTES].some((tail) => path.endsWith(tail)) ||
  (method === 'PATCH' && /^\/v1\/orgs\/[^/]+$/.test(path));

describe('wrong input', () => {
  it.each(wrongInput)('%s %s answers a problem with a code', async (method, path, body, status, code) => {
    const target = at(path, mine.id);
    const token = needsOperator(method, target) ? OPERATOR_TOKEN : mine.key;
    const res = await request(stack.baseUrl, method, target, {
      token,
      ...(body === undefined ? {} : { body }),
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status, code, instance: expect.any(String) as string });
  });
});

const orgRoutes: [string, string][] = [
  ['GET', `/v1/orgs/:org`],
  ['GET', `/v1/orgs/:org/domains`],
  ['POST', `/v1/orgs/:org/domains`],
  ['GET', `/v1/orgs/:org/domains/${FAKE.dom}`],
  ['POST', `/v1/orgs/:org/domains/${FAKE.dom}/verify`],
  ['DELETE', `/v1/orgs/:org/domains/${FAKE.dom}`],
  ['GET', `/v1/orgs/:org/connectors`],
  ['POST', `/v1/orgs/:org/connectors`],
  ['GET', `/v1/orgs/:org/connectors/${FAKE.con}`],
  ['PATCH', `/v1/orgs/:org/connectors/${FAKE.con}`],
  ['DELETE', `/v1/orgs/:org/connectors/${FAKE.con}`],
  ['POST', `/v1/orgs/:org/connectors/${FAKE.con}/restore`],
  ['GET', `/v1/orgs/:org/connectors/${FAKE.con}/teardown`],
  ['POST', `/v1/orgs/:org/connectors/${FAKE.con}/teardown/expedite`],
  ['GET', `/v1/orgs/:org/users/${FAKE.usr}`],
  ['GET', `/v1/orgs/:org/provisioning`],
  ['GET', `/v1/orgs/:org/connectors/${FAKE.con}/sign-in-attempts`],
  ['GET', `/v1/orgs/:org/audit-events`],
  ['GET', `/v1/orgs/:org/break-glass`],
  ['PUT', `/v1/orgs/:org/break-glass/${FAKE.usr}`],
  ['DELETE', `/v1/orgs/:org/break-glass/${FAKE.usr}`],
];

describe('credentials on org routes', () => {
  it.each(orgRoutes)('%s %s needs a token', async (method, path) => {
    const res = await request(stack.baseUrl, method, at(path, mine.id), method === 'GET' ? {} : { body: {} });
    expect(res).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
  });

  it.each(orgRoutes)("%s %s refuses another organization's key", async (method, path) => {
    const res = await request(stack.baseUrl, method, at(path, mine.id), {
      token: other.key,
      ...(method === 'GET' ? {} : { body: {} }),
    });
    expect(res).toMatchObject({ status: 403, body: { code: 'forbidden' } });
  });
});

describe('OpenAPI document', () => {
  it('describes exactly the routes the API serves', async () => {
    const res = await request<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
      stack.baseUrl,
      'GET',
      '/openapi.json',
    );
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const documented = Object.entries(res.body.paths)
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
    const served = apiRouters(stackDeps())
      .flatMap((router) => router.stack)
      .flatMap((layer) =>
        layer.methods
          .filter((method) => method !== 'HEAD')
          .map((method) => `${method} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`),
      )
      .sort();
    expect(documented).toEqual(served);
  });

  it('takes its request bodies from the schemas the routes validate with', async () => {
    const res = await request<{
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: { required?: string[] } }> } }>
      >;
    }>(stack.baseUrl, 'GET', '/openapi.json');
    const createOrg = res.body.paths['/v1/orgs']?.post?.requestBody?.content['application/json']?.schema;
    expect(createOrg?.required).toEqual(['name', 'plan']);
  });
});

interface DocumentedResponse {
  content?: Record<string, { schema?: Record<string, unknown> }>;
  headers?: Record<string, unknown>;
}

describe('declared responses', () => {
  it('gives every operation its answers: a body schema, a content type, no content or a Location', async () => {
    const res = await request<{
      paths: Record<string, Record<string, { responses: Record<string, DocumentedResponse> }>>;
    }>(stack.baseUrl, 'GET', '/openapi.json');
    const operations = Object.entries(res.body.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, operation]) => ({ route: `${method} ${path}`, operation })),
    );
    expect(operations.length).toBeGreaterThan(20);
    for (const { route, operation } of operations) {
      const answers = Object.entries(operation.responses);
      const successes = answers.filter(([status]) => Number(status) < 400);
      expect(successes.length, route).toBeGreaterThan(0);
      for (const [status, answer] of successes) {
        if (status === '204') expect(answer.content, route).toBeUndefined();
        else if (status.startsWith('3')) expect(answer.headers, route).toHaveProperty('Location');
        else expect(Object.values(answer.content ?? {})[0]?.schema, `${route} ${status}`).toBeDefined();
      }
      const problems = answers.filter(([status]) => Number(status) >= 400);
      expect(problems.map(([status]) => status)).toContain('500');
      for (const [status, answer] of problems) {
        expect(answer.content?.['application/problem+json']?.schema, `${route} ${status}`).toEqual({
          $ref: '#/components/schemas/Problem',
        });
      }
    }
  });

  it('declares JSON bodies closed, so an undeclared field cannot slip out', async () => {
    const res = await request<{
      paths: Record<string, Record<string, { responses: Record<string, DocumentedResponse> }>>;
    }>(stack.baseUrl, 'GET', '/openapi.json');
    const closed = (schema: Record<string, unknown>): boolean =>
      schema.additionalProperties === false ||
      ((schema.oneOf ?? schema.anyOf) as Record<string, unknown>[] | undefined)?.every(closed) === true;
    for (const [path, byMethod] of Object.entries(res.body.paths)) {
      if (path === '/openapi.json') continue;
      for (const [method, operation] of Object.entries(byMethod)) {
        for (const [status, answer] of Object.entries(operation.responses)) {
          const schema = answer.content?.['application/json']?.schema;
          if (schema) expect(closed(schema), `${method} ${path} ${status}`).toBe(true);
        }
      }
    }
  });

  it('answers a problem with the failing checks when Temporal does not answer', async () => {
    // A real client aimed at a port nobody listens on: Temporal is down, MongoDB is up.
    const [port] = await freePorts(1);
    const temporal = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${port}` }) });
    const handle = createApp({ ...stackDeps(), temporal }).callback();
    const server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await request(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        'GET',
        '/readyz',
      );
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({
        code: 'not_ready',
        checks: { mongodb: 'ok', temporal: 'unavailable' },
      });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await temporal.connection.close();
    }
  });
});
