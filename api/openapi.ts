// The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with and
// answer in, so the document cannot drift from the API. test/integration/httpContract.test.ts
// checks that every registered route is described here and nothing else is, and every response
// the integration suite receives is checked against its operation here (test/helpers/contract.ts).
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import * as schemas from './schemas';

type Auth = 'operator' | 'org' | 'session' | 'metrics' | 'none';

/** A successful answer that is not JSON: a redirect, the SP metadata XML, the POST-binding form. */
interface OtherAnswer {
  description: string;
  /** Absent for redirects, whose content is the Location header. */
  contentType?: string;
}

export interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa style, e.g. /v1/orgs/:orgId */
  path: string;
  summary: string;
  auth: Auth;
  success: number;
  /** Other success statuses with the same body (e.g. 200 for a create that found the record). */
  alsoSuccess?: number[];
  /** The JSON body of the success answer; absent for 204 and for the non-JSON `answers`. */
  response?: z.ZodType;
  /** Successful answers that are not JSON, by status. */
  answers?: Record<number, OtherAnswer>;
  /** Problem statuses this route gives beyond those every route of its kind may (problemStatuses). */
  errors?: number[];
  body?: z.ZodType;
  query?: z.ZodType;
  /** Form-encoded body (the SAML POST binding) instead of JSON. */
  form?: boolean;
  /** Counted against the rate limits (api/middleware/rateLimit.ts): may answer 429 with Retry-After. */
  rateLimited?: boolean;
}

