import type { Filter } from 'mongodb';
import type { OrgId } from '../domain/ids';
import { isDuplicateKeyError, type AuditEventDoc, type Collections } from './collections';
import { groupInsert } from './groupCommit';
import { NEWEST_FIRST, olderThan, type PagePosition } from './newestFirst';

/**
 * Records an audit event. `eventId` is deterministic when the caller may run twice (an activity
 * retry), so the event is written once; data must hold IDs and codes, never personal data.
 * `subjectId` is the event's target (an organization, domain, connection or user ID); `actor` says
 * who acted: `operator`, `api-key`, `user:<id>`, `anonymous`, or none for the system itself.
 */
export async function recordAuditEvent(
  c: Collections,
  event: {
    eventId: string;
    type: string;
    orgId: OrgId | null;
    subjectId: string | null;
    actor?: string;
    data?: Record<string, unknown>;
  },
  now: Date,
): Promise<void> {
  // A plain insert under the event's ID, grouped with the events written meanwhile
  // (db/groupCommit.ts): a retry's duplicate key means the event is written.
  try {
    await groupInsert(c.auditEvents, {
      _id: event.eventId,
      type: event.type,
      orgId: event.orgId,
      subjectId: event.subjectId,
      ...(event.actor ? { actor: event.actor } : {}),
      at: now,
      data: event.data ?? {},
    });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

export interface AuditQuery {
  orgId: OrgId;
  type?: string;
  actor?: string;
  subjectId?: string;
  from?: Date;
  to?: Date;
  /** The last event of the previous page: this page starts strictly after it (newest first). */
  after?: PagePosition;
  limit: number;
}

/**
 * An organization's events, newest first, ordered by (at, _id) so pages neither skip nor repeat
 * an event when others are written meanwhile: new events sort before the cursor, never after it.
 */
export async function listAuditEvents(c: Collections, query: AuditQuery): Promise<AuditEventDoc[]> {
  const and: Filter<AuditEventDoc>[] = [{ orgId: query.orgId }];
  if (query.type) and.push({ type: query.type });
  if (query.actor) and.push({ actor: query.actor });
  if (query.subjectId) and.push({ subjectId: query.subjectId });
  if (query.from) and.push({ at: { $gte: query.from } });
  if (query.to) and.push({ at: { $lt: query.to } });
  if (query.after) and.push(olderThan(query.after));
  return c.auditEvents.find({ $and: and }).sort(NEWEST_FIRST).limit(query.limit).toArray();
}
