import type { OrgId } from '../domain/ids';
import type { ApiKeyDoc, Collections } from './collections';
import { newId } from './ids';

export async function insertApiKey(
  c: Collections,
  orgId: OrgId,
  digest: string,
  now: Date,
): Promise<ApiKeyDoc> {
  const key: ApiKeyDoc = { _id: newId('key'), orgId, digest, createdAt: now };
  await c.apiKeys.insertOne(key);
  return key;
}

/** The key stored under any of `digests` (one per verifying key while SESSION_SECRET rotates). */
export function findApiKeyByDigest(c: Collections, digests: string[]): Promise<ApiKeyDoc | null> {
  return c.apiKeys.findOne({ digest: { $in: digests } });
}

/** Re-keys a key found under a previous secret's digest; conditional, so a race or a rerun is harmless. */
export async function rekeyApiKey(c: Collections, key: ApiKeyDoc, digest: string): Promise<void> {
  await c.apiKeys.updateOne({ _id: key._id, digest: key.digest }, { $set: { digest } });
}
