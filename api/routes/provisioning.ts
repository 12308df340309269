// Operators and org admins see sign-in provisioning that is still running (retrying on its own)
// or that ended without success, and can start a failed one again. Temporal's visibility store
// is the source of truth: the runs carry OrgId and ConnectorId search attributes.
import Router from '@koa/router';
import {
  defaultPayloadConverter,
  WorkflowNotFoundError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { z } from 'zod';
import { DomainError } from '../../domain/errors';
import { ConnectorIdKey, OrgIdKey, UserIdKey } from '../../workflows/searchAttributes';
import { PROVISIONING_WORKFLOW_TYPES, type SsoSignInInput } from '../../workflows/shared';
import type { ApiDeps, ApiState } from '../context';
import { requireOrgAccess } from '../middleware/auth';
import { startSsoSignIn } from '../temporalCalls';
import { provisioningListQuery as listQuery } from '../schemas';
import { parse } from '../validate';
import { loadOrg } from './orgs';

const STATUS_FILTERS = {
  failed: "ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated')",
  running: "ExecutionStatus = 'Running'",
} as const;
const SIGN_IN_ID = /^sso-sign-in-con_[a-f0-9]{32}-[A-Za-z0-9_-]{32}/;
const retryParams = z.object({
  orgId: z.string(),
  id: z
    .string()
    .max(200)
    .regex(new RegExp(`${SIGN_IN_ID.source}(-jit|-link)?$`), 'not a provisioning ID'),
});

function runView(info: WorkflowExecutionInfo) {
  return {
    id: info.workflowId,
    runId: info.runId,
    type: info.type,
    status: info.status.name,
    connectorId: info.typedSearchAttributes.get(ConnectorIdKey) ?? null,
    userId: info.typedSearchAttributes.get(UserIdKey) ?? null,
    startedAt: info.startTime.toISOString(),
    closedAt: info.closeTime?.toISOString() ?? null,
  };
}

export function provisioningRoutes(deps: ApiDeps): Router<ApiState> {
  const router = new Router<ApiState>();
  router.use('/v1/orgs/:orgId/provisioning', requireOrgAccess(deps));

  router.get('/v1/orgs/:orgId/provisioning', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { status, limit } = parse(listQuery, ctx.query);
    // org._id comes from the database and matches org_[a-f0-9]{32}: nothing to escape.
    const types = PROVISIONING_WORKFLOW_TYPES.map((type) => `'${type}'`).join(', ');
    const query = `OrgId = '${org._id}' AND WorkflowType IN (${types}) AND ${STATUS_FILTERS[status]}`;
    const runs: ReturnType<typeof runView>[] = [];
    for await (const info of deps.temporal.workflow.list({ query, pageSize: limit })) {
      runs.push(runView(info));
      if (runs.length >= limit) break;
    }
    ctx.body = { status, runs };
  });

  router.post('/v1/orgs/:orgId/provisioning/:id/retry', async (ctx) => {
    const org = await loadOrg(deps, ctx.params);
    const { id } = parse(retryParams, ctx.params);
    // A failed JIT or linking step failed its sign-in too; retrying the sign-in redoes the step.
    const signInId = SIGN_IN_ID.exec(id)?.[0] ?? id;
    const handle = deps.temporal.workflow.getHandle(signInId);
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError)
        throw new DomainError('not_found', 'Provisioning run not found');
      throw error;
    }
    if (description.typedSearchAttributes.get(OrgIdKey) !== org._id)
      throw new DomainError('not_found', 'Provisioning run not found');
    if (description.status.name === 'RUNNING')
      throw new DomainError('conflict', 'This provisioning run is still running and retrying');
    if (description.status.name === 'COMPLETED')
      throw new DomainError('conflict', 'This provisioning run has completed');
    const history = await handle.fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new DomainError('conflict', 'The run has no input to retry with');
    const input = defaultPayloadConverter.fromPayload<SsoSignInInput>(payload);
    const run = await startSsoSignIn(deps, signInId, input);
    ctx.status = 202;
    ctx.body = { id: run.workflowId, runId: run.firstExecutionRunId };
  });

  return router;
}
