// The OpenID Connect relying party, over openid-client (a certified implementation): discovery,
// the authorization request with PKCE (S256), state and nonce, and the callback, where the code
// is exchanged and the ID token validated: signature by the provider's JWKS, issuer, audience,
// expiry, nonce, azp. Nothing here is hand-rolled crypto or JWT parsing.
//
// Signing keys: the JWKS is cached per provider in this process and handed to openid-client with
// each callback. A token signed by a key the cache does not hold makes openid-client fetch the
// JWKS again (its cooldown is lifted, see jwksCacheFor), so a provider's key rotation is picked
// up on the next sign-in, without a restart. A cache older than five minutes is not used.
import * as client from 'openid-client';
import { ResponseTooLargeError, UrlUnreachableError } from '../../security/untrustedFetch';
import { OidcError } from './errors';

/** What the connection keeps of the provider's discovery document. */
export interface OidcProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  token_endpoint_auth_methods_supported?: string[];
  id_token_signing_alg_values_supported?: string[];
  code_challenge_methods_supported?: string[];
  authorization_response_iss_parameter_supported?: boolean;
}

export interface OidcTransport {
  fetch: client.CustomFetch;
  /** Plain http to the provider (development and tests only). */
  allowHttp: boolean;
  timeoutSeconds: number;
}

export const OIDC_SCOPES = 'openid email profile';

/** The most any answer from the provider may hold: discovery documents are a few KB, Entra's JWKS ~10 KB. */
export const OIDC_DOCUMENT_MAX_BYTES = 256 * 1024;

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 10) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain;
}

/** No answer at all (unreachable, refused address, timeout) or an HTTP error status. */
function isUnreachable(error: unknown): boolean {
  return causes(error).some(
    (cause) =>
      cause instanceof UrlUnreachableError ||
      (cause instanceof client.ClientError &&
        (cause.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' ||
          cause.code === 'OAUTH_TIMEOUT' ||
          cause.code === 'OAUTH_ABORT')),
  );
}

const isTooLarge = (error: unknown) => causes(error).some((cause) => cause instanceof ResponseTooLargeError);

/**
 * Reads `{issuer}/.well-known/openid-configuration`. openid-client checks that the document names
 * exactly this issuer; here we also require what an authorization code flow needs.
 */
export async function discoverProvider(
  issuer: string,
  transport: OidcTransport,
): Promise<OidcProviderMetadata> {
  let config: client.Configuration;
  try {
    config = await client.discovery(new URL(issuer), 'discovery', undefined, client.None(), {
      [client.customFetch]: transport.fetch,
      timeout: transport.timeoutSeconds,
      execute: transport.allowHttp ? [client.allowInsecureRequests] : [],
    });
  } catch (error) {
    if (isTooLarge(error)) throw new OidcError('idp_metadata_invalid', 'The discovery document is too large');
    if (isUnreachable(error))
      throw new OidcError('idp_unavailable', 'The discovery document could not be read');
    throw new OidcError('idp_metadata_invalid', 'The discovery document is not valid for this issuer', {
      cause: error,
    });
  }
  const metadata = config.serverMetadata();
  const { authorization_endpoint, token_endpoint, jwks_uri } = metadata;
  if (!authorization_endpoint || !token_endpoint || !jwks_uri)
    throw new OidcError(
      'idp_metadata_invalid',
      'The discovery document lacks an authorization, token or JWKS endpoint',
    );
  if (metadata.response_types_supported && !metadata.response_types_supported.includes('code'))
    throw new OidcError('idp_metadata_invalid', 'The provider does not support the authorization code flow');
  // Entra does not list PKCE methods yet supports S256; a provider that lists them must list S256.
  if (
    metadata.code_challenge_methods_supported &&
    !metadata.code_challenge_methods_supported.includes('S256')
  )
    throw new OidcError('idp_metadata_invalid', 'The provider does not support PKCE with S256');
  return {
    issuer: metadata.issuer,
    authorization_endpoint,
    token_endpoint,
    jwks_uri,
    ...pickArray(metadata, 'token_endpoint_auth_methods_supported'),
    ...pickArray(metadata, 'id_token_signing_alg_values_supported'),
    ...pickArray(metadata, 'code_challenge_methods_supported'),
    ...(metadata.authorization_response_iss_parameter_supported === true
      ? { authorization_response_iss_parameter_supported: true }
      : {}),
  };
}

function pickArray<K extends keyof OidcProviderMetadata>(
  metadata: client.ServerMetadata,
  key: K,
): Partial<Pick<OidcProviderMetadata, K>> {
  const value: unknown = metadata[key];
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
    ? ({ [key]: value } as Partial<Pick<OidcProviderMetadata, K>>)
    : {};
}

export interface OidcClientOptions {
  provider: OidcProviderMetadata;
  clientId: string;
  /** Needed for the token request only; building the authorization URL does without. */
  clientSecret?: string;
  redirectUri: string;
  clockToleranceSeconds: number;
  transport: OidcTransport;
  /** Where this provider's JWKS is cached between sign-ins (one per connection). */
  jwksCache: JwksCacheSlot;
}

export interface JwksCacheSlot {
  value: client.ExportedJWKSCache | undefined;
}

