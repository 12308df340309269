// A real, certified OpenID provider (the `oidc-provider` package) on 127.0.0.1, shaped like
// Microsoft Entra ID: its issuer is `{origin}/{tenant}/v2.0`, so the backend finds it with
// ENTRA_AUTHORITY_HOST set to its origin, and its ID tokens carry Entra's claims (`tid`, `oid`,
// `preferred_username`, `email`). The test picks who logs in next; login and consent are granted
// without a page. Keys can be rotated (a new provider instance with a new key behind the same
// issuer), ID tokens made short-lived, and the token response delayed, to test expiry.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type ClientMetadata, type Configuration } from 'oidc-provider';
import { expect } from 'vitest';
import { request } from './http';
import type { TestStack } from './stack';

export interface TestClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export interface TestOidcProvider {
  /** The authority host (ENTRA_AUTHORITY_HOST for the backend under test). */
  origin: string;
  tenantId: string;
  issuer: string;
  /** Registers a client (the provider is rebuilt with it, keeping its key). */
  addClient(client: TestClient): void;
  /** Adds or replaces an account; returns its ID (also the token's `sub`). */
  setAccount(claims: Record<string, unknown>, id?: string): string;
  /** Who logs in at the next authorization request. */
  loginAs(accountId: string): void;
  /** A new signing key (with a new kid); the old one is gone from the JWKS. */
  rotateKeys(): void;
  currentKid(): string;
  idTokenTtlSeconds: number;
  tokenDelayMs: number;
  /** Serve a JWKS whose key has the current kid but is another key (a forged signature). */
  forgeJwks: boolean;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  stop(): Promise<void>;
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

export async function startOidcProvider(tenantId = randomUUID()): Promise<TestOidcProvider> {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const mount = `/${tenantId}/v2.0`;
  const issuer = `${origin}${mount}`;
  const clients: ClientMetadata[] = [];
  const accounts = new Map<string, Record<string, unknown>>();
  let key = signingKey();
  let nextLogin: string | undefined;
  let jwksFetches = 0;

  const state = {
    idTokenTtlSeconds: 3600,
    tokenDelayMs: 0,
    forgeJwks: false,
  };

  function build(): Provider {
    const configuration: Configuration = {
      clients,
      jwks: { keys: [key] },
      cookies: { keys: ['test-cookie-signing-key'] },
      claims: {
        openid: ['sub', 'tid', 'oid'],
        email: ['email', 'email_verified'],
        profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture', 'roles'],
      },
      // Entra puts the profile claims in the ID token of a code flow; so does this provider.
      conformIdTokenClaims: false,
      findAccount: (_ctx, id) => {
        const claims = accounts.get(id);
        return claims ? { accountId: id, claims: () => ({ sub: id, ...claims }) } : undefined;
      },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      loadExistingGrant: async (ctx) => {
        const grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client!.clientId,
          accountId: ctx.oidc.session!.accountId!,
        });
        grant.addOIDCScope('openid email profile');
        await grant.save();
        return grant;
      },
      ttl: { IdToken: () => state.idTokenTtlSeconds },
      features: { devInteractions: { enabled: false } },
      pkce: { required: () => true },
    };
    const built = new Provider(issuer, configuration);
    // Silence the provider's own error logging of the refusals the tests provoke.
    built.on('server_error', () => undefined);
    return built;
  }
  let provider = build();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (url.startsWith('/interaction/')) {
      const details = await provider.interactionDetails(req, res);
      expect(details.prompt.name).toBe('login');
      await provider.interactionFinished(req, res, { login: { accountId: nextLogin ?? 'nobody' } });
      return;
    }
    if (!url.startsWith(mount)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    // Served under the issuer's path, as oidc-provider expects when mounted.
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
    req.url = url.slice(mount.length) || '/';
    if (req.url.startsWith('/jwks')) {
      jwksFetches++;
      if (state.forgeJwks) {
        const {
          d: _d,
          p: _p,
          q: _q,
          dp: _dp,
          dq: _dq,
          qi: _qi,
          ...other
        } = { ...signingKey(), kid: key.kid };
        res.setHeader('content-type', 'application/jwk-set+json');
        res.end(JSON.stringify({ keys: [other] }));
        return;
      }
    }
    if (state.tokenDelayMs > 0 && req.url.startsWith('/token')) {
      // The token is minted now and delivered later: it reaches the client already expired.
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      const delay = state.tokenDelayMs;
      res.end = ((...args: unknown[]) => {
        setTimeout(() => end(...args), delay);
        return res;
      }) as typeof res.end;
    }
    void provider.callback()(req, res);
  }

  return {
    origin,
    tenantId,
    issuer,
    addClient(client) {
      clients.push({
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [client.redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      });
      provider = build();
    },
    setAccount(claims, id = randomUUID()) {
      accounts.set(id, claims);
      return id;
    },
    loginAs(accountId) {
      nextLogin = accountId;
    },
    rotateKeys() {
      key = signingKey();
      provider = build();
    },
    currentKid: () => key.kid,
    jwksFetches: () => jwksFetches,
    get idTokenTtlSeconds() {
      return state.idTokenTtlSeconds;
    },
    set idTokenTtlSeconds(value: number) {
      state.idTokenTtlSeconds = value;
    },
    get forgeJwks() {
      return state.forgeJwks;
    },
    set forgeJwks(value: boolean) {
      state.forgeJwks = value;
    },
    get tokenDelayMs() {
      return state.tokenDelayMs;
    },
    set tokenDelayMs(value: number) {
      state.tokenDelayMs = value;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The cookies a response sets, as `name=value` pairs (attributes dropped). */
function setCookies(headers: Headers): Map<string, string> {
  return new Map(
    headers.getSetCookie().map((line) => {
      const pair = line.split(';')[0] ?? '';
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)] as const;
    }),
  );
}

export interface OidcLoginStart {
  authorizationUrl: URL;
  /** The browser-binding cookie our API set, as a `cookie` header value. */
  bindingCookie: string | undefined;
}

/** GET /v1/sso/:id/login: the redirect to the provider. */
export async function startOidcLogin(
  stack: TestStack,
  connectorId: string,
  returnTo = 'https://app.example.test/home',
): Promise<OidcLoginStart> {
  const res = await request(
    stack.baseUrl,
    'GET',
    `/v1/sso/${connectorId}/login?returnTo=${encodeURIComponent(returnTo)}`,
  );
  expect(res.status).toBe(302);
  const binding = [...setCookies(res.headers)].find(([name]) => name.endsWith('sso_binding'));
  return {
    authorizationUrl: new URL(res.headers.get('location') ?? ''),
    bindingCookie: binding ? `${binding[0]}=${binding[1]}` : undefined,
  };
}

/**
 * The browser at the provider: follows its redirects (login granted by the test) with its own
 * cookie jar until it is sent to our callback, and returns that callback URL.
 */
export async function authorizeAtProvider(authorizationUrl: URL, callbackPrefix: string): Promise<URL> {
  const jar = new Map<string, string>();
  let url = authorizationUrl;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
    });
    for (const [name, value] of setCookies(res.headers)) jar.set(name, value);
    await res.text();
    const location = res.headers.get('location');
    if (!location) throw new Error(`the provider answered ${res.status} without a redirect`);
    url = new URL(location, url);
    if (url.href.startsWith(callbackPrefix)) return url;
  }
  throw new Error('too many redirects at the provider');
}

export interface OidcCallbackResult {
  status: number;
  location: string | null;
  body: Record<string, unknown>;
  sessionToken: string | undefined;
}

/** GET our callback with what the provider sent, in the browser holding `cookie`. */
export async function oidcCallback(
  stack: TestStack,
  callback: URL,
  cookie: string | undefined,
): Promise<OidcCallbackResult> {
  const res = await request(stack.baseUrl, 'GET', `${callback.pathname}${callback.search}`, {
    ...(cookie ? { headers: { cookie } } : {}),
  });
  const session = [...setCookies(res.headers)].find(([name]) => name.endsWith('sso_session'));
  return {
    status: res.status,
    location: res.headers.get('location'),
    body: typeof res.body === 'object' && res.body !== null ? res.body : {},
    sessionToken: session?.[1],
  };
}
