// Every request body and query the API accepts and every body it answers, in one place: routes
// validate input with these at the edge, the OpenAPI document (api/openapi.ts) is generated from
// the same schemas, and the integration suite checks each real response against its schema
// (test/helpers/contract.ts). Response objects are strict where the route builds the whole body,
// so a field nobody declared (a token, a digest) fails the suite instead of reaching clients.
import { z } from 'zod';
import { DOMAIN_STATUSES } from '../domain/domainVerification';
import { ERRORS, type ErrorCode } from '../domain/errors';
import { ENTRA_TENANT_ID } from '../domain/oidcClaims';
import { TEARDOWN_PHASES } from '../domain/teardown';
import { parseCertificate } from '../sso/certificates';
import { PROVISIONING_WORKFLOW_TYPES } from '../workflows/shared';
import { SIGN_IN_PATHS } from '../domain/signInDiagnostics';

// Shared pieces of responses
const idOf = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[a-f0-9]{32}$`));
const orgId = idOf('org');
const userId = idOf('usr');
const connectorId = idOf('con');
/** Dates leave as `Date.toISOString()`: UTC with a Z. */
const timestamp = z.iso.datetime();

/** Every error answer (application/problem+json, RFC 9457), rendered by api/middleware/errors.ts. */
export const problem = z
  .looseObject({
    /** `urn:sso:problem:<code>` */
    type: z.string(),
    title: z.string().min(1),
    status: z.int().min(400).max(599),
    code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
    detail: z.string().optional(),
    instance: z.string().min(1).describe('The request ID (also the X-Request-Id header)'),
    // Further members are the error's extensions (e.g. `errors` for validation_failed).
  })
  .refine((body) => body.type === `urn:sso:problem:${body.code}`, 'type must be urn:sso:problem:<code>')
  .refine((body) => body.status === ERRORS[body.code].status, 'status must be the status of its code');

// Health and this document
export const healthResponse = z.strictObject({ status: z.literal('ok') });
export const readyResponse = z.strictObject({
  status: z.literal('ready'),
  checks: z.strictObject({ mongodb: z.literal('ok'), temporal: z.literal('ok') }),
});
export const openApiResponse = z.looseObject({
  openapi: z.literal('3.1.0'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.looseObject({}))),
  components: z.looseObject({}),
});

// Organizations
const plan = z.enum(['free', 'team', 'business']);
export const createOrgBody = z.strictObject({ name: z.string().trim().min(1).max(200), plan });
export const patchOrgBody = z
  .strictObject({ name: z.string().trim().min(1).max(200).optional(), plan: plan.optional() })
  .refine((body) => body.name !== undefined || body.plan !== undefined, 'name or plan is required');
export const orgResponse = z.strictObject({ id: orgId, name: z.string(), plan, createdAt: timestamp });
export const apiKeyResponse = z.strictObject({
  id: idOf('key'),
  key: z
    .string()
    .regex(/^sk_[A-Za-z0-9_-]{20,100}$/)
    .describe('The key itself: shown in this answer only, never again'),
});

// Personal accounts
const email = z.string().trim().min(3).max(320);
const password = z.string().min(8).max(256);
export const signUpBody = z.strictObject({
  email,
  password,
  name: z.string().trim().min(1).max(200).optional(),
});
export const signUpVerifyBody = z.strictObject({
  email,
  code: z
    .string()
    .trim()
    .regex(/^\d{6}$/, 'the six digits from the email'),
});
/** The same answer whether or not the address has an account: no enumeration. */
export const signUpResponse = z.strictObject({ status: z.literal('verification_sent') });
export const signUpVerifyResponse = z.strictObject({ id: userId, token: z.string().min(1) });
/** A TOTP code from the authenticator app, or one of the recovery codes (xxxxx-xxxxx). */
const secondFactor = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^\d{6}$|^[a-z2-7]{5}-[a-z2-7]{5}$/, 'six digits from the authenticator app, or a recovery code');
export const passwordSignInBody = z.strictObject({
  email,
  password: z.string().min(1).max(256),
  totp: secondFactor.optional(),
});
export const emailCodeStartBody = z.strictObject({ email });
/** The same answer for every address: no enumeration, and no hint of enforcement. */
export const emailCodeStartResponse = z.strictObject({ status: z.literal('code_sent') });
export const emailCodeVerifyBody = z.strictObject({
  email,
  code: z
    .string()
    .trim()
    .regex(/^\d{6}$/, 'the six digits from the email'),
  totp: secondFactor.optional(),
});
export const emailCodeVerifyResponse = z.strictObject({
  token: z.string().min(32).describe('The session token (also set as the session cookie)'),
});
/** The same answer for every address: no enumeration. */
export const passwordSetupStartBody = z.strictObject({ email });
export const passwordSetupStartResponse = z.strictObject({ status: z.literal('link_sent') });
export const passwordSetupBody = z.strictObject({
  token: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_-]{20,200}$/, 'the token from the emailed link'),
  password,
});
export const passwordSetupResponse = z.strictObject({ status: z.literal('password_set') });
export const totpCodeBody = z.strictObject({ code: secondFactor });
export const totpEnrollResponse = z.strictObject({
  secret: z
    .string()
    .regex(/^[A-Z2-7]+=*$/)
    .describe('Base32; shown in this answer only'),
  otpauthUri: z.string().startsWith('otpauth://totp/'),
});
export const totpConfirmResponse = z.strictObject({
  recoveryCodes: z
    .array(z.string().regex(/^[a-z2-7]{5}-[a-z2-7]{5}$/))
    .describe('Each works once in place of a TOTP code; shown in this answer only'),
});
export const passwordSignInResponse = z.strictObject({
  token: z.string().min(32).describe('The session token (also set as the session cookie)'),
});
export const meResponse = z.strictObject({
  id: userId,
  email: z.string(),
  name: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  organizations: z.array(z.strictObject({ id: orgId, role: z.string() })),
  amr: z.array(z.string()).describe('How the session was authenticated, e.g. ["pwd"] or ["sso"]'),
  connectorId: connectorId.nullable().describe('The connection an SSO session came through'),
});

// Break-glass accounts
export const breakGlassResponse = z.strictObject({ userId, createdAt: timestamp });
export const breakGlassListResponse = z.strictObject({
  accounts: z.array(breakGlassResponse),
  max: z.int().min(0).describe('BREAK_GLASS_MAX'),
});

// Domains
export const createDomainBody = z.strictObject({ domain: z.string().trim().min(1).max(300) });
export const domainResponse = z.strictObject({
  id: idOf('dom'),
  domain: z.string(),
  status: z.enum(DOMAIN_STATUSES),
  txtRecord: z.strictObject({ name: z.string(), value: z.string() }).describe('The record to publish in DNS'),
  checks: z.int().min(0),
  lastCheckedAt: timestamp.nullable(),
  verifiedAt: timestamp.nullable(),
  failureReason: z.string().nullable(),
  createdAt: timestamp,
});
export const domainListResponse = z.strictObject({ domains: z.array(domainResponse) });

// Connections
const attributeNames = z.array(z.string().trim().min(1).max(300)).max(10);
const attributeMapping = z.strictObject({
  email: attributeNames.optional(),
  name: attributeNames.optional(),
  givenName: attributeNames.optional(),
  familyName: attributeNames.optional(),
  avatarUrl: attributeNames.optional(),
});
const jit = z.strictObject({
  enabled: z.boolean(),
  defaultRole: z.string().trim().min(1).max(64).default('member'),
});
const certificate = z
  .string()
  .max(20_000)
  .refine((text) => parseCertificate(text) !== undefined, 'not an X.509 certificate (PEM or base64 DER)');
const samlBinding = z.enum(['HTTP-Redirect', 'HTTP-POST']);
const samlSettings = z.union([
  z.strictObject({
    metadataXml: z
      .string()
      .min(1)
      .max(512 * 1024),
  }),
  z.strictObject({ metadataUrl: z.url({ protocol: /^https?$/ }).max(2048) }),
  z.strictObject({
    entityId: z.string().trim().min(1).max(1024),
    ssoUrl: z.url({ protocol: /^https?$/ }).max(2048),
    ssoBinding: samlBinding.default('HTTP-Redirect'),
    certificates: z.array(certificate).min(1).max(5),
  }),
]);
const connectorName = z.string().trim().min(1).max(200);
const connectorDomains = z.array(z.string().trim().min(1).max(300)).min(1).max(50);
const clientId = z.string().trim().min(1).max(255);
/** Write-only: stored sealed, never answered (`hasClientSecret`), never logged. */
const clientSecret = z.string().min(1).max(1024);
const entraSettings = z.strictObject({
  tenantId: z
    .string()
    .trim()
    .regex(
      ENTRA_TENANT_ID,
      'the directory (tenant) ID, a GUID: "common" or "organizations" would let any tenant in',
    ),
  clientId,
  clientSecret,
});
const oidcSettings = z.strictObject({
  issuer: z.url({ protocol: /^https?$/ }).max(2048),
  clientId,
  clientSecret,
});
const connectorOptions = {
  attributeMapping: attributeMapping.optional(),
  jit: jit.optional(),
  enforced: z.boolean().optional(),
};
export const createConnectorBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('saml'),
    name: connectorName,
    domains: connectorDomains,
    saml: samlSettings,
    ...connectorOptions,
  }),
  z.strictObject({
    type: z.literal('entra-id'),
    name: connectorName,
    domains: connectorDomains,
    entra: entraSettings,
    ...connectorOptions,
  }),
  z.strictObject({
    type: z.literal('oidc'),
    name: connectorName,
    domains: connectorDomains,
    oidc: oidcSettings,
    ...connectorOptions,
  }),
]);
/** A new client ID or secret (e.g. the secret expired in Entra); the provider stays as it is. */
const clientChange = z
  .strictObject({ clientId: clientId.optional(), clientSecret: clientSecret.optional() })
  .refine(
    (body) => body.clientId !== undefined || body.clientSecret !== undefined,
    'clientId or clientSecret',
  );
export const patchConnectorBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    enforced: z.boolean().optional(),
    jit: jit.optional(),
    attributeMapping: attributeMapping.optional(),
    entra: clientChange.optional(),
    oidc: clientChange.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');
export type ClientChange = z.infer<typeof clientChange>;
export type EntraSettings = z.infer<typeof entraSettings>;
export type OidcSettings = z.infer<typeof oidcSettings>;
export type SamlSettings = z.infer<typeof samlSettings>;
export const teardownResponse = z
  .strictObject({
    id: z.string().regex(/^tdn_[a-f0-9]{32}$/),
    connectorId,
    phase: z.enum(TEARDOWN_PHASES),
    processed: z.int().min(0).describe('SSO identities removed so far'),
    total: z.int().min(0).nullable().describe('Identities when removal started; null while waiting'),
    passwordSetups: z.int().min(0).describe('Users left without a way in, sent a password-setup link'),
    requestedAt: timestamp,
    deleteAfter: timestamp.describe('End of the grace period: until then the connection can be restored'),
    finishedAt: timestamp.nullable(),
  })
  .describe("A connection's teardown (docs/rules.md, rule 10)");
export const certificateResponse = z.strictObject({
  sha256: z.string().nullable().describe('SHA-256 fingerprint, as `AB:CD:…`'),
  notAfter: timestamp.nullable().describe('End of validity'),
  daysLeft: z
    .int()
    .nullable()
    .describe('Whole days until notAfter: 0 on its last day, negative once expired'),
});
export const connectorResponse = z.strictObject({
  id: connectorId,
  orgId,
  type: z.enum(['saml', 'entra-id', 'oidc']),
  name: z.string(),
  domains: z.array(z.string()),
  status: z.enum(['active', 'deleting']),
  enforced: z.boolean(),
  jit: z.strictObject({ enabled: z.boolean(), defaultRole: z.string() }),
  attributeMapping: z
    .strictObject({
      email: z.array(z.string()),
      name: z.array(z.string()),
      givenName: z.array(z.string()),
      familyName: z.array(z.string()),
      avatarUrl: z.array(z.string()),
    })
    .describe("The connection's own attribute names first, then the defaults"),
  saml: z
    .strictObject({
      entityId: z.string(),
      ssoUrl: z.url(),
      ssoBinding: samlBinding,
      metadataUrl: z.url().nullable(),
      certificates: z
        .array(certificateResponse)
        .describe('Fingerprints only: the certificates themselves are not echoed'),
    })
    .nullable(),
  oidc: z
    .strictObject({
      issuer: z.url(),
      tenantId: z.string().nullable().describe('Entra ID connections: the directory (tenant) ID'),
      clientId: z.string(),
      hasClientSecret: z.literal(true).describe('The secret itself is never answered'),
      authorizationEndpoint: z.url(),
    })
    .nullable()
    .describe('OIDC and Entra ID connections; register sp.oidcCallbackUrl as the redirect URI'),
  sp: z
    .strictObject({
      entityId: z.url(),
      acsUrl: z.url(),
      metadataUrl: z.url(),
      loginUrl: z.url(),
      oidcCallbackUrl: z.url(),
    })
    .describe('What the org admin gives their IdP'),
  teardown: teardownResponse.nullable().describe('Set while the connection is being deleted'),
  createdAt: timestamp,
});
export const connectorListResponse = z.strictObject({ connectors: z.array(connectorResponse) });

// Members
export const userResponse = z.strictObject({
  id: userId,
  email: z.string(),
  name: z.string().nullable(),
  avatarUrl: z.string().nullable(),
  role: z.string(),
  hasPassword: z.boolean(),
  needsPasswordSetup: z.boolean(),
  emailVerified: z.boolean(),
  ssoIdentities: z
    .array(
      z.strictObject({
        connectorId,
        subject: z.string(),
        profile: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
        lastSignInAt: timestamp,
      }),
    )
    .describe("Only the identities at this organization's own connections"),
});

// Provisioning
export const provisioningListQuery = z.object({
  status: z.enum(['failed', 'running']).default('failed'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const provisioningListResponse = z.strictObject({
  status: z.enum(['failed', 'running']),
  runs: z.array(
    z.strictObject({
      id: z.string().describe('The workflow ID, which the retry route takes'),
      runId: z.string(),
      type: z.enum(PROVISIONING_WORKFLOW_TYPES),
      status: z.string().describe("Temporal's execution status, e.g. RUNNING, FAILED, TIMED_OUT"),
      connectorId: connectorId.nullable(),
      userId: userId.nullable(),
      startedAt: timestamp,
      closedAt: timestamp.nullable(),
    }),
  ),
});
export const provisioningRetryResponse = z.strictObject({ id: z.string(), runId: z.string() });

// Sign-in diagnostics (api/services/signInDiagnostics.ts)
export const signInAttemptsQuery = z.object({
  outcome: z.enum(['failed', 'succeeded']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(512).optional().describe('nextCursor of the previous page'),
});
const shortText = z.string().max(200);
const signInFailureDetails = z
  .strictObject({
    expectedAudience: shortText,
    receivedAudiences: z.array(shortText),
    expectedIssuer: shortText,
    receivedIssuer: shortText,
    expectedDestination: shortText,
    receivedDestination: shortText,
    signingCertificateSha256: shortText,
    trustedCertificatesSha256: z.array(shortText),
    notBefore: shortText,
    notOnOrAfter: shortText,
    checkedAt: shortText,
    clockSkewSeconds: z.number(),
    attributeNames: z.array(shortText),
    emailDomain: shortText,
    allowedDomains: z.array(shortText),
    ambiguous: z.strictObject({
      source: z.enum(['email', 'subject']),
      names: z.array(shortText),
      distinctValues: z.int(),
    }),
    statusCodes: z.array(shortText),
    expectedTenant: shortText,
    receivedTenant: shortText,
  })
  .partial()
  .describe("What the IdP's answer showed about its configuration; never personal data");
export const signInAttemptsResponse = z.strictObject({
  attempts: z.array(
    z.strictObject({
      id: z.string(),
      connectorId,
      protocol: z.enum(['saml', 'oidc']),
      outcome: z.enum(['succeeded', 'failed']),
      path: z.enum(SIGN_IN_PATHS).nullable().describe('How a successful sign-in went'),
      userId: userId.nullable(),
      code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]).nullable(),
      hint: z.string().nullable().describe('For the admin, plain text (not HTML)'),
      details: signInFailureDetails.nullable(),
      at: timestamp,
    }),
  ),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next (older) page; null on the last'),
});

// End-user SSO
export const loginQuery = z.object({ returnTo: z.string().max(2048).optional() });
/** What the OpenID provider sends back (RFC 6749 4.1.2); openid-client reads it whole. */
export const oidcCallbackQuery = z.looseObject({
  code: z.string().optional(),
  state: z.string().optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
  iss: z.string().optional(),
});
export const identifyBody = z.strictObject({ email: z.string().trim().min(3).max(320) });
export const identifyResponse = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('sso'), connectorId, loginUrl: z.url() }),
  z.strictObject({ method: z.literal('password') }),
]);

// Audit log (api/routes/auditEvents.ts)
export const AUDIT_TARGET_TYPES = ['organization', 'domain', 'connection', 'user', 'other'] as const;
export const auditEventsQuery = z.object({
  action: z
    .string()
    .regex(/^[a-z_]+(\.[a-z_]+)+$/, 'an event type such as sign_in.failed')
    .max(100)
    .optional(),
  actor: z
    .string()
    .regex(
      /^(operator|api-key|anonymous|user:usr_[a-f0-9]{32})$/,
      'operator, api-key, anonymous or user:<id>',
    )
    .optional(),
  target: z
    .string()
    .regex(/^[a-z]{3}_[a-f0-9]{32}$/, 'an organization, domain, connection or user ID')
    .optional(),
  from: z.iso.datetime().optional().describe('Events at or after this time'),
  to: z.iso.datetime().optional().describe('Events before this time'),
  cursor: z.string().max(200).optional().describe('nextCursor of the previous page'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const auditEventsResponse = z.strictObject({
  events: z.array(
    z.strictObject({
      id: z.string(),
      action: z.string().describe('The event type, e.g. connector.deleted or sign_in.failed'),
      at: timestamp,
      actor: z
        .string()
        .nullable()
        .describe('operator, api-key, user:<id> or anonymous; null when the system acted on its own'),
      target: z
        .strictObject({ type: z.enum(AUDIT_TARGET_TYPES), id: z.string() })
        .nullable()
        .describe('What the event is about'),
      data: z.record(z.string(), z.unknown()).describe('IDs, codes and counts; never personal data'),
    }),
  ),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next (older) page; null at the end'),
});
