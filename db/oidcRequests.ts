// Pending OpenID Connect authorization requests: the state, nonce and PKCE verifier of each login
// this backend started, kept server-side until its callback (docs/rules.md, rule 3: only answers
// to our own requests). Taking one is read-then-delete, and the delete by _id decides: of two
// callbacks carrying the same state (a replay, a double submit, two API replicas), exactly one
// sees deletedCount 1. A conditional update would not do: FerretDB v1 applies those as a read
// followed by a write, so concurrent callers can all "win" (db/locks.ts). The document is never
// updated, so what the read returned is what the winning delete removed.
import { createHash } from 'node:crypto';
import type { ConnectorId } from '../domain/ids';
import type { Collections, OidcRequestDoc } from './collections';

/** The state travels in URLs; the database keys the request by its digest only. */
const stateKey = (state: string) => createHash('sha256').update(`oidc-state:${state}`).digest('base64url');

export type PendingOidcRequest = Omit<OidcRequestDoc, '_id'>;

export async function saveOidcRequest(
  c: Collections,
  state: string,
  request: PendingOidcRequest,
): Promise<void> {
  await c.oidcRequests.insertOne({ _id: stateKey(state), ...request });
}

/**
 * Takes the request out for good and returns it, or null when the state is unknown, already
 * used, issued for another connection or expired (a request that reached us expired is burnt too).
 */
export async function consumeOidcRequest(
  c: Collections,
  state: string,
  connectorId: ConnectorId,
  now: Date,
): Promise<PendingOidcRequest | null> {
  const _id = stateKey(state);
  const found = await c.oidcRequests.findOne({ _id, connectorId });
  if (!found) return null;
  if ((await c.oidcRequests.deleteOne({ _id })).deletedCount !== 1) return null;
  if (found.expiresAt <= now) return null;
  const { _id: _key, ...request } = found;
  return request;
}
