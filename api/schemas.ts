// Every request body and query the API accepts, in one place: routes validate with these at the
// edge, and the OpenAPI document (api/openapi.ts) is generated from the same schemas.
import { z } from 'zod';
import { parseCertificate } from '../sso/certificates';

// Organizations
const plan = z.enum(['free', 'team', 'business']);
export const createOrgBody = z.strictObject({ name: z.string().trim().min(1).max(200), plan });
export const patchOrgBody = z
  .strictObject({ name: z.string().trim().min(1).max(200).optional(), plan: plan.optional() })
  .refine((body) => body.name !== undefined || body.plan !== undefined, 'name or plan is required');

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
export const passwordSignInBody = z.strictObject({
  email,
  password: z.string().min(1).max(256),
  totp: z
    .string()
    .regex(/^\d{6}$/)
    .optional(),
});

// Domains
export const createDomainBody = z.strictObject({ domain: z.string().trim().min(1).max(300) });

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
    ssoBinding: z.enum(['HTTP-Redirect', 'HTTP-POST']).default('HTTP-Redirect'),
    certificates: z.array(certificate).min(1).max(5),
  }),
]);
export const createConnectorBody = z.strictObject({
  type: z.literal('saml', { error: 'only "saml" connections are supported by this version' }),
  name: z.string().trim().min(1).max(200),
  domains: z.array(z.string().trim().min(1).max(300)).min(1).max(50),
  saml: samlSettings,
  attributeMapping: attributeMapping.optional(),
  jit: jit.optional(),
  enforced: z.boolean().optional(),
});
export const patchConnectorBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    enforced: z.boolean().optional(),
    jit: jit.optional(),
    attributeMapping: attributeMapping.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to change');
export type SamlSettings = z.infer<typeof samlSettings>;

// Provisioning
export const provisioningListQuery = z.object({
  status: z.enum(['failed', 'running']).default('failed'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

// End-user SSO
export const loginQuery = z.object({ returnTo: z.string().max(2048).optional() });
export const identifyBody = z.strictObject({ email: z.string().trim().min(3).max(320) });
