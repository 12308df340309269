// Pending SAML AuthnRequests in MongoDB. Consuming one is a single-document delete whose filter
// holds every condition (ID, connector, not expired), so of two concurrent posts of one response
// exactly one sees deletedCount 1: "used once" holds across API replicas without transactions.
import type { Collection } from 'mongodb';
import type { SamlRequestStore } from '../sso/saml/requestStore';
import type { SamlRequestDoc } from './collections';
import { timed } from '../runtime/stepTimings';

export function createMongoSamlRequestStore(
  collection: Collection<SamlRequestDoc>,
  options: { now?: () => Date } = {},
): SamlRequestStore {
  const now = options.now ?? (() => new Date());
  return {
    async save(requestId, connectorId, expiresAt) {
      await collection.insertOne({ _id: requestId, connectorId, expiresAt });
    },
    async consume(requestId, connectorId) {
      const result = await timed('db: consume SAML request ID', () =>
        collection.deleteOne({ _id: requestId, connectorId, expiresAt: { $gt: now() } }),
      );
      return result.deletedCount === 1;
    },
  };
}
