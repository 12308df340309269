// jitProvisioning: a first-time SSO user gets an account (email, name and avatar from the IdP),
// the SSO identity with every other attribute on its profile, and the connection's default role.
import { proxyLocalActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { UserIdKey } from './searchAttributes';
import { SIGN_IN_ACTIVITY_OPTIONS, type IdentityStepInput } from './shared';

const { provisionUser, upsertIdentity } = proxyLocalActivities<Activities>(SIGN_IN_ACTIVITY_OPTIONS);

export async function jitProvisioning(
  input: IdentityStepInput,
): Promise<{ outcome: 'provisioned' | 'linked'; userId: string }> {
  const { userId, created } = await provisionUser({ attemptId: input.attemptId });
  upsertSearchAttributes([{ key: UserIdKey, value: userId }]);
  const linked = await upsertIdentity({ attemptId: input.attemptId, userId, role: input.role });
  return { outcome: created ? 'provisioned' : 'linked', userId: linked.userId };
}
