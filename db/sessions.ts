import type { ConnectorId, UserId } from '../domain/ids';
import type { Collections, SessionDoc } from './collections';
import { groupInsert } from './groupCommit';

export async function insertSession(
  c: Collections,
  fields: { digest: string; userId: UserId; amr: string[]; connectorId: ConnectorId | null; expiresAt: Date },
  now: Date,
): Promise<void> {
  // Grouped with the sessions other sign-ins write meanwhile (db/groupCommit.ts).
  await groupInsert(c.sessions, {
    _id: fields.digest,
    userId: fields.userId,
    amr: fields.amr,
    connectorId: fields.connectorId,
    createdAt: now,
    expiresAt: fields.expiresAt,
  });
}

/** A live session stored under any of `digests` (one per verifying key while SESSION_SECRET rotates). */
export async function findLiveSession(
  c: Collections,
  digests: string[],
  now: Date,
): Promise<SessionDoc | null> {
  // One `_id` equality per digest rather than `$in`: FerretDB v1 reads by its _id index only for
  // an equality and scans every session for `$in`; there is one digest except while keys rotate.
  const found = await Promise.all(
    digests.map((digest) => c.sessions.findOne({ _id: digest, expiresAt: { $gt: now } })),
  );
  return found.find((session) => session !== null) ?? null;
}

/** Ends every session of the user (the API checks sessions on each request, so at once). */
export async function revokeUserSessions(c: Collections, userId: UserId): Promise<number> {
  return (await c.sessions.deleteMany({ userId })).deletedCount;
}

/**
 * Ends the sessions of these users that did not come through SSO (enforcement starting): SSO
 * sessions carry amr ["sso"] and stay.
 */
export async function revokeNonSsoSessions(c: Collections, userIds: readonly UserId[]): Promise<number> {
  if (userIds.length === 0) return 0;
  return (await c.sessions.deleteMany({ userId: { $in: [...userIds] }, amr: { $ne: 'sso' } })).deletedCount;
}
