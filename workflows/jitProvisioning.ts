// jitProvisioning: a first-time SSO user gets an account (email, name and avatar from the IdP),
// the SSO identity with every other attribute on its profile, and the connection's default role.
import { ApplicationFailure, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { UserIdKey } from './searchAttributes';
import type { IdentityStepInput } from './shared';

const { provisionUser, upsertIdentity } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '1m' },
});

export async function jitProvisioning(
  input: IdentityStepInput,
): Promise<{ outcome: 'provisioned' | 'linked'; userId: string }> {
  // The parent only starts this with an email (rule 6); a missing one is a bug, not a retry case.
  if (!input.email) throw ApplicationFailure.nonRetryable('jitProvisioning needs an email', 'email_missing');
  const { userId, created } = await provisionUser({
    email: input.email,
    ...(input.name ? { name: input.name } : {}),
    ...(input.avatarUrl ? { avatarUrl: input.avatarUrl } : {}),
  });
  upsertSearchAttributes([{ key: UserIdKey, value: userId }]);
  const linked = await upsertIdentity({
    connectorId: input.connectorId,
    orgId: input.orgId,
    subject: input.subject,
    userId,
    profile: input.profile,
    role: input.role,
  });
  return { outcome: created ? 'provisioned' : 'linked', userId: linked.userId };
}
