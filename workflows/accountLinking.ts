// accountLinking: an existing account whose email is in one of the connection's verified domains
// gets the SSO identity and the org membership. A proven account keeps its user ID, data and
// other memberships; an unproven one is reclaimed first (its password and sessions go), so an
// identity never attaches to an account someone else could still open (pre-hijacking).
import { patched, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { RECLAIM_UNPROVEN_ACCOUNTS_PATCH, SIGN_IN_ACTIVITY_OPTIONS, type IdentityStepInput } from './shared';

const { reclaimUnprovenAccount, upsertIdentity } = proxyLocalActivities<Activities>(SIGN_IN_ACTIVITY_OPTIONS);

export async function accountLinking(
  input: IdentityStepInput & { userId: string },
): Promise<{ userId: string; reclaimed: boolean }> {
  const reclaimed =
    patched(RECLAIM_UNPROVEN_ACCOUNTS_PATCH) &&
    (await reclaimUnprovenAccount({ attemptId: input.attemptId, userId: input.userId })).reclaimed;
  const { userId } = await upsertIdentity({
    attemptId: input.attemptId,
    userId: input.userId,
    role: input.role,
  });
  return { userId, reclaimed };
}
