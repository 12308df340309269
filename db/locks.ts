// Keys that only a bounded number of writers can take. An insert under a unique _id is the one
// conditional write that MongoDB and FerretDB v1 both make atomic (so is a delete by _id):
// FerretDB applies a conditional update or findOneAndUpdate as a read followed by a write, so
// several concurrent callers can all "win" it (measured: up to 7 of 10 on one document). What
// must happen once (send an email, spend a guess) takes a key here first.
import { randomUUID } from 'node:crypto';
import { isDuplicateKeyError, type Collections } from './collections';

/**
 * Takes `key` until `ttlMs` from now, or returns null while someone else holds it. A holder that
 * died leaves a stale key: exactly one contender deletes it and may take it.
 */
export async function tryLock(c: Collections, key: string, now: Date, ttlMs: number): Promise<string | null> {
  const owner = randomUUID();
  for (let tries = 0; tries < 2; tries++) {
    try {
      await c.locks.insertOne({ _id: key, owner, expiresAt: new Date(now.getTime() + ttlMs) });
      return owner;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    const held = await c.locks.findOne({ _id: key });
    if (held && held.expiresAt > now) return null;
    if (held && (await c.locks.deleteOne({ _id: key, owner: held.owner })).deletedCount !== 1) return null;
  }
  return null;
}

/** Releases the key if this owner still holds it (after a stale takeover it is someone else's). */
export async function unlock(c: Collections, key: string, owner: string): Promise<void> {
  await c.locks.deleteOne({ _id: key, owner });
}

/**
 * Takes one of `slots` numbered keys under `prefix`; false once all are taken. Never released:
 * this is how "at most N times" is counted without a read-modify-write (e.g. code guesses).
 */
export async function takeSlot(
  c: Collections,
  prefix: string,
  slots: number,
  expiresAt: Date,
): Promise<boolean> {
  for (let slot = 0; slot < slots; slot++) {
    try {
      await c.locks.insertOne({ _id: `${prefix}:${slot}`, owner: prefix, expiresAt });
      return true;
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }
  return false;
}
