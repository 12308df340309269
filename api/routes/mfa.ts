// The signed-in user's own TOTP (api/services/mfa.ts): enroll, confirm with a first code, disable
// with a current one.
import Router from '@koa/router';
import type { UserDoc } from '../../db/collections';
import { findUserById } from '../../db/users';
import { DomainError } from '../../domain/errors';
import type { ApiContext, ApiDeps, ApiState } from '../context';
import { totpCodeBody } from '../schemas';
import { confirmTotpEnrollment, disableTotpWithCode, enrollTotp } from '../services/mfa';
import { readSession } from '../sessions';
import { parse } from '../validate';

async function sessionUser(deps: ApiDeps, ctx: ApiContext): Promise<UserDoc> {
  const session = await readSession(deps, ctx);
  const user = session && (await findUserById(deps.c, session.userId));
  if (!user) throw new DomainError('unauthorized', 'Sign in first');
  return user;
}

export function mfaRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.post('/v1/me/mfa/totp', async (ctx) => {
    const user = await sessionUser(deps, ctx);
    ctx.status = 201;
    ctx.body = await enrollTotp(deps, user);
  });

  router.post('/v1/me/mfa/totp/confirm', async (ctx) => {
    const user = await sessionUser(deps, ctx);
    const { code } = parse(totpCodeBody, ctx.request.body);
    ctx.body = { recoveryCodes: await confirmTotpEnrollment(deps, user, code) };
  });

  router.post('/v1/me/mfa/totp/disable', async (ctx) => {
    const user = await sessionUser(deps, ctx);
    const { code } = parse(totpCodeBody, ctx.request.body);
    await disableTotpWithCode(deps, user, code);
    ctx.status = 204;
  });

  return router;
}
