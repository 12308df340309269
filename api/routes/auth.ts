import Router from '@koa/router';
import { DomainError, orThrow } from '../../domain/errors';
import { normalizeEmail } from '../../domain/email';
import type { UserId } from '../../domain/ids';
import { isDuplicateKeyError } from '../../db/collections';
import { newId } from '../../db/ids';
import { findConnectorForDomain } from '../../db/connectors';
import { findUserByEmail, newUserDoc } from '../../db/users';
import { isDesktopClientTooOld } from '../../domain/clientVersion';
import { passwordSignInPolicy, refusalError } from '../../domain/signInPolicy';
import { spUrls } from '../../sso/connectorUrls';
import { hashPassword, verifyPassword } from '../../security/passwords';
import type { ApiDeps, ApiState } from '../context';
import { startSession } from '../sessions';
import { passwordSignInBody, signUpBody } from '../schemas';
import { parse } from '../validate';

// Spent on unknown emails too, so response time does not tell which emails have accounts.
const DUMMY_HASH = hashPassword('not-a-real-password');

/** sso_required tells the client where to go: the connection's login URL (rule 7). */
function withLoginUrl(error: DomainError, deps: ApiDeps): DomainError {
  const connectorId = error.extensions.connectorId;
  if (typeof connectorId !== 'string') return error;
  return new DomainError(error.code, error.message, {
    connectorId,
    loginUrl: spUrls(deps.config.publicUrl, connectorId).loginUrl,
  });
}

export function authRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  router.post('/v1/auth/sign-up', async (ctx) => {
    const body = parse(signUpBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    const connector = await findConnectorForDomain(deps.c, normalized.domain);
    if (connector?.enforced) {
      throw withLoginUrl(
        refusalError({ kind: 'refuse', code: 'sso_required', connectorId: connector._id }),
        deps,
      );
    }
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
    const [connector, user] = await Promise.all([
      findConnectorForDomain(deps.c, normalized.domain),
      findUserByEmail(deps.c, normalized.email),
    ]);
    const enforced = connector?.enforced ? connector : null;
    // An enforced domain never has its passwords evaluated; otherwise the hash work is spent
    // even for unknown emails, so timing does not tell which emails have accounts.
    const passwordValid =
      !enforced &&
      (user?.passwordHash
        ? await verifyPassword(body.password, user.passwordHash)
        : (await verifyPassword(body.password, await DUMMY_HASH), false));
    const decision = passwordSignInPolicy({
      ...(enforced ? { enforcedDomain: { connectorId: enforced._id } } : {}),
      clientTooOld: isDesktopClientTooOld(
        ctx.get('x-client-version') || undefined,
        deps.config.desktopMinVersion,
      ),
      ...(user
        ? { account: { hasPassword: user.passwordHash !== null, mfaEnabled: user.totpSecret !== null } }
        : {}),
      passwordValid,
      totpGiven: body.totp !== undefined,
      // TOTP enrollment is not offered yet, so no account has a secret to check a code against.
      totpValid: false,
    });
    if (decision.kind === 'refuse') throw withLoginUrl(refusalError(decision), deps);
    const token = await startSession(deps, ctx, user!._id, decision.amr);
    ctx.body = { token };
  });

  return router;
}
