// The API's one door into Temporal: every start, signal, wait, listing, description and
// termination the API makes goes through this module, typed against the workflow functions
// (type-only imports, so no workflow code is loaded here) so the compiler checks arguments and
// results. Waits are bounded: a slow or retrying workflow turns into a clear "try again shortly"
// while the workflow keeps going on its own, and the wait itself (a long poll on the run's
// history) is cancelled at the bound, so waits given up on do not pile up on the Temporal
// frontend during an outage.
import { randomUUID } from 'node:crypto';
import {
  ApplicationFailure,
  defaultPayloadConverter,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type WorkflowExecutionInfo,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { IdpSettings } from '../activities/idpMetadata';
import type { OidcProviderMetadata } from '../activities/oidcDiscovery';
import type { DomainDoc } from '../db/collections';
import { generationOf } from '../db/domains';
import { DomainError, isErrorCode } from '../domain/errors';
import type { ConnectorId, OrgId } from '../domain/ids';
import { runSummaries } from '../domain/runSummaries';
import type { KeyRing } from '../security/keys';
import { tokenDigest } from '../security/tokens';
import type { connectorTeardown } from '../workflows/connectorTeardown';
import type { domainVerification } from '../workflows/domainVerification';
import type { idpMetadataFetch } from '../workflows/idpMetadataFetch';
import type { oidcDiscovery } from '../workflows/oidcDiscovery';
import type { ssoSignIn } from '../workflows/ssoSignIn';
import type { accountLinking } from '../workflows/accountLinking';
import type { jitProvisioning } from '../workflows/jitProvisioning';
import { ConnectorIdKey, DomainIdKey, OrgIdKey, UserIdKey } from '../workflows/searchAttributes';
import {
  checkNowSignal,
  connectorTeardownWorkflowId,
  domainVerificationWorkflowId,
  expediteTeardownUpdate,
  restoreTeardownUpdate,
  teardownProgressQuery,
  type ConnectorTeardownInput,
  type TeardownProgress,
  PROVISIONING_WORKFLOW_TYPES,
  type IdentityStepInput,
  type SsoSignInInput,
  type SsoSignInResult,
} from '../workflows/shared';
import type { ApiDeps } from './context';
import { TIMED_OUT, withinBound } from './withinBound';
import { timed } from '../runtime/stepTimings';

/** The innermost ApplicationFailure's type, if it is one of our error codes. */
function failureCode(error: unknown): string | undefined {
  let cause: unknown = error;
  let code: string | undefined;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.type) code = cause.type;
    cause = cause.cause;
  }
  return code;
}

/**
 * The run's result, or TIMED_OUT after `ms`, when the poll for the result is cancelled. The
 * result's type comes from the handle, which is typed by the workflow function it was started as.
 */
async function resultWithinBound<R>(
  deps: ApiDeps,
  workflow: string,
  handle: Pick<WorkflowHandle<() => Promise<R>>, 'result'>,
  ms: number,
): Promise<R | typeof TIMED_OUT> {
  const abort = new AbortController();
  try {
    const result = await withinBound(
      deps.temporal.withAbortSignal(abort.signal, () => handle.result()),
      ms,
    );
    if (result === TIMED_OUT) deps.metrics?.workflowWaitTimeouts.inc({ workflow });
    return result;
  } finally {
    // Also after an answer: aborting calls that already ended does nothing.
    abort.abort();
  }
}

/** Counts a start (or signal-with-start) of a run of `workflow` in the API's metrics. */
function countStart(deps: ApiDeps, workflow: string): void {
  deps.metrics?.workflowStarts.inc({ workflow });
}

/**
 * Sign-ins start often and names change rarely: their summary names are kept for a minute per
 * connection, so the sign-in path does not read the organization and connection every time. A
 * rename shows in summaries of runs started after that minute.
 */
const SIGN_IN_NAMES_TTL_MS = 60_000;
const SIGN_IN_NAMES_MAX = 1_000;
const signInNames = new Map<string, { names: { org: string; connector: string }; until: number }>();

async function signInNamesOf(deps: ApiDeps, orgId: string, connectorId: string) {
  const now = Date.now();
  const cached = signInNames.get(connectorId);
  if (cached && cached.until > now) return cached.names;
  const names = await namesOf(deps, orgId, connectorId);
  if (signInNames.size >= SIGN_IN_NAMES_MAX) signInNames.clear();
  signInNames.set(connectorId, { names, until: now + SIGN_IN_NAMES_TTL_MS });
  return names;
}

