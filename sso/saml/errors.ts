// SAML failures carry a stable `code` that the API turns into problem+json. Messages are fixed
// texts chosen here, never copied from the XML: a response carries NameIDs, emails and other
// personal data, and error messages end up in logs and in browsers.

import type { ErrorCode } from '../../domain/errors';
import type { SignInFailureDetails } from '../../domain/signInDiagnostics';

/**
 * Why a SAML response was refused: the `saml_` codes of the one error table, and the
 * protocol-neutral refusal of an ambiguous subject (rule 11).
 */
export type SamlValidationErrorCode = Extract<ErrorCode, `saml_${string}` | 'sso_ambiguous_identity'>;

export class SamlValidationError extends Error {
  override readonly name = 'SamlValidationError';

  constructor(
    readonly code: SamlValidationErrorCode,
    message: string,
    /**
     * What the sign-in diagnostics may tell the connection's admin (domain/signInDiagnostics.ts):
     * the IdP's configuration as the response shows it, never personal data. Plain JSON data, so
     * it survives being passed between threads.
     */
    readonly details: SignInFailureDetails = {},
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
