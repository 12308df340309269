// Storage of connection teardowns (docs/rules.md, rule 10): the teardown record (one per
// connection, its _id the connection's), its batches, and the bulk writes a batch makes. Every
// write here is idempotent: the record and each batch are inserted once under a deterministic
// _id, deletes are by _id, and progress is set to values the workflow computed, never incremented.
import type { ConnectorId, OrgId, UserId } from '../domain/ids';
import type { TeardownPhase } from '../domain/teardown';
import {
  isDuplicateKeyError,
  upsertOnce,
  type Collections,
  type TeardownBatchDoc,
  type TeardownDoc,
} from './collections';

/**
 * Inserts the teardown record, or returns the one that exists: of concurrent DELETEs the first
 * insert wins and every caller gets that same teardown.
 */
export async function insertTeardown(c: Collections, doc: TeardownDoc): Promise<TeardownDoc> {
  try {
    await c.teardowns.insertOne(doc);
    return doc;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
  const existing = await c.teardowns.findOne({ _id: doc._id });
  if (!existing) throw new Error('teardown record vanished after a duplicate-key insert');
  return existing;
}

export function findTeardown(c: Collections, connectorId: ConnectorId, orgId: OrgId) {
  return c.teardowns.findOne({ _id: connectorId, orgId });
}

export async function setTeardownProgress(
  c: Collections,
  connectorId: ConnectorId,
  teardownId: string,
  fields: Partial<Pick<TeardownDoc, 'processed' | 'total' | 'passwordSetups' | 'finishedAt'>> & {
    phase?: TeardownPhase;
  },
): Promise<void> {
  await c.teardowns.updateOne({ _id: connectorId, teardownId }, { $set: fields });
}

export function teardownBatchId(teardownId: string, batch: number): string {
  return `${teardownId}:${batch}`;
}

/**
 * The identities batch `batch` removes: those recorded for it, or else the next `size` identities
 * still at the connection, recorded first (undefined when none are left). Earlier batches have
 * removed theirs, so "the next ones" are whatever remains.
 */
export async function claimTeardownBatch(
  c: Collections,
  fields: { teardownId: string; connectorId: ConnectorId; batch: number; size: number },
  now: Date,
): Promise<TeardownBatchDoc | undefined> {
  const _id = teardownBatchId(fields.teardownId, fields.batch);
  const recorded = await c.teardownBatches.findOne({ _id });
  if (recorded) return recorded;
  const identities = await c.ssoIdentities
    .find({ connectorId: fields.connectorId }, { projection: { _id: 1, userId: 1 } })
    .limit(fields.size)
    .toArray();
  if (identities.length === 0) return undefined;
  await upsertOnce(
    c.teardownBatches.updateOne(
      { _id },
      {
        $setOnInsert: {
          teardownId: fields.teardownId,
          identityIds: identities.map((identity) => identity._id),
          userIds: [...new Set(identities.map((identity) => identity.userId))],
          passwordSetups: null,
          createdAt: now,
        },
      },
      { upsert: true },
    ),
  );
  // A concurrent attempt of the same batch may have recorded its own list first: that one holds.
  return (await c.teardownBatches.findOne({ _id })) ?? undefined;
}

export async function finishTeardownBatch(
  c: Collections,
  batchId: string,
  passwordSetups: number,
): Promise<void> {
  await c.teardownBatches.updateOne({ _id: batchId }, { $set: { passwordSetups } });
}

/**
 * What the batch's users have left besides the connection being removed: a password, and SSO
 * identities at other connections that are still active.
 */
export async function remainingWaysIn(
  c: Collections,
  connectorId: ConnectorId,
  userIds: readonly UserId[],
): Promise<Map<UserId, { email: string; hasPassword: boolean; otherActiveIdentities: number }>> {
  const users = await c.users
    .find({ _id: { $in: [...userIds] } }, { projection: { _id: 1, email: 1, passwordHash: 1 } })
    .toArray();
  // A user with a password keeps a way in whatever else they have: only the others' identities
  // at other connections need reading (on FerretDB v1 that read scans the collection).
  const withoutPassword = users.filter((user) => user.passwordHash === null).map((user) => user._id);
  const others =
    withoutPassword.length === 0
      ? []
      : await c.ssoIdentities
          .find(
            { userId: { $in: withoutPassword }, connectorId: { $ne: connectorId } },
            { projection: { userId: 1, connectorId: 1 } },
          )
          .toArray();
  const otherConnectorIds = [...new Set(others.map((identity) => identity.connectorId))];
  const active = new Set(
    otherConnectorIds.length === 0
      ? []
      : (
          await c.connectors
            .find({ _id: { $in: otherConnectorIds }, status: 'active' }, { projection: { _id: 1 } })
            .toArray()
        ).map((connector) => connector._id),
  );
  const ways = new Map<UserId, { email: string; hasPassword: boolean; otherActiveIdentities: number }>();
  for (const user of users)
    ways.set(user._id, {
      email: user.email,
      hasPassword: user.passwordHash !== null,
      otherActiveIdentities: 0,
    });
  for (const identity of others) {
    const way = ways.get(identity.userId);
    if (way && active.has(identity.connectorId)) way.otherActiveIdentities++;
  }
  return ways;
}

/**
 * Removes the connection and what only it used: its domain ties (the domains stay verified and
 * can be tied to a new connection), sessions it opened, pending SAML requests and sign-in attempts
 * (IdP data), and the batch records (identity IDs). Users, memberships and domains stay.
 */
export async function removeConnection(
  c: Collections,
  connectorId: ConnectorId,
  teardownId: string,
): Promise<void> {
  await Promise.all([
    c.connectorDomains.deleteMany({ connectorId }),
    c.sessions.deleteMany({ connectorId }),
    c.samlRequests.deleteMany({ connectorId }),
    c.signInAttempts.deleteMany({ connectorId }),
    c.teardownBatches.deleteMany({ teardownId }),
  ]);
  await c.connectors.deleteOne({ _id: connectorId, status: 'deleting' });
}

/** The connection is active again and its teardown record goes, so a later DELETE starts afresh. */
export async function restoreConnection(
  c: Collections,
  connectorId: ConnectorId,
  teardownId: string,
  now: Date,
): Promise<void> {
  await c.connectors.updateOne(
    { _id: connectorId, status: 'deleting' },
    { $set: { status: 'active', updatedAt: now } },
  );
  await c.teardowns.deleteOne({ _id: connectorId, teardownId });
}
