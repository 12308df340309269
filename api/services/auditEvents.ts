// Reading an organization's audit log: filters, and cursor pages that stay stable while new events
// arrive. The cursor is opaque to clients: the (at, _id) of the last event of a page.
import type { z } from 'zod';
import { listAuditEvents } from '../../db/audit';
import type { AuditEventDoc } from '../../db/collections';
import { DomainError } from '../../domain/errors';
import type { OrgId } from '../../domain/ids';
import type { ApiDeps } from '../context';
import type { AUDIT_TARGET_TYPES, auditEventsQuery, auditEventsResponse } from '../schemas';

type AuditView = z.output<typeof auditEventsResponse>;
type TargetType = (typeof AUDIT_TARGET_TYPES)[number];

const TARGET_TYPES: Record<string, TargetType> = {
  org: 'organization',
  dom: 'domain',
  con: 'connection',
  usr: 'user',
};

function encodeCursor(event: AuditEventDoc): string {
  return Buffer.from(JSON.stringify([event.at.getTime(), event._id])).toString('base64url');
}

function decodeCursor(cursor: string): { at: Date; id: string } {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'number' && Number.isFinite(at) && typeof id === 'string')
      return { at: new Date(at), id };
  } catch {
    // Falls through to the refusal below.
  }
  throw new DomainError('validation_failed', 'The cursor is not one this API gave', {
    errors: [{ path: 'cursor', message: 'not a cursor from nextCursor' }],
  });
}

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
    ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
  });
  const last = events.at(-1);
  return {
    events: events.map(eventView),
    nextCursor: events.length === query.limit && last ? encodeCursor(last) : null,
  };
}
