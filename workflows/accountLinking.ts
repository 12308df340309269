// accountLinking: an existing account whose email is in one of the connection's verified domains
// gets the SSO identity and the org membership; it keeps its user ID, data and other memberships.
import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { SIGN_IN_ACTIVITY_OPTIONS, type IdentityStepInput } from './shared';

const { upsertIdentity } = proxyLocalActivities<Activities>(SIGN_IN_ACTIVITY_OPTIONS);

export async function accountLinking(
  input: IdentityStepInput & { userId: string },
): Promise<{ userId: string }> {
  return upsertIdentity({ attemptId: input.attemptId, userId: input.userId, role: input.role });
}