/** Names for run summaries; an ID stands in for a record that is gone. */
async function namesOf(
  deps: ApiDeps,
  orgId: string,
  connectorId?: string,
): Promise<{ org: string; connector: string }> {
  const [org, connector] = await Promise.all([
    deps.c.orgs.findOne({ _id: orgId as OrgId }, { projection: { name: 1 } }),
    connectorId
      ? deps.c.connectors.findOne({ _id: connectorId as ConnectorId }, { projection: { name: 1 } })
      : null,
  ]);
  return { org: org?.name ?? orgId, connector: connector?.name ?? connectorId ?? '' };
}

const hostOf = (url: string) => {
  try {
    return new URL(url).host;
  } catch {
    return 'an unreadable URL';
  }
};

/** Readiness: whether the Temporal frontend answers. */
export async function pingTemporal(deps: ApiDeps): Promise<void> {
  await deps.temporal.workflowService.getSystemInfo({});
}

/**
 * What every run the API starts shares: our task queue, and the organization plus one more ID as
 * search attributes, so operators find the run by the IDs they know.
 */
function runPlacement(
  deps: ApiDeps,
  workflowId: string,
  orgId: string,
  key: typeof ConnectorIdKey,
  id: string,
) {
  return {
    taskQueue: deps.config.temporalTaskQueue,
    workflowId,
    typedSearchAttributes: [
      { key: OrgIdKey, value: orgId },
      { key, value: id },
    ],
  };
}

// IdP metadata

export async function fetchIdpSettings(deps: ApiDeps, url: string): Promise<IdpSettings> {
  try {
    const handle = await deps.temporal.workflow.start<typeof idpMetadataFetch>('idpMetadataFetch', {
      taskQueue: deps.config.temporalTaskQueue,
      workflowId: `idp-metadata-${randomUUID()}`,
      args: [{ url }],
      workflowExecutionTimeout: '2m',
      staticSummary: runSummaries.idpMetadataFetch(hostOf(url)),
    });
    countStart(deps, 'idpMetadataFetch');
    const result = await resultWithinBound(deps, 'idpMetadataFetch', handle, 30_000);
    if (result === TIMED_OUT) throw new DomainError('idp_unavailable', 'The metadata URL could not be read');
    return result;
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      const code = failureCode(error);
      if (code === 'idp_metadata_invalid')
        throw new DomainError('idp_metadata_invalid', 'The metadata document could not be used');
      throw new DomainError('idp_unavailable', 'The metadata URL could not be read');
    }
    throw error;
  }
}

/** An OpenID provider's discovery document (and a JWKS check), read by the oidcDiscovery workflow. */
export async function discoverOidcProvider(deps: ApiDeps, issuer: string): Promise<OidcProviderMetadata> {
  const unavailable = () => new DomainError('idp_unavailable', 'The OpenID provider could not be reached');
  try {
    const handle = await deps.temporal.workflow.start<typeof oidcDiscovery>('oidcDiscovery', {
      taskQueue: deps.config.temporalTaskQueue,
      workflowId: `oidc-discovery-${randomUUID()}`,
      args: [{ issuer }],
      workflowExecutionTimeout: '2m',
      staticSummary: runSummaries.oidcDiscovery(hostOf(issuer)),
    });
    countStart(deps, 'oidcDiscovery');
    const result = await resultWithinBound(deps, 'oidcDiscovery', handle, 30_000);
    if (result === TIMED_OUT) throw unavailable();
    return result;
  } catch (error) {
    if (error instanceof WorkflowFailedError) {
      if (failureCode(error) === 'idp_metadata_invalid')
        throw new DomainError('idp_metadata_invalid', 'The discovery document or JWKS could not be used');
      throw unavailable();
    }
    throw error;
  }
}

// SSO sign-in

/**
 * Subjects are often emails: the workflow ID carries a keyed digest, never the subject itself, so
 * someone who can read Temporal cannot confirm a guessed email by hashing it. The same subject
 * under two connections gives unrelated IDs.
 */
export function ssoSignInWorkflowId(keys: KeyRing, connectorId: string, subject: string): string {
  const digest = tokenDigest(`${connectorId}\n${subject}`, keys.current('workflow-id'));
  return `sso-sign-in-${connectorId}-${digest.slice(0, 32)}`;
}

/**
 * Concurrent callbacks for one person (double submit, several tabs) attach to the running
 * sign-in instead of starting a second one; a finished one makes room for the next sign-in.
 */
