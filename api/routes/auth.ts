import Router from '@koa/router';
import { z } from 'zod';
import { DomainError, orThrow } from '../../domain/errors';
import { normalizeEmail } from '../../domain/email';
import type { UserId } from '../../domain/ids';
import { isDuplicateKeyError } from '../../db/collections';
import { newId } from '../../db/ids';
import { findUserByEmail, newUserDoc } from '../../db/users';
import { hashPassword, verifyPassword } from '../../security/passwords';
import type { ApiDeps, ApiState } from '../context';
import { startSession } from '../sessions';
import { parse } from '../validate';

const email = z.string().trim().min(3).max(320);
const password = z.string().min(8).max(256);
const signUpBody = z.strictObject({ email, password, name: z.string().trim().min(1).max(200).optional() });
const passwordSignInBody = z.strictObject({
  email,
  password: z.string().min(1).max(256),
  totp: z.string().regex(/^\d{6}$/).optional(),
});

// Spent on unknown emails too, so response time does not tell which emails have accounts.
const DUMMY_HASH = hashPassword('not-a-real-password');

export function authRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.post('/v1/auth/sign-up', async (ctx) => {
    const body = parse(signUpBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    const now = deps.clock();
    const user = newUserDoc(
      newId<UserId>('usr'),
      { email: normalized.email, name: body.name ?? null, passwordHash: await hashPassword(body.password) },
      now,
    );
    try {
      await deps.c.users.insertOne(user);
    } catch (error) {
      if (isDuplicateKeyError(error)) throw new DomainError('email_taken', 'An account with this email already exists');
      throw error;
    }
    ctx.status = 201;
    ctx.body = { id: user._id };
  });

  router.post('/v1/auth/password', async (ctx) => {
    const body = parse(passwordSignInBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    const user = await findUserByEmail(deps.c, normalized.email);
    const valid = user?.passwordHash
      ? await verifyPassword(body.password, user.passwordHash)
      : (await verifyPassword(body.password, await DUMMY_HASH), false);
    if (!user || !valid) throw new DomainError('invalid_credentials', 'Email or password is wrong');
    const token = await startSession(deps, ctx, user._id, ['pwd']);
    ctx.body = { token };
  });

  return router;
}
