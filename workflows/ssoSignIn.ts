// ssoSignIn: one run per (connection, subject) at a time (the API starts it with a workflow ID
// derived from both and attaches concurrent callbacks to the running one). It decides between a
// returning identity, account linking and just-in-time provisioning; the latter two are child
// workflows so each shows up under its own name in the Temporal UI. A broken rule is a completed
// run with outcome "refused"; infrastructure trouble is retried until it succeeds.
import { executeChild, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { accountLinking } from './accountLinking';
import { jitProvisioning } from './jitProvisioning';
import { ConnectorIdKey, OrgIdKey, UserIdKey } from './searchAttributes';
import type { SsoSignInInput, SsoSignInResult } from './shared';

const { decideSignIn, upsertIdentity } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '1m' },
});

export async function ssoSignIn(input: SsoSignInInput): Promise<SsoSignInResult> {
  const { decision, defaultRole } = await decideSignIn({ attemptId: input.attemptId });
  if (decision.kind === 'refuse') return { outcome: 'refused', code: decision.code };

  if (decision.kind === 'returning') {
    upsertSearchAttributes([{ key: UserIdKey, value: decision.userId }]);
    await upsertIdentity({ attemptId: input.attemptId, userId: decision.userId, role: defaultRole });
    return { outcome: 'returning', userId: decision.userId };
  }

  const child = {
    args: [{ ...input, role: defaultRole }] as [typeof input & { role: string }],
    typedSearchAttributes: [
      { key: OrgIdKey, value: input.orgId },
      { key: ConnectorIdKey, value: input.connectorId },
      ...(decision.kind === 'link' ? [{ key: UserIdKey, value: decision.userId }] : []),
    ],
  };
  if (decision.kind === 'link') {
    upsertSearchAttributes([{ key: UserIdKey, value: decision.userId }]);
    const { userId } = await executeChild(accountLinking, {
      ...child,
      args: [{ ...input, role: defaultRole, userId: decision.userId }],
      workflowId: `${workflowInfo().workflowId}-link`,
    });
    return { outcome: 'linked', userId };
  }
  const result = await executeChild(jitProvisioning, {
    ...child,
    workflowId: `${workflowInfo().workflowId}-jit`,
  });
  upsertSearchAttributes([{ key: UserIdKey, value: result.userId }]);
  return result;
}
