// SAML failures carry a stable `code` that the API turns into problem+json. Messages are fixed
// texts chosen here, never copied from the XML: a response carries NameIDs, emails and other
// personal data, and error messages end up in logs and in browsers.

/** Why a SAML response was refused. */
export type SamlValidationErrorCode =
  | 'saml_response_missing'
  | 'saml_response_too_large'
  | 'saml_response_too_complex'
  | 'saml_response_malformed'
  | 'saml_doctype_forbidden'
  | 'saml_multiple_assertions'
  | 'saml_encrypted_assertion_unsupported'
  | 'saml_signature_invalid'
  | 'saml_signature_algorithm_refused'
  | 'saml_idp_error'
  | 'saml_unsolicited_response'
  | 'saml_assertion_expired'
  | 'saml_assertion_not_yet_valid'
  | 'saml_audience_mismatch'
  | 'saml_destination_mismatch'
  | 'saml_issuer_mismatch'
  | 'saml_response_invalid';

export class SamlValidationError extends Error {
  override readonly name = 'SamlValidationError';

  constructor(
    readonly code: SamlValidationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Why IdP metadata was refused. */
export type SamlMetadataErrorCode =
  'saml_metadata_too_large' | 'saml_metadata_invalid' | 'saml_metadata_expired' | 'saml_doctype_forbidden';

export class SamlMetadataError extends Error {
  override readonly name = 'SamlMetadataError';

  constructor(
    readonly code: SamlMetadataErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request store failed (database down, timeout). Not the sender's fault: callers should let it
 * surface as a server error, so it is kept apart from {@link SamlValidationError}.
 */
export class SamlRequestStoreError extends Error {
  override readonly name = 'SamlRequestStoreError';

  constructor(options: { cause: unknown }) {
    super('The SAML request store is unavailable', options);
  }
}
