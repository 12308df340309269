// SP-initiated sign-in over OpenID Connect (connections of type `entra-id` and `oidc`): the
// authorization request (code flow with PKCE, state and nonce, kept server-side and bound to the
// browser that started it) and the callback. Everything the callback brings is hostile until the
// state has been taken (once, db/oidcRequests.ts), the browser matched, and openid-client has
// exchanged the code and validated the ID token; then the claim rules of domain/oidcClaims.ts pick
// the subject and profile, and the same ssoSignIn workflow as SAML decides who signs in.
import type { ConnectorDoc } from '../../db/collections';
import { consumeOidcRequest, saveOidcRequest } from '../../db/oidcRequests';
import { DomainError, orThrow } from '../../domain/errors';
import type { ConnectorId } from '../../domain/ids';
import { claimsToAttributes, oidcIdentity } from '../../domain/oidcClaims';
import type { UntrustedFetchOptions } from '../../security/untrustedFetch';
import { spUrls } from '../../sso/connectorUrls';
import { OidcError } from '../../sso/oidc/errors';
import {
  authorizationUrl,
  newAuthorizationRequest,
  OIDC_DOCUMENT_MAX_BYTES,
  validateCallback,
  type JwksCacheSlot,
  type OidcClientOptions,
} from '../../sso/oidc/oidcClient';
import { untrustedCustomFetch } from '../../sso/oidc/safeFetch';
import type { ApiDeps } from '../context';
import type { AfterSignIn } from './afterSignIn';
import { openClientSecret } from './oidcConnectors';
import { recordSignInAttempt, type SignInRecorder } from './signInDiagnostics';
import { connectorForLogin, loginReturnTo, signInAs, type SsoSignedIn } from './ssoSignIn';

const TIMEOUT_MS = 10_000;

/**
 * Each provider's JWKS, cached in this process between sign-ins (sso/oidc/oidcClient.ts says how
 * rotation is picked up). Keyed by connection and JWKS URL, so a connection never sees another's
 * keys.
 */
const jwksCaches = new Map<string, JwksCacheSlot>();

function jwksSlot(connector: ConnectorDoc, jwksUri: string): JwksCacheSlot {
  const key = `${connector._id}\n${jwksUri}`;
  let slot = jwksCaches.get(key);
  if (!slot) {
    slot = { value: undefined };
    jwksCaches.set(key, slot);
  }
  return slot;
}

function clientOptions(deps: ApiDeps, connector: ConnectorDoc, clientSecret?: string): OidcClientOptions {
  const settings = connector.oidc;
  if (!settings)
    throw new DomainError('connector_disabled', 'This connection has no OpenID Connect settings');
  const fetchOptions: UntrustedFetchOptions = {
    policy: {
      httpsOnly: deps.config.env === 'production',
      allowedNetworks: deps.config.idpFetchAllowedNetworks,
    },
    timeoutMs: TIMEOUT_MS,
    maxBytes: OIDC_DOCUMENT_MAX_BYTES,
  };
  return {
    provider: settings.provider,
    clientId: settings.clientId,
    ...(clientSecret === undefined ? {} : { clientSecret }),
    redirectUri: spUrls(deps.config.publicUrl, connector._id).oidcCallbackUrl,
    clockToleranceSeconds: Math.ceil(deps.config.saml.clockSkewMs / 1000),
    transport: {
      fetch: untrustedCustomFetch(fetchOptions),
      allowHttp: deps.config.env !== 'production',
      timeoutSeconds: TIMEOUT_MS / 1000,
    },
    jwksCache: jwksSlot(connector, settings.provider.jwks_uri),
  };
}

/**
 * The authorization request URL. `bindBrowser` ties the sign-in to the browser that starts it
 * (api/browserBinding.ts) and answers the digest kept with the request.
 */
