import Router from '@koa/router';
import { DomainError, orThrow } from '../../domain/errors';
import { normalizeEmail } from '../../domain/email';
import type { UserId } from '../../domain/ids';
import { isDuplicateKeyError } from '../../db/collections';
import { newId } from '../../db/ids';
import { newUserDoc } from '../../db/users';
import { hashPassword } from '../../security/passwords';
import type { ApiDeps, ApiState } from '../context';
import { assertSignUpAllowed, passwordSignIn } from '../services/passwordSignIn';
import { startSession } from '../sessions';
import { passwordSignInBody, signUpBody } from '../schemas';
import { parse } from '../validate';

export function authRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.post('/v1/auth/sign-up', async (ctx) => {
    const body = parse(signUpBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    await assertSignUpAllowed(deps, normalized.domain);
    const now = deps.clock();
    const user = newUserDoc(
      newId<UserId>('usr'),
      { email: normalized.email, name: body.name ?? null, passwordHash: await hashPassword(body.password) },
      now,
    );
    try {
      await deps.c.users.insertOne(user);
    } catch (error) {
      if (isDuplicateKeyError(error))
        throw new DomainError('email_taken', 'An account with this email already exists');
      throw error;
    }
    ctx.status = 201;
    ctx.body = { id: user._id };
  });

  router.post('/v1/auth/password', async (ctx) => {
    const body = parse(passwordSignInBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    const { user, amr } = await passwordSignIn(deps, {
      email: normalized.email,
      emailDomain: normalized.domain,
      password: body.password,
      ...(body.totp ? { totp: body.totp } : {}),
      ...(ctx.get('x-client-version') ? { clientVersion: ctx.get('x-client-version') } : {}),
    });
    const token = await startSession(deps, ctx, user._id, amr);
    ctx.body = { token };
  });

  return router;
}
