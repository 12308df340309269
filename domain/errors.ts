// One error taxonomy for the whole backend. The API renders a DomainError as problem+json with
// its `code` and `status`; activities raise the same codes as non-retryable ApplicationFailures
// (failure `type` = code), so a rule broken deep inside a workflow reaches the client unchanged.
// Codes are part of the HTTP contract: clients branch on them, so never rename one.

interface ErrorSpec {
  status: number;
  /** Default human message; a thrower may pass a more specific one. */
  title: string;
  /**
   * Only infrastructure trouble is worth retrying. Everything else is a rule that will say the
   * same thing on the next attempt, so activities must fail it as non-retryable.
   */
  retryable: boolean;
}

const rule = (status: number, title: string): ErrorSpec => ({ status, title, retryable: false });
const transient = (status: number, title: string): ErrorSpec => ({ status, title, retryable: true });

export const ERRORS = {
  // Request shape and transport
  bad_request: rule(400, 'The request could not be read'),
  validation_failed: rule(400, 'The request is not valid'),
  payload_too_large: rule(413, 'The request body is too large'),
  unsupported_media_type: rule(415, 'The request body must be JSON'),
  method_not_allowed: rule(405, 'Method not allowed'),
  not_found: rule(404, 'Not found'),
  conflict: rule(409, 'The request conflicts with the current state'),
  rate_limited: rule(429, 'Too many requests; try again later'),

  // Who is calling
  unauthorized: rule(401, 'Authentication is required'),
  forbidden: rule(403, 'This credential may not do that'),
  origin_not_allowed: rule(403, 'Requests from this web origin are not accepted'),

  // Organizations and plans
  plan_required: rule(402, 'Single sign-on needs the Business plan'),

  // Domains
  domain_invalid: rule(400, 'This is not a domain an organization can verify'),
  domain_taken: rule(409, 'Another organization has already verified this domain'),
  domain_not_verified: rule(409, 'The domain has not been verified by this organization'),
  domain_in_use: rule(409, 'The domain is already tied to another connection'),

  // Connectors and identity providers
  connector_disabled: rule(403, 'This connection cannot be used to sign in'),
  connector_deleting: rule(409, 'This connection is being deleted'),
  connector_teardown_started: rule(
    409,
    'The grace period is over and removal has started; the connection can no longer be restored',
  ),
  idp_metadata_invalid: rule(422, 'The identity provider metadata could not be used'),
  idp_unavailable: transient(502, 'The identity provider could not be reached'),

  // SSO sign-in
  sso_request_unknown: rule(400, 'This response does not answer a sign-in request we made'),
  sso_response_invalid: rule(400, 'The identity provider response failed validation'),
  return_to_not_allowed: rule(400, 'returnTo must point to an allowed origin'),
  sso_browser_mismatch: rule(400, 'This sign-in was started in another browser; start it again here'),
  // Why a SAML response was refused (sso/saml/errors.ts names the same codes).
  saml_response_missing: rule(400, 'The SAMLResponse field is missing'),
  saml_response_too_large: rule(413, 'The SAML response is too large'),
  saml_response_too_complex: rule(400, 'The SAML response has more elements or nesting than a real one'),
  saml_response_malformed: rule(400, 'The SAML response is not well-formed'),
  saml_doctype_forbidden: rule(400, 'The SAML response contains a DOCTYPE, which is not allowed'),
  saml_multiple_assertions: rule(400, 'The SAML response contains more than one assertion'),
  saml_encrypted_assertion_unsupported: rule(400, 'Encrypted assertions are not supported'),
  saml_signature_invalid: rule(400, 'The SAML response is not signed by this identity provider'),
  saml_signature_algorithm_refused: rule(
    400,
    'The SAML response is signed with SHA-1; configure the IdP for SHA-256',
  ),
  saml_idp_error: rule(400, 'The identity provider refused the sign-in'),
  saml_unsolicited_response: rule(400, 'The SAML response does not answer a pending sign-in request'),
  saml_assertion_expired: rule(400, 'The SAML assertion has expired'),
  saml_assertion_not_yet_valid: rule(400, 'The SAML assertion is not valid yet'),
  saml_audience_mismatch: rule(400, 'The SAML assertion is meant for another service provider'),
  saml_destination_mismatch: rule(400, 'The SAML response was sent to another destination'),
  saml_issuer_mismatch: rule(400, 'The SAML response comes from another identity provider'),
  saml_response_invalid: rule(400, 'The SAML response could not be validated'),
  // Why an OpenID Connect callback was refused (sso/oidc/errors.ts names the same codes).
  oidc_state_invalid: rule(
    400,
    'This sign-in answer is unknown, already used or expired; start the sign-in again',
  ),
  oidc_idp_error: rule(400, 'The identity provider refused the sign-in'),
  oidc_code_rejected: rule(
    400,
    'The identity provider did not accept the authorization code (expired, used, or a wrong client secret)',
  ),
  oidc_token_invalid: rule(400, 'The ID token failed validation'),
  oidc_tenant_mismatch: rule(
    403,
    'The ID token comes from another Microsoft Entra tenant than the connection',
  ),
  // Rule 11: never resolved by picking one of the values.
  sso_ambiguous_identity: rule(
    422,
    'The identity provider sent more than one email or subject for this person; it must send exactly one',
  ),
  email_missing: rule(
    422,
    'The identity provider sent no email address; the connection attribute mapping must provide one',
  ),
  email_domain_not_allowed: rule(403, "The email is not in one of the connection's verified domains"),
  jit_disabled: rule(403, 'No account exists for this user and just-in-time provisioning is off'),
  sign_in_expired: rule(410, 'This sign-in expired before it could be completed; sign in again'),

  // Accounts and other sign-in methods
  email_invalid: rule(400, 'This is not a valid email address'),
  email_taken: rule(409, 'An account with this email already exists'),
  invalid_credentials: rule(401, 'The email or password is wrong'),
  email_unverified: rule(
    403,
    'Confirm the email address first with the code we sent to it (sign up again for a new code)',
  ),
  sso_required: rule(403, "This email's organization requires single sign-on"),
  mfa_required: rule(401, 'A one-time code from the authenticator app is required'),
  mfa_invalid: rule(401, 'The one-time code is wrong or expired'),
  password_setup_required: rule(409, 'This account has no password yet; set one with the emailed setup link'),
  setup_token_invalid: rule(400, 'The password setup token is invalid or expired'),
  email_code_invalid: rule(401, 'The email code is wrong or expired'),
  client_upgrade_required: rule(426, 'This desktop app version is too old; please upgrade'),
  mfa_not_enrolled: rule(409, 'The account has no confirmed authenticator app (TOTP)'),
  mfa_already_enabled: rule(409, 'An authenticator app is already confirmed; disable it first'),
  break_glass_limit: rule(409, 'The organization already has as many break-glass accounts as allowed'),

  // Infrastructure
  try_again_later: transient(503, 'Temporarily unavailable; try again later'),
  not_ready: transient(503, 'Not ready: MongoDB or Temporal does not answer'),
  internal_error: transient(500, 'Something went wrong on our side'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

export function errorStatus(code: ErrorCode): number {
  return ERRORS[code].status;
}

export function isRetryableCode(code: ErrorCode): boolean {
  return ERRORS[code].retryable;
}

/**
 * A broken product rule or a refused request, with a stable code. `extensions` become extra
 * members of the problem+json body (e.g. `connectorId` for sso_required, `reason` for
 * domain_invalid), so they must never carry secrets or raw IdP attributes.
 */
export class DomainError extends Error {
  override name = 'DomainError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly extensions: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message?: string,
    extensions: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message ?? ERRORS[code].title, options);
    this.code = code;
    this.status = ERRORS[code].status;
    this.extensions = extensions;
  }

  get retryable(): boolean {
    return ERRORS[this.code].retryable;
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}

/** For the `value | DomainError` results of the normalizers: unwrap or throw. */
export function orThrow<T>(result: T | DomainError): T {
  if (result instanceof DomainError) throw result;
  return result;
}
