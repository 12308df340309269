// Deleting a connection (docs/rules.md, rule 10): DELETE marks it `deleting` (sign-ins through it
// are refused, home-realm discovery and enforcement stop at once) and starts its connectorTeardown
// run, which waits the grace period, then removes identities and the connection. Restore during
// the grace period puts it back exactly as it was; an operator may end the grace period early.
import { recordAuditEvent } from '../../db/audit';
import type { ConnectorDoc, TeardownDoc } from '../../db/collections';
import { newId } from '../../db/ids';
import { findTeardown, insertTeardown, restoreConnection } from '../../db/teardown';
import { DomainError } from '../../domain/errors';
import { canRestore, deleteAfter } from '../../domain/teardown';
import type { ApiDeps, Principal } from '../context';
import {
  expediteConnectorTeardown,
  restoreConnectorTeardown,
  startConnectorTeardown,
} from '../workflowClient';
import { revokeDomainSessions } from './enforcement';

/** Who asked, for the audit log: never the key itself. */
export function requesterOf(principal: Principal | undefined): string {
  return principal?.kind === 'org-key' ? 'api-key' : 'operator';
}

function startRun(deps: ApiDeps, teardown: TeardownDoc): Promise<void> {
  return startConnectorTeardown(deps, {
    teardownId: teardown.teardownId,
    connectorId: teardown._id,
    orgId: teardown.orgId,
    requestedBy: teardown.requestedBy,
    deleteAfterMs: teardown.deleteAfter.getTime(),
    batchSize: deps.config.teardown.batchSize,
    batchesPerRun: deps.config.teardown.batchesPerRun,
  });
}

/**
 * Starts the connection's teardown, or answers the one under way: of concurrent DELETEs the first
 * record wins and all of them start (or find) the same run. A DELETE that met a Temporal outage
 * leaves the connection `deleting` and is repaired by the next DELETE, which starts the run.
 */
export async function deleteConnector(
  deps: ApiDeps,
  connector: ConnectorDoc,
  principal: Principal | undefined,
): Promise<TeardownDoc> {
  const now = deps.clock();
  const teardown = await insertTeardown(deps.c, {
    _id: connector._id,
    teardownId: newId('tdn'),
    orgId: connector.orgId,
    requestedBy: requesterOf(principal),
    requestedAt: now,
    deleteAfter: deleteAfter(now, deps.config.teardown.graceMs),
    phase: 'waiting',
    processed: 0,
    total: null,
    passwordSetups: 0,
    finishedAt: null,
  });
  if (connector.status === 'active') {
    await deps.c.connectors.updateOne(
      { _id: connector._id, status: 'active' },
      { $set: { status: 'deleting', updatedAt: now } },
    );
    await recordAuditEvent(
      deps.c,
      {
        eventId: `connector-deletion-requested-${teardown.teardownId}`,
        type: 'connector.deletion_requested',
        orgId: connector.orgId,
        subjectId: connector._id,
        actor: teardown.requestedBy,
        data: {
          connectorId: connector._id,
          teardownId: teardown.teardownId,
          requestedBy: teardown.requestedBy,
          deleteAfter: teardown.deleteAfter.toISOString(),
        },
      },
      now,
    );
  }
  await startRun(deps, teardown);
  return teardown;
}

/**
 * Cancels the teardown during its grace period; the connection is active again with every
 * identity, mapping and setting intact. Restoring an active connection changes nothing.
 */
export async function restoreConnector(
  deps: ApiDeps,
  connector: ConnectorDoc,
  principal: Principal | undefined,
): Promise<ConnectorDoc> {
  if (connector.status === 'active') return connector;
  const teardown = await findTeardown(deps.c, connector._id, connector.orgId);
  if (!teardown)
    throw new DomainError('try_again_later', 'The connection is being restored; try again shortly');
  if (!canRestore(teardown.phase)) throw new DomainError('connector_teardown_started');
  const progress = await restoreConnectorTeardown(deps, teardown.teardownId, requesterOf(principal));
  // No run to ask: the DELETE met a Temporal outage before starting it, so nothing was removed.
  if (progress === undefined && teardown.phase === 'waiting') {
    await restoreConnection(deps.c, connector._id, teardown.teardownId, deps.clock());
    await recordAuditEvent(
      deps.c,
      {
        eventId: `connector-restored-${teardown.teardownId}`,
        type: 'connector.restored',
        orgId: connector.orgId,
        subjectId: connector._id,
        actor: requesterOf(principal),
        data: {
          connectorId: connector._id,
          teardownId: teardown.teardownId,
          requestedBy: requesterOf(principal),
        },
      },
      deps.clock(),
    );
  }
  const restored = await deps.c.connectors.findOne({ _id: connector._id });
  if (!restored) throw new DomainError('not_found', 'Connection not found');
  if (restored.status !== 'active') throw new DomainError('connector_teardown_started');
  // Enforcement holds again: sessions opened another way during the grace period end (rule 7).
  if (restored.enforced) await revokeDomainSessions(deps, restored);
  return restored;
}

/** Operators: end the grace period now. */
export async function expediteTeardown(deps: ApiDeps, connector: ConnectorDoc): Promise<TeardownDoc> {
  const teardown = await findTeardown(deps.c, connector._id, connector.orgId);
  if (connector.status !== 'deleting' || !teardown)
    throw new DomainError('conflict', 'The connection is not being deleted');
  const progress = await expediteConnectorTeardown(deps, teardown.teardownId);
  const current = (await findTeardown(deps.c, connector._id, connector.orgId)) ?? teardown;
  // The run flips its phase before its first write: answer what it said.
  return progress && current.phase === 'waiting' && progress.phase !== 'restored'
    ? { ...current, phase: progress.phase }
    : current;
}
