// Audit events for admin changes made through the API, written by the route once the change is
// done: who acted (the operator token or an organization API key), on what, and which fields
// changed. Field names only, never values that could be secrets (a client secret, a certificate).
import { randomUUID } from 'node:crypto';
import { recordAuditEvent } from '../../db/audit';
import type { OrgId } from '../../domain/ids';
import type { ApiDeps, Principal } from '../context';

export function actorOf(principal: Principal | undefined): string {
  return principal?.kind === 'org-key' ? 'api-key' : 'operator';
}

export async function auditAdminAction(
  deps: ApiDeps,
  principal: Principal | undefined,
  event: { type: string; orgId: OrgId; subjectId: string; data?: Record<string, unknown> },
): Promise<void> {
  await recordAuditEvent(
    deps.c,
    {
      eventId: `evt_${randomUUID().replaceAll('-', '')}`,
      ...event,
      actor: actorOf(principal),
    },
    deps.clock(),
  );
}
