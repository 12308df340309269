import type { OrgId, UserId } from '../domain/ids';
import { insertOnce, type Collections, type MembershipDoc } from './collections';

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
  // A duplicate key (on the _id or on org + user) means the membership exists: it stays as it is.
  await insertOnce(c.memberships, { _id: membershipId(orgId, userId), orgId, userId, role, createdAt: now });
}

export function listMemberships(c: Collections, userId: UserId): Promise<MembershipDoc[]> {
  return c.memberships.find({ userId }).toArray();
}

/** Members of an organization with one of `roles`, with their email (who hears about the org's settings). */
export async function listMembersWithRoles(
  c: Collections,
  orgId: OrgId,
  roles: readonly string[],
  limit: number,
): Promise<{ userId: UserId; email: string }[]> {
  const memberships = await c.memberships
    .find({ orgId, role: { $in: [...roles] } }, { projection: { userId: 1 } })
    .sort({ _id: 1 })
    .limit(limit)
    .toArray();
  if (memberships.length === 0) return [];
  const users = await c.users
    .find({ _id: { $in: memberships.map((membership) => membership.userId) } }, { projection: { email: 1 } })
    .toArray();
  return users.map((user) => ({ userId: user._id, email: user.email }));
}
