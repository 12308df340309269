// Sign-in provisioning that is still running (retrying on its own) or that ended without success,
// and starting a failed one again. Temporal's visibility store is the source of truth: the runs
// carry OrgId and ConnectorId search attributes (api/workflowClient.ts reads them).
import { DomainError } from '../../domain/errors';
import type { OrgId } from '../../domain/ids';
import type { ApiDeps } from '../context';
import {
  describeSignInRun,
  listProvisioningRuns,
  type ProvisioningRun,
  type ProvisioningRunStatus,
} from '../workflowClient';

export type { ProvisioningRun, ProvisioningRunStatus };

/** A sign-in run's workflow ID; JIT and linking runs add `-jit` or `-link` to it. */
export const SIGN_IN_ID = /^sso-sign-in-con_[a-f0-9]{32}-[A-Za-z0-9_-]{32}/;

export function provisioningRuns(
  deps: ApiDeps,
  orgId: OrgId,
  status: ProvisioningRunStatus,
  limit: number,
): Promise<ProvisioningRun[]> {
  return listProvisioningRuns(deps, orgId, status, limit);
}

/**
 * Starts a failed provisioning run again with the input it was first given. A JIT or linking run
 * the API started itself is retried as it is; one that ran as the child of a sign-in run (before
 * the API started them directly) failed its parent too, and retrying the parent redoes it. Runs
 * of other organizations are not found, so their IDs reveal nothing.
 */
export async function retryProvisioningRun(
  deps: ApiDeps,
  orgId: OrgId,
  id: string,
): Promise<{ id: string; runId: string }> {
  let run = await describeSignInRun(deps, id);
  const parentId = run?.parentWorkflowId ?? (run ? undefined : SIGN_IN_ID.exec(id)?.[0]);
  if (parentId !== undefined) run = await describeSignInRun(deps, parentId);
  if (!run || run.orgId !== orgId) throw new DomainError('not_found', 'Provisioning run not found');
  if (run.status === 'RUNNING')
    throw new DomainError('conflict', 'This provisioning run is still running and retrying');
  if (run.status === 'COMPLETED') throw new DomainError('conflict', 'This provisioning run has completed');
  const started = await run.restart();
  if (!started) throw new DomainError('conflict', 'The run has no input to retry with');
  return { id: started.workflowId, runId: started.firstExecutionRunId };
}
