// Pending SAML AuthnRequests in MongoDB. Consuming one is a single-document delete whose filter
// holds every condition (ID, connector, not expired), so of two concurrent posts of one response
// exactly one sees deletedCount 1: "used once" holds across API replicas without transactions.
import type { Collection, IndexDescriptionInfo } from 'mongodb';
import type { SamlRequestStore } from '../sso/saml/requestStore';
import type { SamlRequestDoc } from './collections';

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
      const result = await collection.deleteOne({ _id: requestId, connectorId, expiresAt: { $gt: now() } });
      return result.deletedCount === 1;
    },
  };
}

/**
 * A TTL index lets MongoDB drop expired requests by itself. FerretDB v1 may refuse the TTL option;
 * then a plain index is created instead and expired documents stay until
 * {@link deleteExpiredSamlRequests} runs. Either way `consume` ignores them, so correctness never
 * depends on the TTL index. An index that already exists on `expiresAt` is kept as it is.
 */
export async function ensureSamlRequestIndexes(
  collection: Collection<SamlRequestDoc>,
): Promise<{ ttl: boolean }> {
  const existing = await existingExpiresAtIndex(collection);
  if (existing) return { ttl: typeof existing.expireAfterSeconds === 'number' };
  try {
    await collection.createIndex({ expiresAt: 1 }, { name: 'expiresAt_ttl', expireAfterSeconds: 0 });
    return { ttl: true };
  } catch {
    await collection.createIndex({ expiresAt: 1 }, { name: 'expiresAt' });
    return { ttl: false };
  }
}

async function existingExpiresAtIndex(
  collection: Collection<SamlRequestDoc>,
): Promise<IndexDescriptionInfo | undefined> {
  let indexes: IndexDescriptionInfo[];
  try {
    indexes = await collection.indexes();
  } catch {
    // The collection does not exist yet (MongoDB answers NamespaceNotFound): no indexes.
    return undefined;
  }
  return indexes.find((index) => Object.keys(index.key).length === 1 && index.key.expiresAt === 1);
}

/** Housekeeping where no TTL index exists; safe to run at any time and from several workers. */
export async function deleteExpiredSamlRequests(
  collection: Collection<SamlRequestDoc>,
  now: Date,
): Promise<number> {
  const result = await collection.deleteMany({ expiresAt: { $lte: now } });
  return result.deletedCount;
}
