// Rate-limit counters shared by every API replica. A hit takes a numbered slot of its bucket
// (the bucket names the limit, the key digest and the window) by inserting `<bucket>:<n>`: an
// insert under a unique _id is the one conditional write FerretDB v1 makes atomic, so no more
// than `limit` hits of a window are ever let through. rate-limiter-flexible's Mongo store counts
// with findOneAndUpdate + $inc, which FerretDB v1 applies as a read then a write: 100 concurrent
// hits on one key were counted as 7 to 12 there (measured), so it cannot hold a limit on FerretDB.
import { isDuplicateKeyError, type Collections } from './collections';

/**
 * This process's next slot to try per bucket of the current window. Without it every hit counts
 * its bucket first, and a busy bucket (one connection's ACS) grows that count with every sign-in
 * of the window; with it a hit is usually one insert. It is only ever behind the database (slots
 * are never freed within a window), so a hint at the limit refuses without asking.
 */
export type RateSlotHints = Map<string, number>;

/**
 * Takes the next free slot of `bucket`, or returns false when its `limit` slots are taken. A
 * refused hit writes nothing, so a flood costs at most one count per request.
 */
export async function takeRateSlot(
  c: Collections,
  bucket: string,
  limit: number,
  expiresAt: Date,
  hints: RateSlotHints = new Map(),
): Promise<boolean> {
  let slot = hints.get(bucket) ?? (await c.rateLimits.countDocuments({ bucket }));
  for (;;) {
    // Claimed before the insert is awaited, so concurrent hits of this process take distinct slots.
    slot = Math.max(slot, hints.get(bucket) ?? 0);
    if (slot >= limit) return false;
    hints.set(bucket, slot + 1);
    try {
      await c.rateLimits.insertOne({ _id: `${bucket}:${slot}`, bucket, expiresAt });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      // Another replica took this slot: try the next one.
      slot += 1;
    }
  }
}

/** Removes the counters of windows that have ended (where the server has no TTL index). */
export async function deleteExpiredRateSlots(c: Collections, now: Date): Promise<void> {
  await c.rateLimits.deleteMany({ expiresAt: { $lte: now } });
}
