// jitProvisioning: a first-time SSO user gets an account (email, name and avatar from the IdP),
// the SSO identity with every other attribute on its profile, and the connection's default role.
// When a sign-up took the email first, that account is treated as accountLinking treats it.
import { patched, proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { UserIdKey } from './searchAttributes';
import { RECLAIM_UNPROVEN_ACCOUNTS_PATCH, SIGN_IN_ACTIVITY_OPTIONS, type IdentityStepInput } from './shared';

const { provisionUser, reclaimUnprovenAccount, upsertIdentity } =
  proxyLocalActivities<Activities>(SIGN_IN_ACTIVITY_OPTIONS);

export async function jitProvisioning(
  input: IdentityStepInput,
): Promise<{ outcome: 'provisioned' | 'linked' | 'reclaimed'; userId: string }> {
  const { userId, created } = await provisionUser({ attemptId: input.attemptId });
  upsertSearchAttributes([{ key: UserIdKey, value: userId }]);
  const reclaimed =
    !created &&
    patched(RECLAIM_UNPROVEN_ACCOUNTS_PATCH) &&
    (await reclaimUnprovenAccount({ attemptId: input.attemptId, userId })).reclaimed;
  const linked = await upsertIdentity({ attemptId: input.attemptId, userId, role: input.role });
  return { outcome: created ? 'provisioned' : reclaimed ? 'reclaimed' : 'linked', userId: linked.userId };
}