export const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness',
    auth: 'none',
    success: 200,
    response: schemas.healthResponse,
  },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: MongoDB and Temporal answer',
    auth: 'none',
    success: 200,
    response: schemas.readyResponse,
    errors: [503],
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics of this API instance (METRICS_TOKEN or the operator token)',
    auth: 'metrics',
    success: 200,
    answers: { 200: { description: 'Prometheus text format', contentType: 'text/plain' } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    auth: 'none',
    success: 200,
    response: schemas.openApiResponse,
  },
  {
    method: 'post',
    path: '/v1/orgs',
    summary: 'Create an organization',
    auth: 'operator',
    success: 201,
    body: schemas.createOrgBody,
    response: schemas.orgResponse,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId',
    summary: 'Read an organization',
    auth: 'org',
    success: 200,
    response: schemas.orgResponse,
  },
  {
    method: 'patch',
    path: '/v1/orgs/:orgId',
    summary: 'Change name or plan',
    auth: 'operator',
    success: 200,
    body: schemas.patchOrgBody,
    response: schemas.orgResponse,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/api-keys',
    summary: 'Create an org API key (shown once)',
    auth: 'operator',
    success: 201,
    response: schemas.apiKeyResponse,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/domains',
    summary: 'Add a domain and start its verification (again: 200, its run repaired if missing)',
    auth: 'org',
    success: 201,
    alsoSuccess: [200],
    body: schemas.createDomainBody,
    response: schemas.domainResponse,
    // 503: Temporal did not take the run; the record is kept and adding it again starts it.
    errors: [409, 503],
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/domains',
    summary: 'List domains',
    auth: 'org',
    success: 200,
    response: schemas.domainListResponse,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/domains/:id',
    summary: 'Read a domain and its verification status',
    auth: 'org',
    success: 200,
    response: schemas.domainResponse,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/domains/:id/verify',
    summary: 'Check now, or restart a failed verification',
    auth: 'org',
    success: 202,
    response: schemas.domainResponse,
    errors: [503],
  },
  {
    method: 'delete',
    path: '/v1/orgs/:orgId/domains/:id',
    summary: 'Remove a domain no connection uses',
    auth: 'org',
    success: 204,
    errors: [409],
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/connectors',
    summary: 'Create a SAML connection',
    auth: 'org',
    success: 201,
    body: schemas.createConnectorBody,
    response: schemas.connectorResponse,
    errors: [402, 409, 422, 502],
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/connectors',
    summary: 'List connections',
    auth: 'org',
    success: 200,
    response: schemas.connectorListResponse,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/connectors/:connectorId',
    summary: 'Read a connection',
    auth: 'org',
    success: 200,
    response: schemas.connectorResponse,
  },
  {
    method: 'patch',
    path: '/v1/orgs/:orgId/connectors/:connectorId',
    summary: 'Change enforcement, JIT or mapping',
    auth: 'org',
    success: 200,
    body: schemas.patchConnectorBody,
    response: schemas.connectorResponse,
    errors: [409],
  },
  {
    method: 'delete',
    path: '/v1/orgs/:orgId/connectors/:connectorId',
    summary: 'Delete a connection: a teardown that waits CONNECTOR_DELETE_GRACE, restorable until then',
    auth: 'org',
    success: 202,
    response: schemas.teardownResponse,
    errors: [503],
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/connectors/:connectorId/restore',
    summary: 'Cancel a teardown during its grace period: the connection is active again as it was',
    auth: 'org',
    success: 200,
    response: schemas.connectorResponse,
    errors: [409, 503],
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/connectors/:connectorId/teardown',
    summary: "A connection's teardown and its progress (also after the connection is gone)",
    auth: 'org',
    success: 200,
    response: schemas.teardownResponse,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/connectors/:connectorId/teardown/expedite',
    summary: 'End the grace period now (operator)',
    auth: 'operator',
    success: 202,
    response: schemas.teardownResponse,
    errors: [409, 503],
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/users/:userId',
    summary: 'Read a member and their SSO identities',
    auth: 'org',
    success: 200,
    response: schemas.userResponse,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/audit-events',
    summary: 'The audit log, newest first: filters and cursor pages',
    auth: 'org',
    success: 200,
    query: schemas.auditEventsQuery,
    response: schemas.auditEventsResponse,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/provisioning',
    summary: 'Running or failed provisioning',
    auth: 'org',
    success: 200,
    query: schemas.provisioningListQuery,
    response: schemas.provisioningListResponse,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/connectors/:connectorId/sign-in-attempts',
    summary: "Sign-in diagnostics: the connection's SSO sign-in attempts, newest first, with hints",
    auth: 'org',
    success: 200,
    query: schemas.signInAttemptsQuery,
    response: schemas.signInAttemptsResponse,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/provisioning/:id/retry',
    summary: 'Retry a failed provisioning',
    auth: 'org',
    success: 202,
    response: schemas.provisioningRetryResponse,
    errors: [409],
  },
  {
    method: 'post',
    path: '/v1/auth/sign-up',
    rateLimited: true,
    summary: 'Start a personal account: emails a code (the same answer for every address)',
    auth: 'none',
    success: 202,
    body: schemas.signUpBody,
    response: schemas.signUpResponse,
    errors: [426, 503],
  },
  {
    method: 'post',
    path: '/v1/auth/sign-up/verify',
    rateLimited: true,
    summary: 'Prove the email with the code: the account is usable and signed in',
    auth: 'none',
    success: 200,
    body: schemas.signUpVerifyBody,
    response: schemas.signUpVerifyResponse,
    errors: [401, 426],
  },
  {
    method: 'post',
    path: '/v1/auth/password',
    rateLimited: true,
    summary: 'Sign in with email and password',
    auth: 'none',
    success: 200,
    body: schemas.passwordSignInBody,
    response: schemas.passwordSignInResponse,
    errors: [401, 409, 426],
  },
  {
    method: 'post',
    path: '/v1/auth/password/setup/start',
    rateLimited: true,
    summary: 'Email a fresh password-setup link (the same answer for every address)',
    auth: 'none',
    success: 202,
    body: schemas.passwordSetupStartBody,
    response: schemas.passwordSetupStartResponse,
    errors: [503],
  },
  {
    method: 'post',
    path: '/v1/auth/password/setup',
    rateLimited: true,
    summary: 'Set the password with the token from a setup link (once)',
    auth: 'none',
    success: 200,
    body: schemas.passwordSetupBody,
    response: schemas.passwordSetupResponse,
  },
  {
    method: 'post',
    path: '/v1/auth/email-code/start',
    rateLimited: true,
    summary: 'Email a sign-in code (the same answer for every address)',
    auth: 'none',
    success: 202,
    body: schemas.emailCodeStartBody,
    response: schemas.emailCodeStartResponse,
    errors: [503],
  },
  {
    method: 'post',
    path: '/v1/auth/email-code/verify',
    rateLimited: true,
    summary: 'Sign in with the emailed code (and TOTP when enrolled)',
    auth: 'none',
    success: 200,
    body: schemas.emailCodeVerifyBody,
    response: schemas.emailCodeVerifyResponse,
    errors: [401, 426],
  },
  {
    method: 'post',
    path: '/v1/auth/identify',
    rateLimited: true,
    summary: 'Which way does this email sign in?',
    auth: 'none',
    success: 200,
    body: schemas.identifyBody,
    response: schemas.identifyResponse,
  },
  {
    method: 'get',
    path: '/v1/sso/:connectorId/metadata',
    summary: 'SP metadata XML',
    auth: 'none',
    success: 200,
    answers: { 200: { description: 'SP metadata', contentType: 'application/samlmetadata+xml' } },
  },
  {
    method: 'get',
    path: '/v1/sso/:connectorId/login',
    rateLimited: true,
    summary: 'Redirect to the IdP',
    auth: 'none',
    success: 302,
    query: schemas.loginQuery,
    answers: {
      302: { description: 'To the IdP (HTTP-Redirect binding)' },
      200: {
        description: 'A form that posts the AuthnRequest to the IdP (HTTP-POST binding)',
        contentType: 'text/html',
      },
    },
    errors: [403, 409, 426],
  },
  {
    method: 'post',
    path: '/v1/sso/:connectorId/acs',
    rateLimited: true,
    summary: 'SAML assertion consumer',
    auth: 'none',
    success: 303,
    form: true,
    answers: { 303: { description: 'Signed in: to returnTo, with the session cookie' } },
    errors: [403, 409, 410, 422, 426, 503],
  },
  {
    method: 'get',
    path: '/v1/sso/:connectorId/callback',
    rateLimited: true,
    summary: 'OpenID Connect redirect URI (authorization code callback)',
    auth: 'none',
    success: 303,
    query: schemas.oidcCallbackQuery,
    answers: { 303: { description: 'Signed in: to returnTo, with the session cookie' } },
    errors: [403, 409, 410, 422, 426, 502, 503],
  },
  {
    method: 'get',
    path: '/v1/me',
    summary: "The session's user",
    auth: 'session',
    success: 200,
    response: schemas.meResponse,
  },
  {
    method: 'post',
    path: '/v1/me/mfa/totp',
    summary: 'Start TOTP enrollment: the secret and otpauth:// URI, shown once',
    auth: 'session',
    success: 201,
    response: schemas.totpEnrollResponse,
    errors: [409],
  },
  {
    method: 'post',
    path: '/v1/me/mfa/totp/confirm',
    summary: 'Confirm TOTP with a first code: it is on, and the recovery codes are shown once',
    auth: 'session',
    success: 200,
    body: schemas.totpCodeBody,
    response: schemas.totpConfirmResponse,
    errors: [409],
  },
  {
    method: 'post',
    path: '/v1/me/mfa/totp/disable',
    summary: 'Turn TOTP off with a current code or a recovery code',
    auth: 'session',
    success: 204,
    body: schemas.totpCodeBody,
    errors: [409],
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/break-glass',
    summary: 'Break-glass accounts: members exempt from SSO enforcement',
    auth: 'org',
    success: 200,
    response: schemas.breakGlassListResponse,
  },
  {
    method: 'put',
    path: '/v1/orgs/:orgId/break-glass/:userId',
    summary: 'Exempt a member with TOTP from SSO enforcement (again: 200)',
    auth: 'org',
    success: 201,
    alsoSuccess: [200],
    response: schemas.breakGlassResponse,
    errors: [409],
  },
  {
    method: 'delete',
    path: '/v1/orgs/:orgId/break-glass/:userId',
    summary: 'End an exemption',
    auth: 'org',
    success: 204,
  },
];

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  operator: [{ operatorToken: [] }],
  org: [{ operatorToken: [] }, { orgApiKey: [] }],
  session: [{ sessionCookie: [] }, { sessionToken: [] }],
  metrics: [{ metricsToken: [] }, { operatorToken: [] }],
  none: [],
};

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output' = 'input') =>
  z.toJSONSchema(schema, { io, unrepresentable: 'any' });

