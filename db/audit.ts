import type { OrgId } from '../domain/ids';
import { upsertOnce, type Collections } from './collections';

/**
 * Records an audit event. `eventId` is deterministic when the caller may run twice (an activity
 * retry), so the event is written once; data must hold IDs and codes, never personal data.
 */
export async function recordAuditEvent(
  c: Collections,
  event: {
    eventId: string;
    type: string;
    orgId: OrgId | null;
    subjectId: string | null;
    data?: Record<string, unknown>;
  },
  now: Date,
): Promise<void> {
  await upsertOnce(
    c.auditEvents.updateOne(
      { _id: event.eventId },
      {
        $setOnInsert: {
          type: event.type,
          orgId: event.orgId,
          subjectId: event.subjectId,
          at: now,
          data: event.data ?? {},
        },
      },
      { upsert: true },
    ),
  );
}
