// Admin routes accept the operator token (everything) or an organization API key (that
// organization only). Wrong or foreign credentials get the same answers whether or not the
// organization exists, so a key cannot be used to probe for other organizations.
import type { Middleware } from 'koa';
import { DomainError } from '../../domain/errors';
import type { OrgId } from '../../domain/ids';
import { findApiKeyByDigest, rekeyApiKey } from '../../db/apiKeys';
import { safeEqual, tokenDigests } from '../../security/tokens';
import type { ApiDeps, ApiState, Principal } from '../context';

const API_KEY_PATTERN = /^sk_[A-Za-z0-9_-]{20,100}$/;

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
  return match?.[1];
}

async function resolvePrincipal(deps: ApiDeps, token: string): Promise<Principal | undefined> {
  if (safeEqual(token, deps.config.adminToken)) return { kind: 'operator' };
  if (!API_KEY_PATTERN.test(token)) return undefined;
  const digests = tokenDigests(token, deps.keys.verifying('api-key'));
  const key = await findApiKeyByDigest(deps.c, digests);
  if (!key) return undefined;
  // Keys outlive secrets: one still stored under a previous secret moves to the current one on use,
  // so the previous secret can be dropped once every key has been used since the rotation.
  if (key.digest !== digests[0]) await rekeyApiKey(deps.c, key, digests[0]!);
  return { kind: 'org-key', orgId: key.orgId };
}

async function authenticate(deps: ApiDeps, authorization: string | undefined): Promise<Principal> {
  const token = bearerToken(authorization);
  const principal = token ? await resolvePrincipal(deps, token) : undefined;
  if (!principal) throw new DomainError('unauthorized', 'A valid operator token or API key is required');
  return principal;
}

export function requireOperator(deps: ApiDeps): Middleware<ApiState> {
  return async (ctx, next) => {
    const principal = await authenticate(deps, ctx.get('authorization') || undefined);
    if (principal.kind !== 'operator')
      throw new DomainError('forbidden', 'This route needs the operator token');
    ctx.state.principal = principal;
    await next();
  };
}

/** For routes under /v1/orgs/:orgId: the operator, or an API key of that very organization. */
export function requireOrgAccess(deps: ApiDeps): Middleware<ApiState> {
  return async (ctx, next) => {
    const principal = await authenticate(deps, ctx.get('authorization') || undefined);
    const orgId = (ctx as unknown as { params?: { orgId?: string } }).params?.orgId;
    if (principal.kind === 'org-key' && principal.orgId !== (orgId as OrgId)) {
      throw new DomainError('forbidden', 'This API key does not belong to this organization');
    }
    ctx.state.principal = principal;
    await next();
  };
}
