// The decision shared by the sign-ins that are not SSO (password, email code), once their first
// factor has been checked: the one policy table (domain/signInPolicy.ts) says allow or refuse,
// a second factor is checked only when the table asks for it, enforcement's verdict is audited,
// and a refusal is thrown with its code.
import type { UserDoc } from '../../db/collections';
import { isEmailProven } from '../../db/users';
import { decideSignIn } from '../../domain/signInPolicy';
import type { ApiDeps } from '../context';
import {
  auditEnforcedSignIn,
  isClientTooOld,
  signInRefusalError,
  type DomainConnectionFacts,
} from './enforcement';
import { checkSecondFactor } from './mfa';

export interface LocalSignInFacts {
  method: 'password' | 'email_code';
  domain: DomainConnectionFacts;
  user: UserDoc | null;
  exempt: boolean;
  /** Whether the first factor (password, emailed code) matched. */
  credentialValid: boolean;
  totp?: string;
  clientVersion?: string;
}

/** The session's `amr` when the sign-in may go on; throws the refusal otherwise. */
export async function decideLocalSignIn(deps: ApiDeps, facts: LocalSignInFacts): Promise<string[]> {
  const { user } = facts;
  const decide = (totp?: { valid: boolean }) =>
    decideSignIn({
      method: facts.method,
      connection: facts.domain.connection,
      clientTooOld: isClientTooOld(deps, facts.clientVersion),
      ...(user
        ? {
            account: {
              hasPassword: user.passwordHash !== null,
              mfaEnabled: user.totpSecret !== null,
              emailProven: isEmailProven(user),
              exempt: facts.exempt,
            },
          }
        : {}),
      credentialValid: facts.credentialValid,
      ...(totp ? { totp } : {}),
    });
  let decision = decide();
  // The TOTP code is checked (and used up) only once everything before it holds; mfa_required
  // leaves the first factor unspent, so the retry with the code can present it again.
  if (decision.kind === 'refuse' && decision.code === 'mfa_required' && facts.totp !== undefined && user)
    decision = decide({ valid: await checkSecondFactor(deps, user, facts.totp) });
  await auditEnforcedSignIn(deps, facts.domain, facts.method, user, decision);
  if (decision.kind === 'refuse') throw signInRefusalError(deps, decision, facts.clientVersion);
  return decision.amr;
}
