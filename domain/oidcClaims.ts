// Who an OpenID Connect ID token names, and what it says about them (docs/rules.md, rules 4-6).
// The token itself has already been validated (sso/oidc); these are the product's rules on its
// claims:
// - Microsoft Entra ID: the person is the tenant-scoped object ID (`tid` + `oid`), never an email
//   or `sub` (Entra's `sub` differs per application, and emails and UPNs get reassigned). A token
//   of another tenant is refused: multi-tenant app registrations accept any tenant's users, which
//   is the classic way an Entra connection lets strangers in.
// - Entra's email is the `email` claim; `preferred_username` (the UPN, which the user's tenant
//   chose) only stands in when it falls in one of the connection's verified domains.
// - Generic OIDC: the person is `sub` (the connection fixes the issuer).
// Every claim that is not token mechanics and not used for the user's fields is kept on the SSO
// identity profile.
import {
  mapProfile,
  mergeAttributeMapping,
  type AttributeMapping,
  type AttributeValues,
} from './attributeMapping';
import type { MappedProfile } from './attributeMapping';
import { normalizeEmail } from './email';
import { DomainError, ERRORS } from './errors';
import { ambiguousEmail } from './identityAmbiguity';
import { refusalWithDetails } from './signInDiagnostics';

export type OidcConnectorType = 'entra-id' | 'oidc';

/** An Entra tenant ID: a GUID. Names such as `common` or `organizations` mean "any tenant". */
export const ENTRA_TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The discovery document's base for an Entra tenant (the v2.0 endpoints), under `authorityHost`. */
export function entraIssuer(authorityHost: string, tenantId: string): string {
  return `${authorityHost.replace(/\/+$/, '')}/${tenantId.toLowerCase()}/v2.0`;
}

/** Token mechanics: they change with every sign-in and say nothing about the person. */
const PROTOCOL_CLAIMS = new Set([
  'iss',
  'aud',
  'exp',
  'iat',
  'nbf',
  'nonce',
  'at_hash',
  'c_hash',
  's_hash',
  'auth_time',
  'azp',
  'sid',
  'jti',
  'acr',
  'amr',
  // Entra's internal ones (token identifier, refresh hint, opaque session data, token version).
  'uti',
  'rh',
  'aio',
  'ver',
]);

/** JSON claim values as attribute values: strings stay, scalars become text, objects JSON text. */
export function claimsToAttributes(claims: Readonly<Record<string, unknown>>): AttributeValues {
  const text = (value: unknown): string | undefined => {
    if (value === null || value === undefined) return undefined;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return JSON.stringify(value);
  };
  const entries: [string, string | string[]][] = [];
  for (const [name, value] of Object.entries(claims)) {
    if (PROTOCOL_CLAIMS.has(name)) continue;
    if (Array.isArray(value)) {
      entries.push([name, value.map(text).filter((item): item is string => item !== undefined)]);
      continue;
    }
    const single = text(value);
    if (single !== undefined) entries.push([name, single]);
  }
  // fromEntries defines own properties, so a claim named "__proto__" stays plain data.
  return Object.fromEntries(entries);
}

export interface OidcIdentity {
  /** What identifies the person at this connection (`tid:oid` for Entra, `sub` otherwise). */
  subject: string;
  mapped: MappedProfile;
}

export interface OidcIdentityOptions {
  type: OidcConnectorType;
  /** The connection's Entra tenant; null for generic OIDC. */
  tenantId: string | null;
  /** The connection's verified domains (normalized). */
  domains: readonly string[];
  /** The connection's own attribute mapping, tried before the defaults. */
  attributeMapping?: Partial<AttributeMapping>;
}

const stringClaim = (claims: Readonly<Record<string, unknown>>, name: string): string | undefined => {
  const value = claims[name];
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};