const STATE_CHANGING: ReadonlySet<Operation['method']> = new Set(['post', 'put', 'patch', 'delete']);

/**
 * Every problem status an operation may answer: its own `errors` plus those that come with its
 * kind. The contract test holds real answers to this list, so keep it exact rather than generous.
 */
export function problemStatuses(operation: Operation): number[] {
  // 503 try_again_later: any route may meet a MongoDB or Temporal outage (middleware/errors.ts).
  const statuses = new Set([500, 503, ...(operation.errors ?? [])]);
  const hasPathParams = operation.path.includes(':');
  // validation_failed (body, query or path), or a JSON body that cannot be read.
  if (hasPathParams || operation.body || operation.query || operation.form) statuses.add(400);
  if (hasPathParams) statuses.add(404);
  if (STATE_CHANGING.has(operation.method)) {
    // middleware/requestBody.ts: a body too large or of the wrong type; one that is not JSON.
    for (const status of [400, 413, 415]) statuses.add(status);
    // middleware/originCheck.ts refuses foreign web origins (the ACS is exempt).
    if (!operation.form) statuses.add(403);
  }
  if (operation.auth === 'operator' || operation.auth === 'org') {
    statuses.add(401);
    statuses.add(403);
  }
  if (operation.auth === 'session' || operation.auth === 'metrics') statuses.add(401);
  if (operation.rateLimited) statuses.add(429);
  return [...statuses].sort((a, b) => a - b);
}

