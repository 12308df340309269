// Sign-in diagnostics for the IT admin: what each refused SSO sign-in tells about the IdP's
// configuration, as a short hint ("audience mismatch: the IdP sent X, this connection expects Y").
// The details hold only what an admin already sees or configures on either side (entity IDs,
// URLs, certificate fingerprints, attribute names, timestamps, an email's domain), never attribute
// values, NameIDs, emails or assertions. What a hostile sender controls is cut to a short plain
// string (clipText) before it is stored; hints are JSON data, never HTML.
import { DomainError, ERRORS, type ErrorCode } from './errors';

export type SignInProtocol = 'saml' | 'oidc';

/** Which way a successful sign-in went (the ssoSignIn workflow's outcome). */
export const SIGN_IN_PATHS = ['returning', 'linked', 'jit', 'reclaimed'] as const;
export type SignInPath = (typeof SIGN_IN_PATHS)[number];

/** What a refusal can tell an admin, gathered where the check failed. Every field is optional. */
export interface SignInFailureDetails {
  expectedAudience?: string;
  receivedAudiences?: string[];
  expectedIssuer?: string;
  receivedIssuer?: string;
  expectedDestination?: string;
  receivedDestination?: string;
  /** SHA-256 fingerprint of the certificate the message carried in its KeyInfo, if any. */
  signingCertificateSha256?: string;
  /** Fingerprints of the certificates this connection trusts. */
  trustedCertificatesSha256?: string[];
  notBefore?: string;
  notOnOrAfter?: string;
  /** The server's time when the check ran (ISO 8601). */
  checkedAt?: string;
  clockSkewSeconds?: number;
  /** Names (never values) of the attributes or claims the IdP sent. */
  attributeNames?: string[];
  /** The domain of the email the IdP sent (never the address). */
  emailDomain?: string;
  /** The connection's domains. */
  allowedDomains?: string[];
  /** Rule 11: which identifier had several values, where, and how many distinct ones. */
  ambiguous?: { source: 'email' | 'subject'; names: string[]; distinctValues: number };
  /** SAML status URNs of an IdP error response. */
  statusCodes?: string[];
  /** Entra: the connection's tenant and the one the (validated) token came from. */
  expectedTenant?: string;
  receivedTenant?: string;
}

/** Carries a refusal's details in `cause` to the diagnostics, so they never reach the answer. */
export class SignInDiagnosticDetails extends Error {
  override readonly name = 'SignInDiagnosticDetails';

  constructor(readonly details: SignInFailureDetails) {
    super('sign-in diagnostic details');
  }
}

/** A refusal whose diagnostic record gets `details`; the browser gets only code and message. */
export function refusalWithDetails(
  code: ErrorCode,
  message: string,
  details: SignInFailureDetails,
): DomainError {
  return new DomainError(code, message, {}, { cause: new SignInDiagnosticDetails(details) });
}

export const MAX_ECHO_LENGTH = 200;
const MAX_LIST_LENGTH = 50;

/**
 * A value the sender controls, fit to store and show: control characters replaced, at most
 * MAX_ECHO_LENGTH characters (an ellipsis says it was cut).
 */
export function clipText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is removed
  const plain = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim();
  return plain.length > MAX_ECHO_LENGTH ? `${plain.slice(0, MAX_ECHO_LENGTH - 1)}…` : plain;
}

/** A list of sender-controlled names: each clipped, without repeats, at most 50. */
export function clipList(items: Iterable<string>): string[] {
  return [...new Set([...items].map(clipText))].slice(0, MAX_LIST_LENGTH);
}

/** Details restricted to their declared shape, every text clipped (for values read from storage or a worker). */
export function sanitizeDetails(details: SignInFailureDetails): SignInFailureDetails {
  const out: SignInFailureDetails = {};
  const texts = [
    'expectedAudience',
    'expectedIssuer',
    'receivedIssuer',
    'expectedDestination',
    'receivedDestination',
    'signingCertificateSha256',
    'notBefore',
    'notOnOrAfter',
    'checkedAt',
    'emailDomain',
    'expectedTenant',
    'receivedTenant',
  ] as const;
  for (const key of texts) {
    const value = details[key];
    if (typeof value === 'string') out[key] = clipText(value);
  }
  const lists = [
    'receivedAudiences',
    'trustedCertificatesSha256',
    'attributeNames',
    'allowedDomains',
    'statusCodes',
  ] as const;
  for (const key of lists) {
    const value = details[key];
    if (Array.isArray(value)) out[key] = clipList(value.filter((item) => typeof item === 'string'));
  }
  if (typeof details.clockSkewSeconds === 'number' && Number.isFinite(details.clockSkewSeconds))
    out.clockSkewSeconds = details.clockSkewSeconds;
  const ambiguous = details.ambiguous;
  if (ambiguous && (ambiguous.source === 'email' || ambiguous.source === 'subject')) {
    out.ambiguous = {
      source: ambiguous.source,
      names: clipList(ambiguous.names),
      distinctValues: Math.max(0, Math.floor(ambiguous.distinctValues)),
    };
  }
  return out;
}

const quoted = (text: string) => JSON.stringify(clipText(text));
const listed = (items: readonly string[]) => items.map(quoted).join(', ');

