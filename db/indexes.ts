// Indexes are created at startup by every API and worker replica; createIndex is idempotent.
// Unique indexes are what make a retried activity harmless: the second insert fails with a
// duplicate key and the activity reads back what the first one wrote.
import type { Collection, Document, IndexDescriptionInfo } from 'mongodb';
import type { Collections } from './collections';

export async function ensureIndexes(c: Collections): Promise<void> {
  await Promise.all([
    c.users.createIndex({ email: 1 }, { unique: true, name: 'email_unique' }),
    c.apiKeys.createIndex({ digest: 1 }, { unique: true, name: 'digest_unique' }),
    c.memberships.createIndex({ orgId: 1, userId: 1 }, { unique: true, name: 'org_user_unique' }),
    c.memberships.createIndex({ userId: 1 }, { name: 'user' }),
    c.domains.createIndex({ orgId: 1, domain: 1 }, { unique: true, name: 'org_domain_unique' }),
    c.domains.createIndex({ domain: 1 }, { name: 'domain' }),
    c.connectors.createIndex({ orgId: 1 }, { name: 'org' }),
    c.connectorDomains.createIndex({ connectorId: 1 }, { name: 'connector' }),
    c.ssoIdentities.createIndex(
      { connectorId: 1, subject: 1 },
      { unique: true, name: 'connector_subject_unique' },
    ),
    c.ssoIdentities.createIndex({ userId: 1 }, { name: 'user' }),
    c.sessions.createIndex({ userId: 1 }, { name: 'user' }),
    c.auditEvents.createIndex({ orgId: 1, at: -1 }, { name: 'org_time' }),
    c.auditEvents.createIndex({ orgId: 1, at: -1, _id: -1 }, { name: 'org_time_id' }),
    c.rateLimits.createIndex({ bucket: 1 }, { name: 'bucket' }),
    c.emailCodes.createIndex({ userId: 1 }, { name: 'user' }),
    c.breakGlass.createIndex({ orgId: 1, userId: 1 }, { unique: true, name: 'org_user_unique' }),
    c.teardownBatches.createIndex({ teardownId: 1 }, { name: 'teardown' }),
    c.passwordSetupTokens.createIndex({ userId: 1 }, { name: 'user' }),
    c.sessions.createIndex({ connectorId: 1 }, { name: 'connector' }),
    ensureExpiryIndex(c.passwordSetupTokens),
    ensureExpiryIndex(c.samlRequests),
    ensureExpiryIndex(c.oidcRequests),
    ensureExpiryIndex(c.sessions),
    ensureExpiryIndex(c.signInAttempts),
    ensureExpiryIndex(c.emailCodes),
    ensureExpiryIndex(c.outbox),
    ensureExpiryIndex(c.locks),
    // Newest first per connection, with _id breaking ties so cursor pages are stable.
    c.signInDiagnostics.createIndex({ connectorId: 1, at: -1, _id: -1 }, { name: 'connector_time' }),
    c.signInDiagnostics.createIndex(
      { connectorId: 1, outcome: 1, at: -1, _id: -1 },
      { name: 'connector_outcome_time' },
    ),
    ensureExpiryIndex(c.signInDiagnostics),
    ensureExpiryIndex(c.rateLimits),
  ]);
}

/**
 * A TTL index on `expiresAt` lets MongoDB drop expired documents (sessions, SAML requests) by
 * itself. FerretDB v1 refuses the TTL option; then a plain index is created and expired documents
 * stay until housekeeping removes them. Reads always filter on `expiresAt`, so correctness never
 * depends on the TTL index. An index that already exists on `expiresAt` is kept as it is.
 */
export async function ensureExpiryIndex<T extends Document & { expiresAt: Date }>(
  collection: Collection<T>,
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

async function existingExpiresAtIndex<T extends Document>(
  collection: Collection<T>,
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
