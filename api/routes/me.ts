import Router from '@koa/router';
import type { z } from 'zod';
import { DomainError } from '../../domain/errors';
import { listMemberships } from '../../db/memberships';
import { findUserById } from '../../db/users';
import type { ApiDeps, ApiState } from '../context';
import { meResponse } from '../schemas';
import { readSession } from '../sessions';

export function meRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  router.get('/v1/me', async (ctx) => {
    const session = await readSession(deps, ctx);
    const user = session && (await findUserById(deps.c, session.userId));
    if (!session || !user) throw new DomainError('unauthorized', 'Sign in first');
    const memberships = await listMemberships(deps.c, user._id);
    const view: z.output<typeof meResponse> = {
      id: user._id,
      email: user.email,
      name: user.name,
      avatarUrl: user.avatarUrl,
      organizations: memberships.map((m) => ({ id: m.orgId, role: m.role })),
      amr: session.amr,
      connectorId: session.connectorId,
    };
    ctx.body = view;
  });
  return router;
}
