// Rate-limit counters shared by every API replica. A hit takes a numbered slot of its bucket
// (the bucket names the limit, the key digest and the window) by inserting `<bucket>:<n>`: an
// insert under a unique _id is the one conditional write FerretDB v1 makes atomic, so no more
// than `limit` hits of a window are ever let through. rate-limiter-flexible's Mongo store counts
// with findOneAndUpdate + $inc, which FerretDB v1 applies as a read then a write: 100 concurrent
// hits on one key were counted as 7 to 12 there (measured), so it cannot hold a limit on FerretDB.
import { isDuplicateKeyError, type Collections } from './collections';
import { unwrapBulkError } from './groupCommit';

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
  return (await takeRateSlots(c, [{ bucket, limit }], expiresAt, hints)) === -1;
}

/**
 * One hit against several limits (per IP, per account, per connection): a slot of each bucket,
 * in one round trip. Answers -1 when every slot is taken, or the index of the first bucket whose
 * limit refused the hit; refused by a hint, the hit writes nothing. The slots go in one ordered
 * insertMany (insertMany of a few documents costs one insert): a slot another replica took stops
 * the batch there, and from that bucket on each is taken as takeRateSlot takes one, so the
 * buckets before a refusal are counted, as when each was taken in turn.
 */
export async function takeRateSlots(
  c: Collections,
  wanted: readonly { bucket: string; limit: number }[],
  expiresAt: Date,
  hints: RateSlotHints = new Map(),
): Promise<number> {
  const known = await Promise.all(
    wanted.map(({ bucket }) => {
      const hinted = hints.get(bucket);
      return hinted === undefined ? c.rateLimits.countDocuments({ bucket }) : Promise.resolve(hinted);
    }),
  );
  // Checked for every bucket before any slot is claimed, so a refusal claims nothing.
  const slots = wanted.map(({ bucket }, i) => Math.max(known[i] ?? 0, hints.get(bucket) ?? 0));
  const refused = wanted.findIndex(({ limit }, i) => (slots[i] ?? 0) >= limit);
  if (refused !== -1) return refused;
  // Claimed before the insert is awaited, so concurrent hits of this process take distinct slots.
  wanted.forEach(({ bucket }, i) => hints.set(bucket, (slots[i] ?? 0) + 1));
  let taken: number;
  try {
    await c.rateLimits.insertMany(
      wanted.map(({ bucket }, i) => ({ _id: `${bucket}:${slots[i] ?? 0}`, bucket, expiresAt })),
      { ordered: true },
    );
    return -1;
  } catch (error) {
    taken = firstDuplicateIndex(error);
  }
  // wanted[taken] lost its slot to another replica: from there on, one bucket at a time.
  for (let i = taken; i < wanted.length; i++) {
    const want = wanted[i];
    if (!want) break;
    const firstTry = i === taken ? (slots[i] ?? 0) + 1 : (slots[i] ?? 0);
    if (!(await takeFrom(c, want.bucket, want.limit, expiresAt, hints, firstTry, i > taken))) return i;
  }
  return -1;
}

/** Where an ordered insertMany stopped on a duplicate key; any other failure is rethrown. */
function firstDuplicateIndex(error: unknown): number {
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  const first: unknown = Array.isArray(writeErrors) ? writeErrors[0] : error;
  const index = (first as { index?: unknown } | undefined)?.index;
  if (!isDuplicateKeyError(first) && !isDuplicateKeyError(error)) throw unwrapBulkError(error);
  return typeof index === 'number' ? index : 0;
}

/**
 * Takes a slot of `bucket` from `slot` on. `claimed`: this process already claimed `slot` through
 * the hints (an untried one of a stopped batch), so it is tried as it is.
 */
async function takeFrom(
  c: Collections,
  bucket: string,
  limit: number,
  expiresAt: Date,
  hints: RateSlotHints,
  slot: number,
  claimed: boolean,
): Promise<boolean> {
  for (let first = true; ; first = false) {
    if (!(claimed && first)) {
      slot = Math.max(slot, hints.get(bucket) ?? 0);
      if (slot >= limit) return false;
      hints.set(bucket, slot + 1);
    }
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
