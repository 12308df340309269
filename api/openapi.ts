// The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with, so the
// document cannot drift from what the API accepts. test/integration/httpContract.test.ts checks
// that every registered route is described here and nothing else is.
import { z } from 'zod';
import { ERRORS } from '../domain/errors';
import * as schemas from './schemas';

type Auth = 'operator' | 'org' | 'session' | 'none';

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Koa style, e.g. /v1/orgs/:orgId */
  path: string;
  summary: string;
  auth: Auth;
  success: number;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Form-encoded body (the SAML POST binding) instead of JSON. */
  form?: boolean;
}

export const OPERATIONS: Operation[] = [
  { method: 'get', path: '/healthz', summary: 'Liveness', auth: 'none', success: 200 },
  {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: MongoDB and Temporal answer',
    auth: 'none',
    success: 200,
  },
  { method: 'get', path: '/openapi.json', summary: 'This document', auth: 'none', success: 200 },
  {
    method: 'post',
    path: '/v1/orgs',
    summary: 'Create an organization',
    auth: 'operator',
    success: 201,
    body: schemas.createOrgBody,
  },
  { method: 'get', path: '/v1/orgs/:orgId', summary: 'Read an organization', auth: 'org', success: 200 },
  {
    method: 'patch',
    path: '/v1/orgs/:orgId',
    summary: 'Change name or plan',
    auth: 'operator',
    success: 200,
    body: schemas.patchOrgBody,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/api-keys',
    summary: 'Create an org API key (shown once)',
    auth: 'operator',
    success: 201,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/domains',
    summary: 'Add a domain and start its verification (again: 200, its run repaired if missing)',
    auth: 'org',
    success: 201,
    body: schemas.createDomainBody,
  },
  { method: 'get', path: '/v1/orgs/:orgId/domains', summary: 'List domains', auth: 'org', success: 200 },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/domains/:id',
    summary: 'Read a domain and its verification status',
    auth: 'org',
    success: 200,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/domains/:id/verify',
    summary: 'Check now, or restart a failed verification',
    auth: 'org',
    success: 202,
  },
  {
    method: 'delete',
    path: '/v1/orgs/:orgId/domains/:id',
    summary: 'Remove a domain no connection uses',
    auth: 'org',
    success: 204,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/connectors',
    summary: 'Create a SAML connection',
    auth: 'org',
    success: 201,
    body: schemas.createConnectorBody,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/connectors',
    summary: 'List connections',
    auth: 'org',
    success: 200,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/connectors/:connectorId',
    summary: 'Read a connection',
    auth: 'org',
    success: 200,
  },
  {
    method: 'patch',
    path: '/v1/orgs/:orgId/connectors/:connectorId',
    summary: 'Change enforcement, JIT or mapping',
    auth: 'org',
    success: 200,
    body: schemas.patchConnectorBody,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/users/:userId',
    summary: 'Read a member and their SSO identities',
    auth: 'org',
    success: 200,
  },
  {
    method: 'get',
    path: '/v1/orgs/:orgId/provisioning',
    summary: 'Running or failed provisioning',
    auth: 'org',
    success: 200,
    query: schemas.provisioningListQuery,
  },
  {
    method: 'post',
    path: '/v1/orgs/:orgId/provisioning/:id/retry',
    summary: 'Retry a failed provisioning',
    auth: 'org',
    success: 202,
  },
  {
    method: 'post',
    path: '/v1/auth/sign-up',
    summary: 'Start a personal account: emails a code (the same answer for every address)',
    auth: 'none',
    success: 202,
    body: schemas.signUpBody,
  },
  {
    method: 'post',
    path: '/v1/auth/sign-up/verify',
    summary: 'Prove the email with the code: the account is usable and signed in',
    auth: 'none',
    success: 200,
    body: schemas.signUpVerifyBody,
  },
  {
    method: 'post',
    path: '/v1/auth/password',
    summary: 'Sign in with email and password',
    auth: 'none',
    success: 200,
    body: schemas.passwordSignInBody,
  },
  {
    method: 'post',
    path: '/v1/auth/identify',
    summary: 'Which way does this email sign in?',
    auth: 'none',
    success: 200,
    body: schemas.identifyBody,
  },
  {
    method: 'get',
    path: '/v1/sso/:connectorId/metadata',
    summary: 'SP metadata XML',
    auth: 'none',
    success: 200,
  },
  {
    method: 'get',
    path: '/v1/sso/:connectorId/login',
    summary: 'Redirect to the IdP',
    auth: 'none',
    success: 302,
    query: schemas.loginQuery,
  },
  {
    method: 'post',
    path: '/v1/sso/:connectorId/acs',
    summary: 'SAML assertion consumer',
    auth: 'none',
    success: 303,
    form: true,
  },
  { method: 'get', path: '/v1/me', summary: "The session's user", auth: 'session', success: 200 },
];

const SECURITY: Record<Auth, Record<string, string[]>[]> = {
  operator: [{ operatorToken: [] }],
  org: [{ operatorToken: [] }, { orgApiKey: [] }],
  session: [{ sessionCookie: [] }, { sessionToken: [] }],
  none: [],
};

const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

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
      responses: {
        [operation.success]: { description: 'Success' },
        default: {
          description: 'A problem',
          content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
        },
      },
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
        orgApiKey: { type: 'http', scheme: 'bearer', description: 'An organization API key (sk_…)' },
        sessionToken: { type: 'http', scheme: 'bearer', description: 'A session token from a sign-in' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'sso_session' },
      },
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'code'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string', enum: Object.keys(ERRORS) },
            detail: { type: 'string' },
            instance: { type: 'string', description: 'The request ID' },
          },
        },
      },
    },
  };
}
