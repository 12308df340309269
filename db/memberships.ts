import type { OrgId, UserId } from '../domain/ids';
import { upsertOnce, type Collections, type MembershipDoc } from './collections';

export function membershipId(orgId: OrgId, userId: UserId): string {
  return `${orgId}:${userId}`;
}

/** Adds the membership if missing; an existing one (and its role) is left as it is. */
export async function ensureMembership(
  c: Collections,
  orgId: OrgId,
  userId: UserId,
  role: string,
  now: Date,
): Promise<void> {
  await upsertOnce(
    c.memberships.updateOne(
      { _id: membershipId(orgId, userId) },
      { $setOnInsert: { orgId, userId, role, createdAt: now } },
      { upsert: true },
    ),
  );
}

export function listMemberships(c: Collections, userId: UserId): Promise<MembershipDoc[]> {
  return c.memberships.find({ userId }).toArray();
}