export async function oidcLoginUrl(
  deps: ApiDeps,
  connector: ConnectorDoc,
  returnTo: string | undefined,
  bindBrowser: () => string,
): Promise<string> {
  const options = clientOptions(deps, connector);
  const returnTarget = loginReturnTo(deps, returnTo);
  const request = newAuthorizationRequest();
  await saveOidcRequest(deps.c, request.state, {
    connectorId: connector._id,
    nonce: request.nonce,
    codeVerifier: request.codeVerifier,
    returnTo: returnTarget,
    bindingDigest: bindBrowser(),
    expiresAt: new Date(deps.clock().getTime() + deps.config.saml.requestTtlMs),
  });
  return (await authorizationUrl(options, request)).href;
}

/** The callback's query as the provider sent it: single values only (a repeated one is refused). */
function callbackUrl(redirectUri: string, query: Readonly<Record<string, unknown>>): URL {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (typeof value !== 'string')
      throw new DomainError('validation_failed', `The callback parameter ${name} is repeated`, {
        field: name,
      });
    url.searchParams.set(name, value);
  }
  return url;
}

/**
 * The callback: who signs in, and where the browser goes next. `isSameBrowser` checks the digest
 * kept with the request against the browser that arrives here.
 */
export async function completeOidcSignIn(
  deps: ApiDeps,
  connectorId: ConnectorId,
  query: Readonly<Record<string, unknown>>,
  clientVersion: string | undefined,
  isSameBrowser: (bindingDigest: string) => boolean,
  /** Where a success's diagnostic write goes to finish alongside the session. */
  after?: AfterSignIn,
): Promise<SsoSignedIn> {
  // Every attempt leaves a sign-in diagnostic for the connection's admin (signInDiagnostics.ts).
  return recordSignInAttempt(
    deps,
    connectorId,
    'oidc',
    (recorder) => consumeOidcCallback(deps, connectorId, query, clientVersion, isSameBrowser, recorder),
    after,
  );
}

async function consumeOidcCallback(
  deps: ApiDeps,
  connectorId: ConnectorId,
  query: Readonly<Record<string, unknown>>,
  clientVersion: string | undefined,
  isSameBrowser: (bindingDigest: string) => boolean,
  recorder: SignInRecorder,
): Promise<SsoSignedIn> {
  const connector = await connectorForLogin(deps, connectorId, clientVersion);
  recorder.note({ connector });
  const options = clientOptions(deps, connector);
  const url = callbackUrl(options.redirectUri, query);
  const state = url.searchParams.get('state');
  // Taken before anything else is looked at: an answer is usable once, even a failed one.
  const pending = state ? await consumeOidcRequest(deps.c, state, connector._id, deps.clock()) : null;
  if (!state || !pending) throw new DomainError('oidc_state_invalid');
  if (!isSameBrowser(pending.bindingDigest)) throw new DomainError('sso_browser_mismatch');

  let claims: Record<string, unknown>;
  try {
    claims = await validateCallback(
      { ...options, clientSecret: await openClientSecret(deps, connector) },
      url,
      { state, nonce: pending.nonce, codeVerifier: pending.codeVerifier },
      deps.clock(),
    );
  } catch (error) {
    if (error instanceof OidcError) throw new DomainError(error.code, error.message);
    throw error;
  }
  const identity = orThrow(
    oidcIdentity(claims, {
      type: connector.type === 'entra-id' ? 'entra-id' : 'oidc',
      tenantId: connector.oidc?.tenantId ?? null,
      domains: connector.domains,
      attributeMapping: connector.attributeMapping,
    }),
  );
  recorder.note({
    attributeNames: Object.keys(claimsToAttributes(claims)),
    ...(identity.mapped.email === undefined ? {} : { email: identity.mapped.email }),
  });
  const userId = await signInAs(deps, connector, identity.subject, identity.mapped, recorder.signedIn);
  return { userId, connectorId: connector._id, orgId: connector.orgId, returnTo: pending.returnTo };
}
