import Router from '@koa/router';
import { orThrow } from '../../domain/errors';
import { normalizeEmail } from '../../domain/email';
import type { UserDoc } from '../../db/collections';
import type { ApiContext, ApiDeps, ApiState } from '../context';
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
import { rateLimit } from '../middleware/rateLimit';
import { withSignInOutcome } from '../services/signInOutcomes';
import { parse } from '../validate';

/** The normalized address and its domain, as every sign-in service takes them. */
function addressOf(email: string): { email: string; emailDomain: string } {
  const normalized = orThrow(normalizeEmail(email));
  return { email: normalized.email, emailDomain: normalized.domain };
}

/** The desktop app's `X-Client-Version`, when it sent one (rule 9). */
function clientVersionOf(ctx: ApiContext): { clientVersion?: string } {
  const header = ctx.get('x-client-version');
  return header ? { clientVersion: header } : {};
}

/** A password or email-code sign-in with its outcome recorded, answered with a new session's token. */
async function signInWithSession(
  deps: ApiDeps,
  ctx: ApiContext,
  protocol: 'password' | 'email_code',
  emailDomain: string,
  signIn: () => Promise<{ user: UserDoc; amr: string[] }>,
): Promise<{ token: string }> {
  const { user, amr } = await withSignInOutcome(
    deps,
    { protocol, emailDomain },
    signIn,
    (signedIn) => signedIn.user._id,
  );
  return { token: await startSession(deps, ctx, user._id, amr) };
}

export function authRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();

  // The same answer for new, unproven and proven addresses; the email says the rest.
  router.post('/v1/auth/sign-up', rateLimit(deps, '/v1/auth/sign-up', { account: true }), async (ctx) => {
    const body = parse(signUpBody, ctx.request.body);
    await signUp(deps, {
      ...addressOf(body.email),
      password: body.password,
      ...(body.name ? { name: body.name } : {}),
    });
    ctx.status = 202;
    ctx.body = { status: 'verification_sent' };
  });

  // The code proves the mailbox, which is what password sign-in would otherwise ask next: the
  // account is signed in (amr otp: a one-time code, RFC 8176).
  router.post(
    '/v1/auth/sign-up/verify',
    rateLimit(deps, '/v1/auth/sign-up/verify', { account: true }),
    async (ctx) => {
      const body = parse(signUpVerifyBody, ctx.request.body);
      const user = await verifySignUp(deps, {
        ...addressOf(body.email),
        code: body.code,
        ...clientVersionOf(ctx),
      });
      const token = await startSession(deps, ctx, user._id, ['otp']);
      ctx.body = { id: user._id, token };
    },
  );

  router.post('/v1/auth/password', rateLimit(deps, '/v1/auth/password', { account: true }), async (ctx) => {
    const body = parse(passwordSignInBody, ctx.request.body);
    const address = addressOf(body.email);
    ctx.body = await signInWithSession(deps, ctx, 'password', address.emailDomain, () =>
      passwordSignIn(deps, {
        ...address,
        password: body.password,
        ...(body.totp ? { totp: body.totp } : {}),
        ...clientVersionOf(ctx),
      }),
    );
  });

  // 202 for every address: a code goes only to an existing account whose domain does not
  // enforce SSO (or a break-glass account), at most one a minute.
  router.post(
    '/v1/auth/email-code/start',
    rateLimit(deps, '/v1/auth/email-code/start', { account: true }),
    async (ctx) => {
      const body = parse(emailCodeStartBody, ctx.request.body);
      await startEmailCodeSignIn(deps, addressOf(body.email));
      ctx.status = 202;
      ctx.body = { status: 'code_sent' };
    },
  );

  router.post(
    '/v1/auth/email-code/verify',
    rateLimit(deps, '/v1/auth/email-code/verify', { account: true }),
    async (ctx) => {
      const body = parse(emailCodeVerifyBody, ctx.request.body);
      const address = addressOf(body.email);
      ctx.body = await signInWithSession(deps, ctx, 'email_code', address.emailDomain, () =>
        verifyEmailCodeSignIn(deps, {
          ...address,
          code: body.code,
          ...(body.totp ? { totp: body.totp } : {}),
          ...clientVersionOf(ctx),
        }),
      );
    },
  );

  // 202 for every address: a link goes only to an account that needs a password (see the service).
  router.post(
    '/v1/auth/password/setup/start',
    rateLimit(deps, '/v1/auth/password/setup/start', { account: true }),
    async (ctx) => {
      const body = parse(passwordSetupStartBody, ctx.request.body);
      await startPasswordSetup(deps, addressOf(body.email));
      ctx.status = 202;
      ctx.body = { status: 'link_sent' };
    },
  );

  router.post('/v1/auth/password/setup', rateLimit(deps, '/v1/auth/password/setup'), async (ctx) => {
    const body = parse(passwordSetupBody, ctx.request.body);
    await completePasswordSetup(deps, body);
    ctx.body = { status: 'password_set' };
  });

  return router;
}
