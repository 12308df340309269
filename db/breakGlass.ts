// Break-glass accounts: at most `max` per organization, each in a numbered slot, so two admins
// adding accounts at once cannot exceed the limit (an insert on a unique _id is atomic on MongoDB
// and FerretDB alike; a count followed by an insert is not).
import type { OrgId, UserId } from '../domain/ids';
import { isDuplicateKeyError, type BreakGlassDoc, type Collections } from './collections';

export function findBreakGlass(c: Collections, orgId: OrgId, userId: UserId): Promise<BreakGlassDoc | null> {
  return c.breakGlass.findOne({ orgId, userId });
}

export function listBreakGlass(c: Collections, orgId: OrgId): Promise<BreakGlassDoc[]> {
  return c.breakGlass.find({ orgId }).sort({ createdAt: 1 }).toArray();
}

/** Adds the account (idempotent); null when every slot is taken by other accounts. */
export async function addBreakGlass(
  c: Collections,
  orgId: OrgId,
  userId: UserId,
  max: number,
  now: Date,
): Promise<{ doc: BreakGlassDoc; created: boolean } | null> {
  for (let slot = 0; slot < max; slot++) {
    const existing = await findBreakGlass(c, orgId, userId);
    if (existing) return { doc: existing, created: false };
    const doc: BreakGlassDoc = { _id: `${orgId}:${slot}`, orgId, userId, createdAt: now };
    try {
      await c.breakGlass.insertOne(doc);
      return { doc, created: true };
    } catch (error) {
      // The slot is taken (by another account, or by this one in a concurrent request).
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
  const existing = await findBreakGlass(c, orgId, userId);
  return existing ? { doc: existing, created: false } : null;
}

export async function removeBreakGlass(c: Collections, orgId: OrgId, userId: UserId): Promise<boolean> {
  return (await c.breakGlass.deleteOne({ orgId, userId })).deletedCount === 1;
}
