import type { DomainId, OrgId } from '../domain/ids';
import type { DomainDoc } from './collections';

/** A freshly added domain: pending, never checked. */
export function newDomainDoc(
  id: DomainId,
  fields: { orgId: OrgId; domain: string; token: string },
  now: Date,
): DomainDoc {
  return {
    _id: id,
    ...fields,
    status: 'pending',
    checks: 0,
    lastCheckedAt: null,
    verifiedAt: null,
    failureReason: null,
    missingSince: null,
    createdAt: now,
    updatedAt: now,
  };
}
