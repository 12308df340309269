import Router from '@koa/router';
import { z } from 'zod';
import type { UserId } from '../../domain/ids';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { userResponse } from '../schemas';
import { orgMember, type OrgMember } from '../services/members';
import { parse } from '../validate';
import { loadOrg } from './orgs';

const userParams = z.object({
  orgId: z.string(),
  userId: z.string().regex(/^usr_[a-f0-9]{32}$/, 'not a user ID'),
});

function memberView({ user, membership, identities }: OrgMember): z.output<typeof userResponse> {
  return {
    id: user._id,
    email: user.email,
    emailVerified: (user.emailVerified ?? null) !== null,
    name: user.name,
    avatarUrl: user.avatarUrl,
    role: membership.role,
    hasPassword: user.passwordHash !== null,
    needsPasswordSetup: user.needsPasswordSetup,
    ssoIdentities: identities.map((identity) => ({
      connectorId: identity.connectorId,
      subject: identity.subject,
      profile: identity.profile,
      lastSignInAt: identity.lastSignInAt.toISOString(),
    })),
  };
}

export function userRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  // An org sees its members only, and only the SSO identities of its own connections.
  router.get('/v1/orgs/:orgId/users/:userId', requireOrgAccess(deps), async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { userId } = parse(userParams, ctx.params);
    ctx.body = memberView(await orgMember(deps, org._id, userId as UserId));
  });

  return router;
}
