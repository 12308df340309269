// End-user SSO: home-realm discovery, SP metadata, the SP-initiated login redirect and the SAML
// assertion consumer. Every response from the IdP is hostile until sso/saml has validated it.
import Router from '@koa/router';
import type { ConnectorDoc } from '../../db/collections';
import { findConnectorForDomain } from '../../db/connectors';
import { createMongoSamlRequestStore } from '../../db/samlRequests';
import { insertSignInAttempt } from '../../db/signInAttempts';
import { mergeAttributeMapping, mapProfile } from '../../domain/attributeMapping';
import { isDesktopClientTooOld } from '../../domain/clientVersion';
import { normalizeEmail } from '../../domain/email';
import { DomainError, orThrow } from '../../domain/errors';
import { asUserId, type ConnectorId } from '../../domain/ids';
import { allowedReturnTo } from '../../domain/returnTo';
import { spUrls } from '../../sso/connectorUrls';
import { decodeRelayState, encodeRelayState } from '../../sso/relayState';
import { SamlValidationError } from '../../sso/saml/errors';
import { createSamlClient, type SamlClient } from '../../sso/saml/samlClient';
import { buildSpMetadata } from '../../sso/saml/spMetadata';
import type { ApiDeps, ApiState } from '../context';
import { bindBrowser, isSameBrowser } from '../browserBinding';
import { startSession } from '../sessions';
import { assertSsoSignInAllowed } from '../services/enforcement';
import { runSsoSignIn, ssoSignInWorkflowId } from '../temporalCalls';
import { identifyBody, loginQuery } from '../schemas';
import { parse } from '../validate';
import { connectorParams } from './connectors';

/** A connection that may be used to sign in right now (docs/rules.md, rule 1: Business plan only). */
async function loadUsableConnector(deps: ApiDeps, params: unknown): Promise<ConnectorDoc> {
  const { connectorId } = parse(connectorParams, params);
  const connector = await deps.c.connectors.findOne({ _id: connectorId as ConnectorId });
  if (!connector) throw new DomainError('not_found', 'Connection not found');
  if (connector.status !== 'active') throw new DomainError('connector_deleting');
  const org = await deps.c.orgs.findOne({ _id: connector.orgId });
  if (org?.plan !== 'business')
    throw new DomainError('connector_disabled', 'This organization is not on the Business plan');
  return connector;
}

function samlClientFor(deps: ApiDeps, connector: ConnectorDoc): SamlClient {
  if (!connector.saml) throw new DomainError('connector_disabled', 'This connection has no SAML settings');
  const sp = spUrls(deps.config.publicUrl, connector._id);
  return createSamlClient({
    connectorId: connector._id,
    spEntityId: sp.entityId,
    acsUrl: sp.acsUrl,
    idp: connector.saml,
    clockSkewMs: deps.config.saml.clockSkewMs,
    requestTtlMs: deps.config.saml.requestTtlMs,
    requestStore: createMongoSamlRequestStore(deps.c.samlRequests, { now: deps.clock }),
  });
}

function samlRefusal(error: SamlValidationError): DomainError {
  return new DomainError(error.code, error.message);
}

