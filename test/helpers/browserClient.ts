// One browser's worth of state for API flows: a cookie jar (the e2e one) in front of fetch, with
// JSON calls for the app's own requests and the SAML round trip through the test IdP. Two of
// these are two people: what one signs in never shows up in the other's cookies.
import { inflateRawSync } from 'node:zlib';
import { expect } from 'vitest';
import { CookieJar } from '../e2e/helpers/browser';
import type { JsonResponse } from './http';
import { buildSamlResponse, type SamlResponseOptions } from './samlIdp';
import type { SsoFixture } from './sso';
import type { TestStack } from './stack';

export class BrowserClient {
  readonly cookies = new CookieJar();

  constructor(private readonly stack: TestStack) {}

  /** A JSON request from the app's own page, with this browser's cookies. */
  json<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<JsonResponse<T>> {
    return this.send<T>(method, path, {
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  }

  /** A complete SP-initiated SSO sign-in in this browser: login redirect, signed response, ACS post. */
  async ssoSignIn(fixture: SsoFixture, options: SamlResponseOptions): Promise<JsonResponse> {
    const login = await this.send('GET', `/v1/sso/${fixture.connectorId}/login`);
    expect(login.status).toBe(302);
    const location = new URL(login.headers.get('location') ?? '');
    const authnRequest = inflateRawSync(
      Buffer.from(location.searchParams.get('SAMLRequest') ?? '', 'base64'),
    ).toString('utf8');
    const samlResponse = buildSamlResponse({
      inResponseTo: /\sID="([^"]+)"/.exec(authnRequest)?.[1] ?? '',
      destination: fixture.acsUrl,
      recipient: fixture.acsUrl,
      audience: fixture.spEntityId,
      ...options,
    });
    return this.send('POST', `/v1/sso/${fixture.connectorId}/acs`, {
      body: new URLSearchParams({
        SAMLResponse: samlResponse,
        RelayState: location.searchParams.get('RelayState') ?? '',
      }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  private async send<T>(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<JsonResponse<T>> {
    const url = new URL(path, this.stack.baseUrl);
    const cookie = this.cookies.header(url);
    const response = await fetch(url, {
      method,
      body: init.body,
      headers: { ...init.headers, ...(cookie ? { cookie } : {}) },
      redirect: 'manual',
    });
    this.cookies.store(url, response.headers.getSetCookie());
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Redirects and XML stay as text.
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }
}
