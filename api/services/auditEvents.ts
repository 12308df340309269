// Reading an organization's audit log: filters, and cursor pages that stay stable while new events
// arrive. The cursor is opaque to clients: the (at, _id) of the last event of a page.
import type { z } from 'zod';
import { listAuditEvents } from '../../db/audit';
import type { AuditEventDoc } from '../../db/collections';
import type { OrgId } from '../../domain/ids';
import type { ApiDeps } from '../context';
import { decodePageCursor, encodePageCursor } from '../pageCursor';
import type { AUDIT_TARGET_TYPES, auditEventsQuery, auditEventsResponse } from '../schemas';

type AuditView = z.output<typeof auditEventsResponse>;
type TargetType = (typeof AUDIT_TARGET_TYPES)[number];

const TARGET_TYPES: Record<string, TargetType> = {
  org: 'organization',
  dom: 'domain',
  con: 'connection',
  usr: 'user',
};

function eventView(event: AuditEventDoc): AuditView['events'][number] {
  const prefix = event.subjectId?.slice(0, 3) ?? '';
  return {
    id: event._id,
    action: event.type,
    at: event.at.toISOString(),
    actor: event.actor ?? null,
    target: event.subjectId ? { type: TARGET_TYPES[prefix] ?? 'other', id: event.subjectId } : null,
    data: event.data,
  };
}

export async function auditEventsPage(
  deps: ApiDeps,
  orgId: OrgId,
  query: z.output<typeof auditEventsQuery>,
): Promise<AuditView> {
  const events = await listAuditEvents(deps.c, {
    orgId,
    limit: query.limit,
    ...(query.action ? { type: query.action } : {}),
    ...(query.actor ? { actor: query.actor } : {}),
    ...(query.target ? { subjectId: query.target } : {}),
    ...(query.from ? { from: new Date(query.from) } : {}),
    ...(query.to ? { to: new Date(query.to) } : {}),
    ...(query.cursor ? { after: decodePageCursor(query.cursor) } : {}),
  });
  const last = events.at(-1);
  return {
    events: events.map(eventView),
    nextCursor: events.length === query.limit && last ? encodePageCursor(last) : null,
  };
}
