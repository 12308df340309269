// The OIDC side of a connection (types `entra-id` and `oidc`): the provider read from its
// discovery document by a workflow (api/workflowClient.ts discoverOidcProvider), and the client
// secret, sealed at rest with AES-256-GCM (security/secretBox.ts) under the `client-secret` key
// derived from SESSION_SECRET (security/keys.ts, which production requires), bound to the
// connection ID so a sealed value copied to another connection does not open. The key's ID is
// stored with it; after a SESSION_SECRET rotation the secret still opens with the previous key
// and is re-sealed under the new one at the next sign-in. The secret is never answered or logged.
import type { ConnectorDoc, OidcIdpSettings } from '../../db/collections';
import { DomainError } from '../../domain/errors';
import { idpUrlProblem, insecureHttpPolicy } from '../../domain/idpUrls';
import type { ConnectorId } from '../../domain/ids';
import { entraIssuer } from '../../domain/oidcClaims';
import { keyId } from '../../security/keys';
import { open, seal } from '../../security/secretBox';
import type { ApiDeps } from '../context';
import type { ClientChange, EntraSettings, OidcSettings } from '../schemas';
import { discoverOidcProvider } from '../workflowClient';

function sealSecret(deps: ApiDeps, connectorId: ConnectorId, secret: string) {
  const key = deps.keys.current('client-secret');
  return { clientSecret: seal(secret, key, connectorId), clientSecretKeyId: keyId(key) };
}

/** Discovers the provider and seals the secret, for a new connection with this ID. */
export async function resolveOidcSettings(
  deps: ApiDeps,
  connectorId: ConnectorId,
  settings: { entra: EntraSettings } | { oidc: OidcSettings },
): Promise<OidcIdpSettings> {
  const entra = 'entra' in settings ? settings.entra : undefined;
  const given = 'entra' in settings ? settings.entra : settings.oidc;
  const issuer =
    'entra' in settings
      ? entraIssuer(deps.config.entraAuthorityHost, settings.entra.tenantId)
      : settings.oidc.issuer;
  if (!entra) {
    const problem = idpUrlProblem(issuer, insecureHttpPolicy(deps.config.env));
    if (problem)
      throw new DomainError('validation_failed', `oidc.issuer ${problem}`, { field: 'oidc.issuer' });
  }
  const provider = await discoverOidcProvider(deps, issuer);
  return {
    issuer: provider.issuer,
    tenantId: entra ? entra.tenantId.toLowerCase() : null,
    clientId: given.clientId,
    ...sealSecret(deps, connectorId, given.clientSecret),
    provider,
  };
}

/** The `$set` of a PATCH that changes the client ID or secret; refused for another type. */
export function clientChangeSet(
  deps: ApiDeps,
  connector: ConnectorDoc,
  changes: { entra?: ClientChange | undefined; oidc?: ClientChange | undefined },
): Record<string, string> {
  const change = changes.entra ?? changes.oidc;
  if (!change) return {};
  const field = changes.entra ? 'entra' : 'oidc';
  const expected = connector.type === 'entra-id' ? 'entra' : connector.type === 'oidc' ? 'oidc' : undefined;
  if (field !== expected || !connector.oidc || (changes.entra && changes.oidc))
    throw new DomainError('validation_failed', `${field} does not apply to a ${connector.type} connection`, {
      field,
    });
  const set: Record<string, string> = {};
  if (change.clientId !== undefined) set['oidc.clientId'] = change.clientId;
  if (change.clientSecret !== undefined) {
    const sealed = sealSecret(deps, connector._id, change.clientSecret);
    set['oidc.clientSecret'] = sealed.clientSecret;
    set['oidc.clientSecretKeyId'] = sealed.clientSecretKeyId;
  }
  return set;
}

/**
 * The connection's client secret in clear, for the token request. One sealed under a previous
 * SESSION_SECRET is re-sealed under the current key (conditional on the value read, so a secret
 * replaced meanwhile by PATCH is left alone).
 */
export async function openClientSecret(deps: ApiDeps, connector: ConnectorDoc): Promise<string> {
  const settings = connector.oidc;
  if (!settings)
    throw new DomainError('connector_disabled', 'This connection has no OpenID Connect settings');
  const current = open(settings.clientSecret, [deps.keys.current('client-secret')], connector._id);
  if (current !== null) return current;
  const previous = open(settings.clientSecret, deps.keys.verifying('client-secret'), connector._id);
  if (previous === null)
    throw new DomainError(
      'connector_disabled',
      'The client secret cannot be read with the configured keys; set it again with PATCH',
    );
  const sealed = sealSecret(deps, connector._id, previous);
  await deps.c.connectors.updateOne(
    { _id: connector._id, 'oidc.clientSecret': settings.clientSecret },
    {
      $set: { 'oidc.clientSecret': sealed.clientSecret, 'oidc.clientSecretKeyId': sealed.clientSecretKeyId },
    },
  );
  return previous;
}

/** What GET shows of the OIDC settings: never the secret. */
export function oidcView(connector: ConnectorDoc) {
  const settings = connector.oidc;
  if (!settings) return null;
  return {
    issuer: settings.issuer,
    tenantId: settings.tenantId,
    clientId: settings.clientId,
    hasClientSecret: true as const,
    authorizationEndpoint: settings.provider.authorization_endpoint,
  };
}
