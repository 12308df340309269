import type { OrgId } from '../domain/ids';
import type { Collections, OrgDoc, Plan } from './collections';
import { newId } from './ids';

export async function insertOrg(c: Collections, name: string, plan: Plan, now: Date): Promise<OrgDoc> {
  const org: OrgDoc = { _id: newId<OrgId>('org'), name, plan, createdAt: now, updatedAt: now };
  await c.orgs.insertOne(org);
  return org;
}

export function findOrg(c: Collections, orgId: string): Promise<OrgDoc | null> {
  return c.orgs.findOne({ _id: orgId as OrgId });
}

export function updateOrg(
  c: Collections,
  orgId: string,
  changes: Partial<Pick<OrgDoc, 'name' | 'plan'>>,
  now: Date,
): Promise<OrgDoc | null> {
  return c.orgs.findOneAndUpdate(
    { _id: orgId as OrgId },
    { $set: { ...changes, updatedAt: now } },
    { returnDocument: 'after' },
  );
}
