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

export function findApiKeyByDigest(c: Collections, digest: string): Promise<ApiKeyDoc | null> {
  return c.apiKeys.findOne({ digest });
}
