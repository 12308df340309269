// Why an OpenID Connect step failed, with the stable codes of domain/errors.ts, so the API and the
// discovery activity can pass them on unchanged. Messages name the check, never token contents.
export type OidcErrorCode =
  'idp_unavailable' | 'idp_metadata_invalid' | 'oidc_idp_error' | 'oidc_code_rejected' | 'oidc_token_invalid';

export class OidcError extends Error {
  override readonly name = 'OidcError';

  constructor(
    readonly code: OidcErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
