// ssoSignIn: one run per (connection, subject) at a time (the API starts it with a workflow ID
// derived from both and attaches concurrent callbacks to the running one). It decides between a
// returning identity, account linking and just-in-time provisioning; the latter two are child
// workflows so each shows up under its own name in the Temporal UI. A broken rule is a completed
// run with outcome "refused"; infrastructure trouble is retried until it succeeds.
import {
  executeChild,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { accountLinking } from './accountLinking';
import { jitProvisioning } from './jitProvisioning';
import { ConnectorIdKey, OrgIdKey, UserIdKey } from './searchAttributes';
import { SIGN_IN_ACTIVITY_OPTIONS, type SsoSignInInput, type SsoSignInResult } from './shared';

const { decideSignIn, upsertIdentity } = proxyLocalActivities<Activities>(SIGN_IN_ACTIVITY_OPTIONS);

export async function ssoSignIn(input: SsoSignInInput): Promise<SsoSignInResult> {
  const { decision, defaultRole } = await decideSignIn({ attemptId: input.attemptId });
  if (decision.kind === 'refuse') return { outcome: 'refused', code: decision.code };

  if (decision.kind === 'returning') {
    upsertSearchAttributes([{ key: UserIdKey, value: decision.userId }]);
    await upsertIdentity({ attemptId: input.attemptId, userId: decision.userId, role: defaultRole });
    return { outcome: 'returning', userId: decision.userId };
  }

  const step = { ...input, role: defaultRole };
  // 'reclaim' (an unproven account) runs the same child: accountLinking decides on the account
  // as it is when it writes, and says which it did.
  if (decision.kind === 'link' || decision.kind === 'reclaim') {
    upsertSearchAttributes([{ key: UserIdKey, value: decision.userId }]);
    const { userId, reclaimed } = await executeChild(accountLinking, {
      args: [{ ...step, userId: decision.userId }],
      workflowId: `${workflowInfo().workflowId}-link`,
      typedSearchAttributes: searchAttributesOf(input, decision.userId),
    });
    return { outcome: reclaimed ? 'reclaimed' : 'linked', userId };
  }
  const result = await executeChild(jitProvisioning, {
    args: [step],
    workflowId: `${workflowInfo().workflowId}-jit`,
    typedSearchAttributes: searchAttributesOf(input),
  });
  upsertSearchAttributes([{ key: UserIdKey, value: result.userId }]);
  return result;
}

function searchAttributesOf(input: SsoSignInInput, userId?: string) {
  return [
    { key: OrgIdKey, value: input.orgId },
    { key: ConnectorIdKey, value: input.connectorId },
    ...(userId ? [{ key: UserIdKey, value: userId }] : []),
  ];
}
