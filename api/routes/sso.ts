// End-user SSO: home-realm discovery, SP metadata, the SP-initiated login redirect and the SAML
// assertion consumer, and the OpenID Connect callback (api/services/oidcSignIn.ts). What the login and the consumer do lives in api/services/ssoSignIn.ts.
import Router from '@koa/router';
import type { z } from 'zod';
import { findConnectorForDomain } from '../../db/connectors';
import { normalizeEmail } from '../../domain/email';
import { DomainError, orThrow } from '../../domain/errors';
import type { ConnectorId } from '../../domain/ids';
import { spUrls } from '../../sso/connectorUrls';
import { buildSpMetadata } from '../../sso/saml/spMetadata';
import type { ApiContext, ApiDeps, ApiState } from '../context';
import { bindBrowser, isSameBrowser } from '../browserBinding';
import { startSession } from '../sessions';
import { timed } from '../../runtime/stepTimings';
import { completeOidcSignIn, oidcLoginUrl } from '../services/oidcSignIn';
import {
  completeSsoSignIn,
  connectorForLogin,
  ssoLoginRequest,
  type SsoSignedIn,
} from '../services/ssoSignIn';
import { identifyBody, identifyResponse, loginQuery, oidcCallbackQuery } from '../schemas';
import { rateLimit } from '../middleware/rateLimit';
import { withSignInOutcome } from '../services/signInOutcomes';
import { afterSignIn, type AfterSignIn } from '../services/afterSignIn';
import { parse } from '../validate';
import { connectorParams } from './connectors';

export function ssoRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.post('/v1/auth/identify', rateLimit(deps, '/v1/auth/identify'), async (ctx) => {
    const { email } = parse(identifyBody, ctx.request.body);
    const connector = await findConnectorForDomain(deps.c, orThrow(normalizeEmail(email)).domain);
    const view: z.output<typeof identifyResponse> = connector
      ? {
          method: 'sso',
          connectorId: connector._id,
          loginUrl: spUrls(deps.config.publicUrl, connector._id).loginUrl,
        }
      : { method: 'password' };
    ctx.body = view;
  });

  router.get('/v1/sso/:connectorId/metadata', async (ctx) => {
    const { connectorId } = parse(connectorParams, ctx.params);
    const connector = await deps.c.connectors.findOne({ _id: connectorId as ConnectorId });
    if (!connector) throw new DomainError('not_found', 'Connection not found');
    // An OIDC connection has no SAML service provider to describe: metadata would invite an IdP
    // admin to configure SAML against a connection that never accepts it.
    if (connector.type !== 'saml') throw new DomainError('not_found', 'This connection does not use SAML');
    const sp = spUrls(deps.config.publicUrl, connector._id);
    ctx.type = 'application/samlmetadata+xml';
    ctx.body = buildSpMetadata({ spEntityId: sp.entityId, acsUrl: sp.acsUrl });
  });

  router.get(
    '/v1/sso/:connectorId/login',
    rateLimit(deps, '/v1/sso/:connectorId/login', { connection: true }),
    async (ctx) => {
      const { connectorId } = parse(connectorParams, ctx.params);
      const connector = await connectorForLogin(
        deps,
        connectorId as ConnectorId,
        ctx.get('x-client-version') || undefined,
      );
      const { returnTo } = parse(loginQuery, ctx.query);
      if (connector.type !== 'saml') {
        ctx.redirect(await oidcLoginUrl(deps, connector, returnTo, () => bindBrowser(deps, ctx)));
        return;
      }
      const login = await ssoLoginRequest(deps, connector, returnTo, () => bindBrowser(deps, ctx));
      if (login.kind === 'form') {
        // The IdP takes AuthnRequests by POST only: the browser submits this form to it at once.
        ctx.type = 'text/html';
        // The page only submits its form to the IdP (node-saml's inline script does it on load).
        ctx.set(
          'Content-Security-Policy',
          `default-src 'none'; script-src 'unsafe-inline'; form-action ${login.idpOrigin}; frame-ancestors 'none'`,
        );
        ctx.body = login.html;
        return;
      }
      ctx.redirect(login.url);
    },
  );

  router.post(
    '/v1/sso/:connectorId/acs',
    rateLimit(deps, '/v1/sso/:connectorId/acs', { connection: true }),
    async (ctx) => {
      const { connectorId } = parse(connectorParams, ctx.params);
      const body = (ctx.request.body ?? {}) as { SAMLResponse?: unknown; RelayState?: unknown };
      await finishIdpCallback(deps, ctx, 'saml', connectorId as ConnectorId, completeSsoSignIn, body);
    },
  );

  router.get(
    '/v1/sso/:connectorId/callback',
    rateLimit(deps, '/v1/sso/:connectorId/callback', { connection: true }),
    async (ctx) => {
      const { connectorId } = parse(connectorParams, ctx.params);
      const query = parse(oidcCallbackQuery, ctx.query);
      await finishIdpCallback(deps, ctx, 'oidc', connectorId as ConnectorId, completeOidcSignIn, query);
    },
  );

  return router;
}

/** What completes a sign-in from the IdP's answer: completeSsoSignIn (SAML) or completeOidcSignIn. */
type CompleteSignIn<Answer> = (
  deps: ApiDeps,
  connectorId: ConnectorId,
  answer: Answer,
  clientVersion: string | undefined,
  isSameBrowser: (bindingDigest: string) => boolean,
  after: AfterSignIn,
) => Promise<SsoSignedIn>;

/**
 * The end of an IdP callback, SAML or OIDC alike: the sign-in with its outcome recorded, then the
 * session, and the browser on to where it was going. MFA is the IdP's job for SSO sign-ins
 * (rule 8): the session records SSO and never asks for TOTP.
 */
async function finishIdpCallback<Answer>(
  deps: ApiDeps,
  ctx: ApiContext,
  protocol: 'saml' | 'oidc',
  connectorId: ConnectorId,
  complete: CompleteSignIn<Answer>,
  answer: Answer,
): Promise<void> {
  // The diagnostic and audit records of a success are written alongside the session.
  const after = afterSignIn();
  const signedIn = await withSignInOutcome(
    deps,
    { protocol, connectorId },
    () =>
      complete(
        deps,
        connectorId,
        answer,
        ctx.get('x-client-version') || undefined,
        (digest) => isSameBrowser(deps, ctx, digest),
        after,
      ),
    (result) => result.userId,
    (result) => result.orgId,
    after,
  );
  await timed('db: session write with the records (together)', () =>
    after.alongside(() =>
      timed('db: session write', () =>
        startSession(deps, ctx, signedIn.userId, ['sso'], signedIn.connectorId),
      ),
    ),
  );
  ctx.status = 303;
  ctx.redirect(signedIn.returnTo);
}