/** The secret goes in the Authorization header unless the provider takes it in the body only. */
function clientAuth(provider: OidcProviderMetadata, secret: string): client.ClientAuth {
  const methods = provider.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  return methods.includes('client_secret_basic') || !methods.includes('client_secret_post')
    ? client.ClientSecretBasic(secret)
    : client.ClientSecretPost(secret);
}

const MAX_JWKS_AGE_SECONDS = 300;
/** openid-client refetches a JWKS that lacks the token's key only once it is this old. */
const JWKS_REFETCH_COOLDOWN_SECONDS = 60;

/**
 * The cache to hand to openid-client, aged past its refetch cooldown so that a token signed by a
 * new key triggers a fetch at once. The provider's token endpoint (over TLS, with our client
 * secret) chose that key, not the browser, so no one else can make us fetch.
 */
function jwksCacheFor(slot: JwksCacheSlot, nowSeconds: number): client.ExportedJWKSCache | undefined {
  const cached = slot.value;
  if (!cached || nowSeconds - cached.uat >= MAX_JWKS_AGE_SECONDS) return undefined;
  return { jwks: cached.jwks, uat: Math.min(cached.uat, nowSeconds - JWKS_REFETCH_COOLDOWN_SECONDS) };
}

function configuration(options: OidcClientOptions): client.Configuration {
  const config = new client.Configuration(
    { ...options.provider },
    options.clientId,
    {
      [client.clockTolerance]: options.clockToleranceSeconds,
      id_token_signed_response_alg: signingAlg(options.provider),
    },
    options.clientSecret === undefined ? client.None() : clientAuth(options.provider, options.clientSecret),
  );
  config[client.customFetch] = options.transport.fetch;
  config.timeout = options.transport.timeoutSeconds;
  if (options.transport.allowHttp) client.allowInsecureRequests(config);
  // openid-client trusts an ID token from the token endpoint on TLS alone unless told otherwise
  // (OIDC Core 3.1.3.7 allows that); we verify its signature with the provider's JWKS as well.
  client.enableNonRepudiationChecks(config);
  return config;
}

/** RS256 is every provider's mandatory algorithm; one that signs only with another says so. */
function signingAlg(provider: OidcProviderMetadata): string {
  const algs = provider.id_token_signing_alg_values_supported ?? ['RS256'];
  return algs.includes('RS256')
    ? 'RS256'
    : (algs.find((alg) => alg !== 'none' && !alg.startsWith('HS')) ?? 'RS256');
}

export interface AuthorizationRequest {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Fresh random state, nonce and PKCE verifier for one authorization request. */
export function newAuthorizationRequest(): AuthorizationRequest {
  return {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier: client.randomPKCECodeVerifier(),
  };
}

export async function authorizationUrl(
  options: OidcClientOptions,
  request: AuthorizationRequest,
): Promise<URL> {
  return client.buildAuthorizationUrl(configuration(options), {
    redirect_uri: options.redirectUri,
    response_type: 'code',
    scope: OIDC_SCOPES,
    state: request.state,
    nonce: request.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
    code_challenge_method: 'S256',
  });
}

/**
 * Exchanges the code from `callbackUrl` and returns the validated ID token's claims. Throws an
 * {@link OidcError} naming the failed step.
 */
export async function validateCallback(
  options: OidcClientOptions,
  callbackUrl: URL,
  request: AuthorizationRequest,
  now: Date,
): Promise<Record<string, unknown>> {
  const config = configuration(options);
  const cached = jwksCacheFor(options.jwksCache, Math.floor(now.getTime() / 1000));
  if (cached) client.setJwksCache(config, cached);
  let tokens;
  try {
    tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: request.codeVerifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
  } catch (error) {
    throw callbackError(error);
  } finally {
    rememberJwks(options.jwksCache, client.getJwksCache(config), cached);
  }
  const claims = tokens.claims();
  if (!claims) throw new OidcError('oidc_token_invalid', 'The token response has no ID token');
  return { ...claims };
}

function rememberJwks(
  slot: JwksCacheSlot,
  after: client.ExportedJWKSCache | undefined,
  handedIn: client.ExportedJWKSCache | undefined,
): void {
  // Unchanged means openid-client used what we handed in: keep the real fetch time.
  if (after && after.uat !== handedIn?.uat) slot.value = after;
}

function callbackError(error: unknown): OidcError {
  if (error instanceof client.AuthorizationResponseError)
    return new OidcError('oidc_idp_error', `The identity provider answered ${error.error}`);
  if (error instanceof client.ResponseBodyError)
    return new OidcError('oidc_code_rejected', `The token endpoint answered ${error.error}`);
  // A client authentication failure comes back as 401 with a WWW-Authenticate challenge.
  if (error instanceof client.WWWAuthenticateChallengeError)
    return new OidcError('oidc_code_rejected', 'The token endpoint refused the client credentials');
  if (isTooLarge(error)) return new OidcError('idp_unavailable', 'The identity provider answer is too large');
  if (isUnreachable(error))
    return new OidcError('idp_unavailable', 'The identity provider could not be reached');
  const failed = causes(error).find(
    (cause): cause is client.ClientError => cause instanceof client.ClientError,
  );
  return new OidcError(
    'oidc_token_invalid',
    `The ID token failed validation (${failed?.code ?? 'invalid'})`,
    {
      cause: error,
    },
  );
}
