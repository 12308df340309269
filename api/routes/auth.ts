import Router from '@koa/router';
import { orThrow } from '../../domain/errors';
import { normalizeEmail } from '../../domain/email';
import type { ApiDeps, ApiState } from '../context';
import { passwordSignIn } from '../services/passwordSignIn';
import { signUp, verifySignUp } from '../services/signUp';
import { startSession } from '../sessions';
import {
  emailCodeStartBody,
  emailCodeVerifyBody,
  passwordSetupBody,
  passwordSetupStartBody,
  passwordSignInBody,
  signUpBody,
  signUpVerifyBody,
} from '../schemas';
import { startEmailCodeSignIn, verifyEmailCodeSignIn } from '../services/emailCodeSignIn';
import { completePasswordSetup, startPasswordSetup } from '../services/passwordSetup';
import { parse } from '../validate';

export function authRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  // The same answer for new, unproven and proven addresses; the email says the rest.
  router.post('/v1/auth/sign-up', async (ctx) => {
    const body = parse(signUpBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    await signUp(deps, {
      email: normalized.email,
      emailDomain: normalized.domain,
      password: body.password,
      ...(body.name ? { name: body.name } : {}),
    });
    ctx.status = 202;
    ctx.body = { status: 'verification_sent' };
  });

  // The code proves the mailbox, which is what password sign-in would otherwise ask next: the
  // account is signed in (amr otp: a one-time code, RFC 8176).
  router.post('/v1/auth/sign-up/verify', async (ctx) => {
    const body = parse(signUpVerifyBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    const user = await verifySignUp(deps, {
      email: normalized.email,
      emailDomain: normalized.domain,
      code: body.code,
      ...(ctx.get('x-client-version') ? { clientVersion: ctx.get('x-client-version') } : {}),
    });
    const token = await startSession(deps, ctx, user._id, ['otp']);
    ctx.body = { id: user._id, token };
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

  // 202 for every address: a code goes only to an existing account whose domain does not
  // enforce SSO (or a break-glass account), at most one a minute.
  router.post('/v1/auth/email-code/start', async (ctx) => {
    const body = parse(emailCodeStartBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    await startEmailCodeSignIn(deps, { email: normalized.email, emailDomain: normalized.domain });
    ctx.status = 202;
    ctx.body = { status: 'code_sent' };
  });

  router.post('/v1/auth/email-code/verify', async (ctx) => {
    const body = parse(emailCodeVerifyBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    const { user, amr } = await verifyEmailCodeSignIn(deps, {
      email: normalized.email,
      emailDomain: normalized.domain,
      code: body.code,
      ...(body.totp ? { totp: body.totp } : {}),
      ...(ctx.get('x-client-version') ? { clientVersion: ctx.get('x-client-version') } : {}),
    });
    const token = await startSession(deps, ctx, user._id, amr);
    ctx.body = { token };
  });

  // 202 for every address: a link goes only to an account that needs a password (see the service).
  router.post('/v1/auth/password/setup/start', async (ctx) => {
    const body = parse(passwordSetupStartBody, ctx.request.body);
    const normalized = orThrow(normalizeEmail(body.email));
    await startPasswordSetup(deps, { email: normalized.email, emailDomain: normalized.domain });
    ctx.status = 202;
    ctx.body = { status: 'link_sent' };
  });

  router.post('/v1/auth/password/setup', async (ctx) => {
    const body = parse(passwordSetupBody, ctx.request.body);
    await completePasswordSetup(deps, body);
    ctx.body = { status: 'password_set' };
  });

  return router;
}
