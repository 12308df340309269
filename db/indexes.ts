// Indexes are created at startup by every API and worker replica; createIndex is idempotent.
// Unique indexes are what make a retried activity harmless: the second insert fails with a
// duplicate key and the activity reads back what the first one wrote.
import type { Collections } from './collections';
import { ensureSamlRequestIndexes } from './samlRequests';

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
    ensureSamlRequestIndexes(c.samlRequests),
  ]);
}
