// Organization API keys: the key is shown once, when it is made; the database keeps a keyed
// digest only, so a leaked database does not yield working keys.
import { insertApiKey } from '../../db/apiKeys';
import type { OrgId } from '../../domain/ids';
import { randomToken, tokenDigest } from '../../security/tokens';
import type { ApiDeps } from '../context';

export async function createApiKey(deps: ApiDeps, orgId: OrgId): Promise<{ id: string; key: string }> {
  const key = `sk_${randomToken(32)}`;
  const stored = await insertApiKey(
    deps.c,
    orgId,
    tokenDigest(key, deps.keys.current('api-key')),
    deps.clock(),
  );
  return { id: stored._id, key };
}
