// Password sign-in and the sign-up gate as the product rules (docs/rules.md) shape them: enforcement (rule 7),
// the desktop version gate (rule 9), local MFA (rule 8), break-glass accounts and proven emails are
// decided by domain/signInPolicy.ts decideSignIn; this module gathers the facts for it and turns a
// refusal into the error the client acts on.
import { findConnectorForDomain } from '../../db/connectors';
import type { UserDoc } from '../../db/collections';
import { findLiveEmailCode } from '../../db/emailCodes';
import { findUserByEmail, isEmailProven } from '../../db/users';
import { DomainError } from '../../domain/errors';
import { hashPassword, verifyPassword } from '../../security/passwords';
import { spUrls } from '../../sso/connectorUrls';
import type { ApiDeps } from '../context';
import { domainConnectionFacts, isExempt } from './enforcement';
import { decideLocalSignIn } from './localSignIn';

// Spent on unknown emails too, so response time does not tell which emails have accounts. Made on
// first use rather than at import, so starting the API costs no scrypt.
let dummyHash: Promise<string> | undefined;
const dummy = () => (dummyHash ??= hashPassword('not-a-real-password'));

/** sso_required tells the client where to go: the connection's login URL (rule 7). */
export function ssoRequired(deps: ApiDeps, connectorId: string): DomainError {
  return new DomainError('sso_required', undefined, {
    connectorId,
    loginUrl: spUrls(deps.config.publicUrl, connectorId).loginUrl,
  });
}

/** New personal accounts are refused for domains whose organization enforces SSO. */
export async function assertSignUpAllowed(deps: ApiDeps, emailDomain: string): Promise<void> {
  const connector = await findConnectorForDomain(deps.c, emailDomain);
  if (connector?.enforced) throw ssoRequired(deps, connector._id);
}

export async function passwordSignIn(
  deps: ApiDeps,
  input: { email: string; emailDomain: string; password: string; totp?: string; clientVersion?: string },
): Promise<{ user: UserDoc; amr: string[] }> {
  const [domain, user] = await Promise.all([
    domainConnectionFacts(deps, input.emailDomain),
    findUserByEmail(deps.c, input.email),
  ]);
  const exempt = await isExempt(deps, domain, user);
  const emailProven = user !== null && isEmailProven(user);
  // An unproven account has no password of its own yet: the one chosen with its pending sign-up
  // is checked only to tell that person to enter the code (email_unverified), never to sign in.
  const passwordHash =
    user && !emailProven
      ? (user.passwordHash ??
        (await findLiveEmailCode(deps.c, 'sign_up', user._id, deps.clock()))?.passwordHash ??
        null)
      : (user?.passwordHash ?? null);
  // Under enforcement only a break-glass account's password is evaluated; the hash work is spent
  // on every other path too (unknown emails, enforced domains), so timing tells nothing.
  const evaluate = (!domain.enforcing || exempt) && passwordHash !== null;
  const passwordValid = evaluate
    ? await verifyPassword(input.password, passwordHash)
    : (await verifyPassword(input.password, await dummy()), false);
  const amr = await decideLocalSignIn(deps, {
    method: 'password',
    domain,
    user,
    exempt,
    credentialValid: passwordValid,
    ...(input.totp !== undefined ? { totp: input.totp } : {}),
    ...(input.clientVersion !== undefined ? { clientVersion: input.clientVersion } : {}),
  });
  // The table allows only an existing account with a matching password.
  return { user: user!, amr };
}