export async function startSsoSignIn(
  deps: ApiDeps,
  workflowId: string,
  input: SsoSignInInput,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof ssoSignIn>> {
  return startSignInRun<typeof ssoSignIn>(deps, 'ssoSignIn', workflowId, input);
}

export async function runSsoSignIn(
  deps: ApiDeps,
  workflowId: string,
  input: SsoSignInInput,
): Promise<Extract<SsoSignInResult, { userId: string }>> {
  const handle = await timed('workflow start', () => startSsoSignIn(deps, workflowId, input));
  const result = await signInResult(deps, 'ssoSignIn', handle);
  if (result.outcome === 'refused') throw new DomainError(result.code);
  return result;
}

/**
 * The one provisioning workflow a first sign-in needs, started directly by the API once it has
 * decided (api/services/ssoSignIn.ts): no parent run in front of it. Workflow IDs extend the
 * sign-in's (`-link`, `-jit`, as the ssoSignIn parent names its children), so concurrent callbacks
 * for one person attach to one run and the provisioning routes find it.
 */
export async function runAccountLinking(
  deps: ApiDeps,
  signInWorkflowId: string,
  input: IdentityStepInput & { userId: string },
): Promise<{ userId: string; reclaimed: boolean }> {
  const handle = await timed('workflow start', () =>
    startAccountLinking(deps, `${signInWorkflowId}-link`, input),
  );
  return signInResult(deps, 'accountLinking', handle);
}

function startAccountLinking(
  deps: ApiDeps,
  workflowId: string,
  input: IdentityStepInput & { userId: string },
) {
  return startSignInRun<typeof accountLinking>(deps, 'accountLinking', workflowId, input, [
    { key: UserIdKey, value: input.userId },
  ]);
}

/** See runAccountLinking. */
export async function runJitProvisioning(
  deps: ApiDeps,
  signInWorkflowId: string,
  input: IdentityStepInput,
): Promise<{ outcome: 'provisioned' | 'linked' | 'reclaimed'; userId: string }> {
  const handle = await timed('workflow start', () =>
    startJitProvisioning(deps, `${signInWorkflowId}-jit`, input),
  );
  return signInResult(deps, 'jitProvisioning', handle);
}

function startJitProvisioning(deps: ApiDeps, workflowId: string, input: IdentityStepInput) {
  return startSignInRun<typeof jitProvisioning>(deps, 'jitProvisioning', workflowId, input);
}

/**
 * Starts a sign-in run, or attaches to the one running under its ID (concurrent callbacks for one
 * person): placed by organization and connection, named after them in the Temporal UI, counted.
 */
async function startSignInRun<W extends typeof ssoSignIn | typeof accountLinking | typeof jitProvisioning>(
  deps: ApiDeps,
  workflowType: 'ssoSignIn' | 'accountLinking' | 'jitProvisioning',
  workflowId: string,
  input: Parameters<W>[0],
  moreSearchAttributes: { key: typeof UserIdKey; value: string }[] = [],
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  const names = await signInNamesOf(deps, input.orgId, input.connectorId);
  const placement = runPlacement(deps, workflowId, input.orgId, ConnectorIdKey, input.connectorId);
  const handle = await deps.temporal.workflow.start<W>(workflowType, {
    ...placement,
    typedSearchAttributes: [...placement.typedSearchAttributes, ...moreSearchAttributes],
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [input] as Parameters<W>,
    staticSummary: runSummaries[workflowType](names.connector, names.org),
  });
  countStart(deps, workflowType);
  return handle;
}

/**
 * A sign-in run's result within SIGN_IN_WAIT. A run failed by a rule answers its code; a run
 * still retrying answers "try again shortly" and goes on by itself.
 */
async function signInResult<R>(
  deps: ApiDeps,
  workflow: string,
  handle: Pick<WorkflowHandle<() => Promise<R>>, 'result'>,
): Promise<R> {
  let result: R | typeof TIMED_OUT;
  try {
    result = await timed('waiting on the workflow result', () =>
      resultWithinBound(deps, workflow, handle, deps.config.signInWaitMs),
    );
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const code = failureCode(error);
    throw isErrorCode(code)
      ? new DomainError(code)
      : new DomainError('try_again_later', 'Sign-in could not be completed; try again');
  }
  if (result === TIMED_OUT) {
    throw new DomainError('try_again_later', 'Your account is still being set up; try again shortly', {
      retryAfterSeconds: 5,
    });
  }
  return result;
}

// Provisioning runs (Temporal's visibility store is their source of truth)

export type ProvisioningWorkflowType = (typeof PROVISIONING_WORKFLOW_TYPES)[number];
export type ProvisioningRunStatus = 'failed' | 'running';

export interface ProvisioningRun {
  id: string;
  runId: string;
  type: ProvisioningWorkflowType;
  /** Temporal's execution status, e.g. RUNNING, FAILED, TIMED_OUT. */
  status: string;
  connectorId: string | null;
  userId: string | null;
  startedAt: Date;
  closedAt: Date | null;
}

const STATUS_FILTERS: Record<ProvisioningRunStatus, string> = {
  failed: "ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated')",
  running: "ExecutionStatus = 'Running'",
};

const isProvisioningType = (type: string): type is ProvisioningWorkflowType =>
  (PROVISIONING_WORKFLOW_TYPES as readonly string[]).includes(type);

function provisioningRun(info: WorkflowExecutionInfo): ProvisioningRun | undefined {
  if (!isProvisioningType(info.type)) return undefined;
  return {
    id: info.workflowId,
    runId: info.runId,
    type: info.type,
    status: info.status.name,
    connectorId: info.typedSearchAttributes.get(ConnectorIdKey) ?? null,
    userId: info.typedSearchAttributes.get(UserIdKey) ?? null,
    startedAt: info.startTime,
    closedAt: info.closeTime ?? null,
  };
}

/** `orgId` must come from the database (org_[a-f0-9]{32}): it is put into the query unescaped. */
export async function listProvisioningRuns(
  deps: ApiDeps,
  orgId: string,
  status: ProvisioningRunStatus,
  limit: number,
): Promise<ProvisioningRun[]> {
  const types = PROVISIONING_WORKFLOW_TYPES.map((type) => `'${type}'`).join(', ');
  const query = `OrgId = '${orgId}' AND WorkflowType IN (${types}) AND ${STATUS_FILTERS[status]}`;
  const runs: ProvisioningRun[] = [];
  for await (const info of deps.temporal.workflow.list({ query, pageSize: limit })) {
    const run = provisioningRun(info);
    if (run) runs.push(run);
    if (runs.length >= limit) break;
  }
  return runs;
}

export interface SignInRunState {
  orgId: string | undefined;
  /** The workflow type: ssoSignIn, or jitProvisioning / accountLinking (started alone or as its child). */
  type: string;
  /** The sign-in run that started this one as its child, if any. */
  parentWorkflowId: string | undefined;
  /** Temporal's execution status name, e.g. RUNNING, COMPLETED, FAILED. */
  status: string;
  /** Starts the run again under its workflow ID, with the input it was first given. */
  restart: () => Promise<{ workflowId: string; firstExecutionRunId: string } | undefined>;
}

/** The latest run of a provisioning workflow ID, or undefined when there is none. */
export async function describeSignInRun(
  deps: ApiDeps,
  workflowId: string,
): Promise<SignInRunState | undefined> {
  const handle = deps.temporal.workflow.getHandle(workflowId);
  let description;
  try {
    description = await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
  const firstInput = async <T>(): Promise<T | undefined> => {
    const history = await handle.fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    return payload && defaultPayloadConverter.fromPayload<T>(payload);
  };
  const type = description.type;
  return {
    orgId: description.typedSearchAttributes.get(OrgIdKey),
    type,
    parentWorkflowId: description.parentExecution?.workflowId ?? undefined,
    status: description.status.name,
    restart: async () => {
      if (type === 'ssoSignIn') {
        const input = await firstInput<SsoSignInInput>();
        return input && startSsoSignIn(deps, workflowId, input);
      }
      if (type === 'accountLinking') {
        const input = await firstInput<IdentityStepInput & { userId: string }>();
        return input && startAccountLinking(deps, workflowId, input);
      }
      if (type === 'jitProvisioning') {
        const input = await firstInput<IdentityStepInput>();
        return input && startJitProvisioning(deps, workflowId, input);
      }
      return undefined;
    },
  };
}

// Domain verification: one run per domain record, its workflow ID the domain's

async function domainRunOptions(
  deps: ApiDeps,
  domain: DomainDoc,
): Promise<WorkflowStartOptions<typeof domainVerification>> {
  const names = await namesOf(deps, domain.orgId);
  return {
    ...runPlacement(deps, domainVerificationWorkflowId(domain._id), domain.orgId, DomainIdKey, domain._id),
    args: [
      { domainId: domain._id, generation: generationOf(domain), timings: deps.config.domainVerification },
    ],
    staticSummary: runSummaries.domainVerification(domain.domain, names.org),
  };
}

/**
 * Starts the domain's verification run. `USE_EXISTING` keeps a run already checking this
 * domain; `TERMINATE_EXISTING` replaces it (a new generation of the record).
 */
export async function startDomainVerification(
  deps: ApiDeps,
  domain: DomainDoc,
  ifRunning: 'USE_EXISTING' | 'TERMINATE_EXISTING',
): Promise<void> {
  await deps.temporal.workflow.start<typeof domainVerification>('domainVerification', {
    ...(await domainRunOptions(deps, domain)),
    workflowIdConflictPolicy: ifRunning,
  });
  countStart(deps, 'domainVerification');
}

/** "Check now": wakes the domain's run, or starts one if it has none (signal-with-start). */
export async function wakeDomainVerification(deps: ApiDeps, domain: DomainDoc): Promise<void> {
  await deps.temporal.workflow.signalWithStart<typeof domainVerification, []>('domainVerification', {
    ...(await domainRunOptions(deps, domain)),
    signal: checkNowSignal,
  });
  countStart(deps, 'domainVerification');
}

/** Ends the domain's run; false when it has none running. */
export async function stopDomainVerification(
  deps: ApiDeps,
  domain: DomainDoc,
  reason: string,
): Promise<boolean> {
  try {
    await deps.temporal.workflow.getHandle(domainVerificationWorkflowId(domain._id)).terminate(reason);
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

// Connection teardown: one run per teardown, its workflow ID the teardown's

/** Starts the teardown's run; a second start (a repeated or concurrent DELETE) finds the same run. */
export async function startConnectorTeardown(deps: ApiDeps, input: ConnectorTeardownInput): Promise<void> {
  const names = await namesOf(deps, input.orgId, input.connectorId);
  await deps.temporal.workflow.start<typeof connectorTeardown>('connectorTeardown', {
    staticSummary: runSummaries.connectorTeardown(names.connector, names.org),
    ...runPlacement(
      deps,
      connectorTeardownWorkflowId(input.teardownId),
      input.orgId,
      ConnectorIdKey,
      input.connectorId,
    ),
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [input],
  });
  countStart(deps, 'connectorTeardown');
}

/** The run's progress, or undefined when it no longer exists (long finished and cleaned up). */
export async function queryTeardownProgress(
  deps: ApiDeps,
  teardownId: string,
): Promise<TeardownProgress | undefined> {
  try {
    return await deps.temporal.workflow
      .getHandle<typeof connectorTeardown>(connectorTeardownWorkflowId(teardownId))
      .query(teardownProgressQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/**
 * Sends an update to the teardown's run and waits (bounded) for its answer: undefined when the
 * run has ended (restored or done), a DomainError with the workflow's code when it refuses.
 */
async function updateTeardown(
  deps: ApiDeps,
  teardownId: string,
  send: (handle: WorkflowHandle<typeof connectorTeardown>) => Promise<TeardownProgress>,
): Promise<TeardownProgress | undefined> {
  const handle = deps.temporal.workflow.getHandle<typeof connectorTeardown>(
    connectorTeardownWorkflowId(teardownId),
  );
  const abort = new AbortController();
  try {
    const answer = await withinBound(
      deps.temporal.withAbortSignal(abort.signal, () => send(handle)),
      deps.config.signInWaitMs,
    );
    if (answer === TIMED_OUT) {
      deps.metrics?.workflowWaitTimeouts.inc({ workflow: 'connectorTeardown' });
      throw new DomainError('try_again_later', 'The teardown did not answer in time');
    }
    return answer;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    if (error instanceof WorkflowUpdateFailedError) {
      const code = failureCode(error);
      if (isErrorCode(code)) throw new DomainError(code);
    }
    throw error;
  } finally {
    abort.abort();
  }
}

/** Restore during the grace period; answers once the connection is active again. */
export function restoreConnectorTeardown(
  deps: ApiDeps,
  teardownId: string,
  requestedBy: string,
): Promise<TeardownProgress | undefined> {
  return updateTeardown(deps, teardownId, (handle) =>
    handle.executeUpdate(restoreTeardownUpdate, { args: [{ requestedBy }] }),
  );
}

/** Ends the grace period now; answers once removal has started. */
export function expediteConnectorTeardown(
  deps: ApiDeps,
  teardownId: string,
): Promise<TeardownProgress | undefined> {
  return updateTeardown(deps, teardownId, (handle) => handle.executeUpdate(expediteTeardownUpdate));
}