const REDIRECT = /^30[1-8]$/;

function successResponses(operation: Operation): Record<string, object> {
  const responses: Record<string, object> = {};
  const response = operation.response;
  if (response) {
    for (const status of [operation.success, ...(operation.alsoSuccess ?? [])])
      responses[status] = {
        description: STATUS_CODES[status],
        content: { 'application/json': { schema: jsonSchema(response, 'output') } },
      };
  }
  for (const [status, answer] of Object.entries(operation.answers ?? {})) {
    responses[status] = {
      description: answer.description,
      ...(answer.contentType ? { content: { [answer.contentType]: { schema: { type: 'string' } } } } : {}),
      ...(REDIRECT.test(status)
        ? { headers: { Location: { required: true, schema: { type: 'string', format: 'uri' } } } }
        : {}),
    };
  }
  // What is left has no body at all (204).
  responses[operation.success] ??= { description: STATUS_CODES[operation.success] };
  return responses;
}

function problemResponses(operation: Operation): Record<string, object> {
  return Object.fromEntries(
    problemStatuses(operation).map((status) => [
      status,
      {
        description: STATUS_CODES[status],
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    ]),
  );
}

function parameters(operation: Operation) {
  const path = [...operation.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
    name,
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  const query = operation.query
    ? Object.entries((jsonSchema(operation.query).properties ?? {}) as Record<string, object>).map(
        ([name, schema]) => ({
          name,
          in: 'query',
          required: false,
          schema,
        }),
      )
    : [];
  return [...path, ...query];
}

export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) {
    const path = operation.path.replace(/:(\w+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][operation.method] = {
      summary: operation.summary,
      security: SECURITY[operation.auth],
      parameters: parameters(operation),
      ...(operation.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(operation.body) } },
            },
          }
        : {}),
      ...(operation.form
        ? {
            requestBody: {
              required: true,
              content: {
                'application/x-www-form-urlencoded': {
                  schema: {
                    type: 'object',
                    properties: { SAMLResponse: { type: 'string' }, RelayState: { type: 'string' } },
                  },
                },
              },
            },
          }
        : {}),
      responses: { ...successResponses(operation), ...problemResponses(operation) },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'SSO provisioning backend', version: '1' },
    servers: [{ url: publicUrl }],
    paths,
    components: {
      securitySchemes: {
        operatorToken: { type: 'http', scheme: 'bearer', description: 'The operator token (ADMIN_TOKEN)' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'The metrics token (METRICS_TOKEN)' },
        orgApiKey: { type: 'http', scheme: 'bearer', description: 'An organization API key (sk_…)' },
        sessionToken: { type: 'http', scheme: 'bearer', description: 'A session token from a sign-in' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sso_session' },
      },
      schemas: { Problem: jsonSchema(schemas.problem, 'output') },
    },
  };
}
