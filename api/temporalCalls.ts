// The API's calls into Temporal that wait for an answer. Waits are bounded: a slow or retrying
// workflow turns into a clear "try again shortly" while the workflow keeps going on its own, and
// the wait itself (a long poll on the run's history) is cancelled at the bound, so waits given up
// on do not pile up on the Temporal frontend during an outage.
import { randomUUID } from 'node:crypto';
import {
  ApplicationFailure,
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { IdpSettings } from '../activities/idpMetadata';
import { DomainError, isErrorCode } from '../domain/errors';
import type { KeyRing } from '../security/keys';
import { tokenDigest } from '../security/tokens';
import { ConnectorIdKey, OrgIdKey } from '../workflows/searchAttributes';
import type { SsoSignInInput, SsoSignInResult } from '../workflows/shared';
import type { ApiDeps } from './context';
import { TIMED_OUT, withinBound } from './withinBound';

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

/** The run's result, or TIMED_OUT after `ms`, when the poll for the result is cancelled. */
async function resultWithinBound<T>(
  deps: ApiDeps,
  handle: WorkflowHandle,
  ms: number,
): Promise<T | typeof TIMED_OUT> {
  const abort = new AbortController();
  try {
    return await withinBound(
      deps.temporal.withAbortSignal(abort.signal, () => handle.result() as Promise<T>),
      ms,
    );
  } finally {
    // Also after an answer: aborting calls that already ended does nothing.
    abort.abort();
  }
}

export async function fetchIdpSettings(deps: ApiDeps, url: string): Promise<IdpSettings> {
  try {
    const handle = await deps.temporal.workflow.start('idpMetadataFetch', {
      taskQueue: deps.config.temporalTaskQueue,
      workflowId: `idp-metadata-${randomUUID()}`,
      args: [{ url }],
      workflowExecutionTimeout: '2m',
    });
    const result = await resultWithinBound<IdpSettings>(deps, handle, 30_000);
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
export function startSsoSignIn(
  deps: ApiDeps,
  workflowId: string,
  input: SsoSignInInput,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  return deps.temporal.workflow.start('ssoSignIn', {
    taskQueue: deps.config.temporalTaskQueue,
    workflowId,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [input],
    typedSearchAttributes: [
      { key: OrgIdKey, value: input.orgId },
      { key: ConnectorIdKey, value: input.connectorId },
    ],
  });
}

export async function runSsoSignIn(
  deps: ApiDeps,
  workflowId: string,
  input: SsoSignInInput,
): Promise<Extract<SsoSignInResult, { userId: string }>> {
  const handle = await startSsoSignIn(deps, workflowId, input);
  let result: SsoSignInResult | typeof TIMED_OUT;
  try {
    result = await resultWithinBound<SsoSignInResult>(deps, handle, deps.config.signInWaitMs);
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
  if (result.outcome === 'refused') throw new DomainError(result.code);
  return result;
}