/**
 * The admin-facing hint for a refused sign-in: what went wrong in the IdP's terms, from the
 * details the check gathered; the error table's title when there are none.
 */
export function signInHint(code: ErrorCode, details: SignInFailureDetails = {}): string {
  return specificHint(code, details) ?? ERRORS[code].title;
}

function specificHint(code: ErrorCode, d: SignInFailureDetails): string | undefined {
  switch (code) {
    case 'saml_audience_mismatch':
      if (d.expectedAudience === undefined) return undefined;
      return d.receivedAudiences && d.receivedAudiences.length > 0
        ? `audience mismatch: the IdP sent ${listed(d.receivedAudiences)}, this connection expects ${quoted(d.expectedAudience)} (the SP entity ID)`
        : `audience mismatch: the assertion names no audience, this connection expects ${quoted(d.expectedAudience)} (the SP entity ID)`;
    case 'saml_issuer_mismatch':
      if (d.expectedIssuer === undefined) return undefined;
      return d.receivedIssuer === undefined
        ? `issuer mismatch: the assertion does not name exactly one issuer, this connection expects ${quoted(d.expectedIssuer)}`
        : `issuer mismatch: the IdP sent ${quoted(d.receivedIssuer)}, this connection expects ${quoted(d.expectedIssuer)} (the IdP entity ID)`;
    case 'saml_destination_mismatch':
      if (d.expectedDestination === undefined) return undefined;
      return `destination mismatch: the IdP sent the response to ${d.receivedDestination === undefined ? 'no recipient' : quoted(d.receivedDestination)}, this connection's ACS URL is ${quoted(d.expectedDestination)}`;
    case 'saml_signature_invalid':
      return signatureHint(d);
    case 'saml_assertion_expired':
      if (d.notOnOrAfter === undefined || d.checkedAt === undefined) return undefined;
      return `assertion expired: valid until ${d.notOnOrAfter} (NotOnOrAfter), checked at ${d.checkedAt} with ${d.clockSkewSeconds ?? 0} s of clock skew allowed; check the IdP's clock, or the response was delayed or replayed`;
    case 'saml_assertion_not_yet_valid':
      if (d.notBefore === undefined || d.checkedAt === undefined) return undefined;
      return `assertion not yet valid: valid from ${d.notBefore} (NotBefore), checked at ${d.checkedAt} with ${d.clockSkewSeconds ?? 0} s of clock skew allowed; the IdP's clock runs ahead`;
    case 'saml_idp_error':
      return d.statusCodes && d.statusCodes.length > 0
        ? `the IdP answered with an error status: ${d.statusCodes.join(' / ')}`
        : undefined;
    case 'email_missing':
      return d.attributeNames && d.attributeNames.length > 0
        ? `no email attribute; the IdP sent these attribute names: ${listed(d.attributeNames)}. Map the one holding the email in the connection's attribute mapping`
        : 'no email attribute; the IdP sent no attributes at all. Configure it to release an email attribute';
    case 'email_domain_not_allowed':
      if (d.emailDomain === undefined) return undefined;
      return `email outside the connection's domains: the IdP sent an address at ${quoted(d.emailDomain)}, this connection's domains are ${listed(d.allowedDomains ?? [])}`;
    case 'sso_ambiguous_identity':
      return ambiguityHint(d);
    case 'oidc_tenant_mismatch':
      if (d.receivedTenant === undefined) return undefined;
      return `tenant mismatch: the ID token comes from the Entra tenant ${quoted(d.receivedTenant)}, this connection's tenant is ${quoted(d.expectedTenant ?? 'none')}; a multi-tenant app registration lets other tenants' users reach this connection`;
    case 'jit_disabled':
      return 'no account exists for this person and just-in-time provisioning is off for this connection';
    case 'saml_unsolicited_response':
      return 'the response does not answer a sign-in this service started (IdP-initiated, replayed, or older than the request lifetime); start sign-in at this service';
    default:
      return undefined;
  }
}

function signatureHint(d: SignInFailureDetails): string | undefined {
  const trusted = d.trustedCertificatesSha256 ?? [];
  const trustedText = trusted.length > 0 ? `; this connection trusts ${trusted.join(', ')}` : '';
  if (d.signingCertificateSha256 === undefined) {
    return trusted.length > 0
      ? `the signature does not verify with this connection's certificates${trustedText}`
      : undefined;
  }
  if (trusted.includes(d.signingCertificateSha256))
    return `the response names a certificate this connection trusts (SHA-256 fingerprint ${d.signingCertificateSha256}), but its signature does not verify: it was changed after signing`;
  return `signed with a certificate this connection does not trust (SHA-256 fingerprint ${d.signingCertificateSha256})${trustedText}; update the connection's certificates if the IdP rotated its key`;
}

function ambiguityHint(d: SignInFailureDetails): string | undefined {
  const ambiguous = d.ambiguous;
  if (!ambiguous) return undefined;
  if (ambiguous.source === 'subject')
    return `ambiguous subject: the assertion names ${ambiguous.distinctValues} different subjects (NameID); it must name exactly one`;
  return `ambiguous email: the IdP sent ${ambiguous.distinctValues} different email addresses in ${listed(ambiguous.names)}; it must send exactly one`;
}
