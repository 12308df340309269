// The response contract check itself (test/helpers/contract.ts): the integration suite relies on
// it to fail on any undeclared answer, so here it is shown to fail on each kind of breach.
import { describe, expect, it } from 'vitest';
import { assertDeclaredResponse, contractBreach, operationFor, type SeenResponse } from '../helpers/contract';

const ORG = `org_${'1'.repeat(32)}`;
const DOM = `dom_${'2'.repeat(32)}`;
const CON = `con_${'3'.repeat(32)}`;
const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
const PROBLEM_TYPE = { 'content-type': 'application/problem+json; charset=utf-8', 'x-request-id': 'req-1' };

const domainView = {
  id: DOM,
  domain: 'acme.example.com',
  status: 'pending',
  txtRecord: { name: '_sso-verification.acme.example.com', value: 'sso-verification=abc' },
  checks: 0,
  lastCheckedAt: null,
  verifiedAt: null,
  failureReason: null,
  createdAt: '2026-11-27T10:00:00.000Z',
};

function seen(
  method: string,
  path: string,
  status: number,
  headers: Record<string, string>,
  body?: unknown,
): SeenResponse {
  return { method, path, status, headers: new Headers(headers), body };
}

const problem = (code: string, status: number, extra: Record<string, unknown> = {}) => ({
  type: `urn:sso:problem:${code}`,
  title: 'Something',
  status,
  code,
  instance: 'req-1',
  ...extra,
});

describe('matching a request to its operation', () => {
  it('matches path templates segment by segment and ignores the query', () => {
    expect(operationFor('POST', `/v1/orgs/${ORG}/domains/${DOM}/verify`)?.path).toBe(
      '/v1/orgs/:orgId/domains/:id/verify',
    );
    expect(operationFor('delete', `/v1/orgs/${ORG}/domains/${DOM}`)?.path).toBe(
      '/v1/orgs/:orgId/domains/:id',
    );
    expect(operationFor('GET', `/v1/orgs/${ORG}/provisioning?status=running`)?.path).toBe(
      '/v1/orgs/:orgId/provisioning',
    );
    expect(operationFor('GET', '/openapi-json')).toBeUndefined();
    expect(operationFor('PUT', '/v1/orgs')).toBeUndefined();
  });
});

describe('success answers', () => {
  it('accepts a body its schema declares', () => {
    expect(
      contractBreach(seen('POST', `/v1/orgs/${ORG}/domains`, 201, JSON_TYPE, domainView)),
    ).toBeUndefined();
  });

  it('refuses an undeclared field, naming the route and the field', () => {
    const leaky = seen('GET', `/v1/orgs/${ORG}/domains/${DOM}`, 200, JSON_TYPE, {
      ...domainView,
      token: 's3cret',
    });
    expect(() => assertDeclaredResponse(leaky)).toThrow(/GET \/v1\/orgs\/:orgId\/domains\/:id .*\n.*"token"/);
  });

  it('refuses a nested undeclared field and a wrong type', () => {
    const nested = { domains: [{ ...domainView, txtRecord: { ...domainView.txtRecord, token: 'x' } }] };
    expect(contractBreach(seen('GET', `/v1/orgs/${ORG}/domains`, 200, JSON_TYPE, nested))).toMatch(/token/);
    const badDate = { ...domainView, createdAt: 'yesterday' };
    expect(contractBreach(seen('GET', `/v1/orgs/${ORG}/domains/${DOM}`, 200, JSON_TYPE, badDate))).toMatch(
      /createdAt/,
    );
  });

  it('refuses a success status the operation does not declare, and JSON sent as something else', () => {
    expect(contractBreach(seen('GET', `/v1/orgs/${ORG}/domains/${DOM}`, 201, JSON_TYPE, domainView))).toMatch(
      /201, which it does not declare/,
    );
    expect(
      contractBreach(
        seen('GET', `/v1/orgs/${ORG}/domains/${DOM}`, 200, { 'content-type': 'text/plain' }, 'x'),
      ),
    ).toMatch(/instead of application\/json/);
  });

  it('refuses a body on a 204 and a success from a route nobody documented', () => {
    expect(contractBreach(seen('DELETE', `/v1/orgs/${ORG}/domains/${DOM}`, 204, {}))).toBeUndefined();
    expect(contractBreach(seen('DELETE', `/v1/orgs/${ORG}/domains/${DOM}`, 204, {}, 'x'))).toMatch(
      /no.*declared/,
    );
    expect(contractBreach(seen('GET', '/v1/secrets', 200, JSON_TYPE, {}))).toMatch(/does not describe/);
  });

  it('holds non-JSON answers to their content type, and redirects to having a Location', () => {
    const metadata = `/v1/sso/${CON}/metadata`;
    expect(
      contractBreach(seen('GET', metadata, 200, { 'content-type': 'application/samlmetadata+xml' }, '<x/>')),
    ).toBeUndefined();
    expect(contractBreach(seen('GET', metadata, 200, { 'content-type': 'text/html' }, '<x/>'))).toMatch(
      /instead of application\/samlmetadata\+xml/,
    );
    const login = `/v1/sso/${CON}/login`;
    expect(contractBreach(seen('GET', login, 302, { location: 'https://idp.example/sso' }))).toBeUndefined();
    expect(contractBreach(seen('GET', login, 302, {}))).toMatch(/without Location/);
  });
});

describe('error answers', () => {
  const domain = `/v1/orgs/${ORG}/domains/${DOM}`;

  it('accepts a problem with a declared status and its extensions', () => {
    const body = problem('validation_failed', 400, { errors: [{ path: 'domain', message: 'Required' }] });
    expect(contractBreach(seen('GET', domain, 400, PROBLEM_TYPE, body))).toBeUndefined();
  });

  it('refuses a status the operation does not declare', () => {
    expect(contractBreach(seen('GET', domain, 402, PROBLEM_TYPE, problem('plan_required', 402)))).toMatch(
      /402, which is not among its declared problem statuses/,
    );
  });

  it('refuses errors that are not problems, or whose code, status and type disagree', () => {
    expect(contractBreach(seen('GET', domain, 404, JSON_TYPE, problem('not_found', 404)))).toMatch(
      /instead of application\/problem\+json/,
    );
    expect(contractBreach(seen('GET', domain, 404, PROBLEM_TYPE, problem('made_up', 404)))).toMatch(/code/);
    expect(contractBreach(seen('GET', domain, 404, PROBLEM_TYPE, problem('conflict', 404)))).toMatch(
      /status must be the status of its code/,
    );
    const { instance: _dropped, ...anonymous } = problem('not_found', 404);
    expect(contractBreach(seen('GET', domain, 404, PROBLEM_TYPE, anonymous))).toMatch(/instance/);
    expect(
      contractBreach(
        seen('GET', domain, 404, PROBLEM_TYPE, { ...problem('not_found', 404), instance: 'other' }),
      ),
    ).toMatch(/X-Request-Id/);
  });

  it('checks problems from paths no operation serves too', () => {
    expect(
      contractBreach(seen('PUT', '/v1/orgs', 405, PROBLEM_TYPE, problem('method_not_allowed', 405))),
    ).toBe(undefined);
    expect(contractBreach(seen('GET', '/nope', 404, PROBLEM_TYPE, { code: 'not_found' }))).toBeDefined();
  });
});