/** The subject and mapped profile of validated ID token claims, or why they cannot sign in. */
export function oidcIdentity(
  claims: Readonly<Record<string, unknown>>,
  options: OidcIdentityOptions,
): OidcIdentity | DomainError {
  const ambiguousSubject = ambiguousSubjectClaim(
    claims,
    options.type === 'entra-id' ? ['tid', 'oid'] : ['sub'],
  );
  if (ambiguousSubject) return ambiguousSubject;
  const subject =
    options.type === 'entra-id' ? entraSubject(claims, options.tenantId) : genericSubject(claims);
  if (subject instanceof DomainError) return subject;

  const mapping = mergeAttributeMapping(options.attributeMapping);
  if (options.type === 'entra-id') {
    // Entra's UPN-like claims are names the tenant picked, not mailboxes: only `email` (and names
    // the admin mapped on purpose) count, and preferred_username below, within verified domains.
    mapping.email = [...new Set([...(options.attributeMapping?.email ?? []), 'email'])];
  }
  const attributes = claimsToAttributes(claims);
  // Rule 11: a claim with several addresses (`email: [a, b]`), or two mapped claims that disagree.
  const ambiguous = ambiguousEmail(attributes, mapping);
  if (ambiguous)
    return refusalWithDetails('sso_ambiguous_identity', 'The ID token gives more than one email address', {
      ambiguous: { source: 'email', ...ambiguous },
    });
  const mapped = mapProfile(attributes, undefined, undefined, mapping);
  if (options.type === 'entra-id' && mapped.email === undefined) {
    const fallback = preferredUsernameInDomains(claims, options.domains);
    if (fallback !== undefined) {
      mapped.email = fallback;
      delete mapped.profile.preferred_username;
    }
  }
  return { subject, mapped };
}

/**
 * Rule 11 for tokens: a subject claim holding a list of distinct values. Duplicate JSON keys cannot
 * be seen here: JSON.parse keeps the last, as RFC 7519 section 4 allows, and the token is signed
 * by the provider, so only the provider itself could write them.
 */
function ambiguousSubjectClaim(
  claims: Readonly<Record<string, unknown>>,
  names: readonly string[],
): DomainError | undefined {
  for (const name of names) {
    const value = claims[name];
    if (!Array.isArray(value)) continue;
    const distinct = new Set(value.filter((item) => typeof item === 'string')).size;
    if (distinct > 1)
      return refusalWithDetails('sso_ambiguous_identity', 'The ID token names more than one subject', {
        ambiguous: { source: 'subject', names: [name], distinctValues: distinct },
      });
  }
  return undefined;
}

function genericSubject(claims: Readonly<Record<string, unknown>>): string | DomainError {
  return stringClaim(claims, 'sub') ?? new DomainError('oidc_token_invalid', 'The ID token has no subject');
}

/** `tid:oid`, after the tenant rule: a token of another tenant never signs in. */
export function entraSubject(
  claims: Readonly<Record<string, unknown>>,
  tenantId: string | null,
): string | DomainError {
  const tid = stringClaim(claims, 'tid')?.toLowerCase();
  const oid = stringClaim(claims, 'oid')?.toLowerCase();
  if (!tid || !oid)
    return new DomainError(
      'oidc_token_invalid',
      'The ID token has no tid or oid claim (not an Entra ID token)',
    );
  if (tenantId === null || tid !== tenantId.toLowerCase())
    return refusalWithDetails('oidc_tenant_mismatch', ERRORS.oidc_tenant_mismatch.title, {
      receivedTenant: tid,
      ...(tenantId === null ? {} : { expectedTenant: tenantId }),
    });
  return `${tid}:${oid}`;
}

function preferredUsernameInDomains(
  claims: Readonly<Record<string, unknown>>,
  domains: readonly string[],
): string | undefined {
  const candidate = stringClaim(claims, 'preferred_username');
  if (candidate === undefined) return undefined;
  const normalized = normalizeEmail(candidate);
  if (normalized instanceof DomainError) return undefined;
  return domains.includes(normalized.domain) ? normalized.email : undefined;
}