export function ssoRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.post('/v1/auth/identify', async (ctx) => {
    const { email } = parse(identifyBody, ctx.request.body);
    const connector = await findConnectorForDomain(deps.c, orThrow(normalizeEmail(email)).domain);
    ctx.body = connector
      ? {
          method: 'sso',
          connectorId: connector._id,
          loginUrl: spUrls(deps.config.publicUrl, connector._id).loginUrl,
        }
      : { method: 'password' };
  });

  router.get('/v1/sso/:connectorId/metadata', async (ctx) => {
    const { connectorId } = parse(connectorParams, ctx.params);
    const connector = await deps.c.connectors.findOne({ _id: connectorId as ConnectorId });
    if (!connector) throw new DomainError('not_found', 'Connection not found');
    const sp = spUrls(deps.config.publicUrl, connector._id);
    ctx.type = 'application/samlmetadata+xml';
    ctx.body = buildSpMetadata({ spEntityId: sp.entityId, acsUrl: sp.acsUrl });
  });

  router.get('/v1/sso/:connectorId/login', async (ctx) => {
    const connector = await loadUsableConnector(deps, ctx.params);
    // Rule 9: once SSO is enforced, desktop clients below the minimum version must upgrade first.
    if (
      connector.enforced &&
      isDesktopClientTooOld(ctx.get('x-client-version') || undefined, deps.config.desktopMinVersion)
    ) {
      throw new DomainError('client_upgrade_required', undefined, {
        minimumVersion: deps.config.desktopMinVersion,
      });
    }
    const { returnTo } = parse(loginQuery, ctx.query);
    const target = allowedReturnTo(
      returnTo,
      deps.config.allowedReturnOrigins,
      `${deps.config.allowedReturnOrigins[0] ?? deps.config.publicUrl}/`,
    );
    if (!target) throw new DomainError('return_to_not_allowed');
    const expiresAt = new Date(deps.clock().getTime() + deps.config.saml.requestTtlMs);
    const relayState = encodeRelayState(
      connector._id,
      { returnTo: target, bindingDigest: bindBrowser(deps, ctx) },
      expiresAt,
      deps.keys,
    );
    const client = samlClientFor(deps, connector);
    if (connector.saml?.ssoBinding === 'HTTP-POST') {
      // The IdP takes AuthnRequests by POST only: the browser submits this form to it at once.
      ctx.type = 'text/html';
      // The page only submits its form to the IdP (node-saml's inline script does it on load).
      ctx.set(
        'Content-Security-Policy',
        `default-src 'none'; script-src 'unsafe-inline'; form-action ${new URL(connector.saml.ssoUrl).origin}; frame-ancestors 'none'`,
      );
      ctx.body = (await client.buildLoginForm(relayState)).html;
      return;
    }
    ctx.redirect((await client.buildLoginUrl(relayState)).url);
  });

  router.post('/v1/sso/:connectorId/acs', async (ctx) => {
    const connector = await loadUsableConnector(deps, ctx.params);
    assertSsoSignInAllowed(deps, connector, ctx.get('x-client-version') || undefined);
    const body = (ctx.request.body ?? {}) as { SAMLResponse?: unknown; RelayState?: unknown };
    let assertion;
    try {
      assertion = await samlClientFor(deps, connector).validatePostResponse(body);
    } catch (error) {
      if (error instanceof SamlValidationError) throw samlRefusal(error);
      throw error;
    }
    const state = decodeRelayState(assertion.relayState, connector._id, deps.clock(), deps.keys);
    if (!state)
      throw new DomainError('return_to_not_allowed', 'The sign-in state is missing, expired or not ours');
    if (!isSameBrowser(deps, ctx, state.bindingDigest)) throw new DomainError('sso_browser_mismatch');

    const mapped = mapProfile(
      assertion.attributes,
      assertion.nameId,
      assertion.nameIdFormat,
      mergeAttributeMapping(connector.attributeMapping),
    );
    const attemptId = await insertSignInAttempt(
      deps.c,
      {
        connectorId: connector._id,
        orgId: connector.orgId,
        subject: assertion.nameId,
        ...(mapped.email ? { email: mapped.email } : {}),
        ...(mapped.name ? { name: mapped.name } : {}),
        ...(mapped.avatarUrl ? { avatarUrl: mapped.avatarUrl } : {}),
        profile: mapped.profile,
      },
      deps.clock(),
    );
    const result = await runSsoSignIn(deps, ssoSignInWorkflowId(deps.keys, connector._id, assertion.nameId), {
      attemptId,
      connectorId: connector._id,
      orgId: connector.orgId,
    });
    // MFA is the IdP's job for SSO sign-ins (rule 8): the session records SSO, never asks for TOTP.
    await startSession(deps, ctx, asUserId(result.userId), ['sso'], connector._id);
    ctx.status = 303;
    ctx.redirect(state.returnTo);
  });

  return router;
}
