// Reads an OpenID provider's discovery document and its JWKS for a new OIDC or Entra ID
// connection. Both URLs are untrusted (an admin typed the issuer, the document names the JWKS):
// they take the SSRF-safe road of security/untrustedFetch.ts with time and size limits, and every
// way of not getting an answer fails alike (idp_unavailable, retried a few times by the workflow);
// a document that answers but cannot be used is idp_metadata_invalid, not retried.
import { ApplicationFailure } from '@temporalio/activity';
import { idpUrlProblem, type InsecureHttpPolicy } from '../domain/idpUrls';
import {
  ResponseTooLargeError,
  requestUntrustedUrl,
  type UntrustedFetchOptions,
  type UntrustedFetchPolicy,
} from '../security/untrustedFetch';
import { discoverProvider, OIDC_DOCUMENT_MAX_BYTES, type OidcProviderMetadata } from '../sso/oidc/oidcClient';
import { OidcError } from '../sso/oidc/errors';
import { untrustedCustomFetch } from '../sso/oidc/safeFetch';

export type { OidcProviderMetadata };

const UNAVAILABLE = 'The OpenID provider could not be reached';

export function createOidcDiscoveryActivities(deps: {
  timeoutMs: number;
  fetchPolicy: UntrustedFetchPolicy;
  insecureHttp: InsecureHttpPolicy;
  resolve?: UntrustedFetchOptions['resolve'];
}) {
  const fetchOptions: UntrustedFetchOptions = {
    policy: deps.fetchPolicy,
    timeoutMs: deps.timeoutMs,
    maxBytes: OIDC_DOCUMENT_MAX_BYTES,
    ...(deps.resolve ? { resolve: deps.resolve } : {}),
  };

  async function checkJwks(jwksUri: string): Promise<void> {
    let text: string;
    try {
      const answer = await requestUntrustedUrl(
        jwksUri,
        { method: 'GET', headers: { accept: 'application/json, application/jwk-set+json' } },
        fetchOptions,
      );
      text = answer.body;
    } catch (error) {
      if (error instanceof ResponseTooLargeError)
        throw ApplicationFailure.nonRetryable('The JWKS is too large', 'idp_metadata_invalid');
      throw ApplicationFailure.retryable(UNAVAILABLE, 'idp_unavailable');
    }
    if (!hasPublicSigningKey(text))
      throw ApplicationFailure.nonRetryable('The JWKS holds no public signing key', 'idp_metadata_invalid');
  }

  return {
    async fetchOidcProvider({ issuer }: { issuer: string }): Promise<OidcProviderMetadata> {
      let metadata: OidcProviderMetadata;
      try {
        metadata = await discoverProvider(issuer, {
          fetch: untrustedCustomFetch(fetchOptions),
          allowHttp: !deps.fetchPolicy.httpsOnly,
          timeoutSeconds: Math.ceil(deps.timeoutMs / 1000),
        });
      } catch (error) {
        if (error instanceof OidcError && error.code === 'idp_unavailable')
          throw ApplicationFailure.retryable(UNAVAILABLE, 'idp_unavailable');
        if (error instanceof OidcError)
          throw ApplicationFailure.nonRetryable(error.message, 'idp_metadata_invalid');
        throw error;
      }
      for (const [field, url] of [
        ['authorization_endpoint', metadata.authorization_endpoint],
        ['token_endpoint', metadata.token_endpoint],
        ['jwks_uri', metadata.jwks_uri],
      ] as const) {
        const problem = idpUrlProblem(url, deps.insecureHttp);
        if (problem) throw ApplicationFailure.nonRetryable(`${field} ${problem}`, 'idp_metadata_invalid');
      }
      await checkJwks(metadata.jwks_uri);
      return metadata;
    },
  };
}

function hasPublicSigningKey(text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return false;
  return keys.some((key: unknown) => {
    if (typeof key !== 'object' || key === null) return false;
    const jwk = key as Record<string, unknown>;
    return (
      ['RSA', 'EC', 'OKP'].includes(String(jwk.kty)) &&
      (jwk.use === undefined || jwk.use === 'sig') &&
      !('d' in jwk)
    );
  });
}
