// Connection teardown activities (docs/rules.md, rule 10), run by workflows/connectorTeardown.ts.
// Each is idempotent: a batch records the identities it removes before removing any (so a retry
// or a new worker after a crash works on the same ones and counts them once), the setup email
// of each user has an ID derived from the teardown and the user (so the outbox sends it once
// however often the batch runs), and progress is set to values the workflow computed.
import type { KeyObject } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { recordAuditEvent } from '../db/audit';
import type { Collections } from '../db/collections';
import { issueSetupTokens } from '../db/passwordSetupTokens';
import {
  claimTeardownBatch,
  finishTeardownBatch,
  remainingWaysIn,
  removeConnection,
  restoreConnection,
  setTeardownProgress,
} from '../db/teardown';
import { insertOutboxMessage } from '../db/outbox';
import type { ConnectorId, OrgId, UserId } from '../domain/ids';
import { runSummaries } from '../domain/runSummaries';
import { fallbackFor } from '../domain/teardown';
import {
  connectionRemovedMessage,
  connectionRemovedMessageId,
  passwordSetupLink,
} from '../notifications/messages';
import type { emailDelivery } from '../workflows/emailDelivery';
import { emailDeliveryWorkflowId } from '../workflows/shared';

export interface TeardownActivityDeps {
  c: Collections;
  clock: () => Date;
  setupTokenKey: KeyObject;
  passwordSetupTtlMs: number;
  /** Origin of the web app the setup link opens. */
  appOrigin: string;
  taskQueue: string;
}

export interface TeardownRef {
  teardownId: string;
  connectorId: string;
  orgId: string;
}

export interface BatchResult {
  /** Identities this batch removed (0: none were left, the removal is complete). */
  removed: number;
  /** Distinct users whose identity this batch removed. */
  users: number;
  passwordSetups: number;
}

/** Email workflows started side by side from one batch. */
const DELIVERY_STARTS_IN_PARALLEL = 16;

export function createTeardownActivities(deps: TeardownActivityDeps) {
  const { c, clock } = deps;

  /**
   * Setup links for users left without a way in, one email per user per teardown. A message
   * already in the outbox is not made again (its token was issued with it); a pending one gets
   * its delivery (re)started, which the delivery workflow's ID and lock make harmless.
   */
  async function sendSetupLinks(
    temporal: Client,
    teardownId: string,
    users: readonly { userId: UserId; email: string }[],
  ): Promise<void> {
    if (users.length === 0) return;
    const ids = new Map(users.map((user) => [connectionRemovedMessageId(teardownId, user.userId), user]));
    const existing = await c.outbox
      .find({ _id: { $in: [...ids.keys()] } }, { projection: { _id: 1, status: 1 } })
      .toArray();
    const known = new Set(existing.map((message) => message._id));
    const missing = [...ids].filter(([id]) => !known.has(id)).map(([, user]) => user);
    const now = clock();
    const tokens = await issueSetupTokens(
      c,
      missing.map((user) => user.userId),
      { key: deps.setupTokenKey, ttlMs: deps.passwordSetupTtlMs, reason: teardownId },
      now,
    );
    // $setOnInsert: if a concurrent attempt stored the message first, its token is the one sent
    // (both tokens are valid; the unsent one expires unused).
    await Promise.all(
      missing.map((user) => {
        const issued = tokens.get(user.userId)!;
        return insertOutboxMessage(
          c,
          connectionRemovedMessage({
            teardownId,
            userId: user.userId,
            to: user.email,
            link: passwordSetupLink(deps.appOrigin, issued.token),
            issuedAt: now,
            expiresAt: issued.expiresAt,
          }),
          now,
        );
      }),
    );
    const pending = [
      ...missing.map((user) => connectionRemovedMessageId(teardownId, user.userId)),
      ...existing.filter((message) => message.status === 'pending').map((message) => message._id),
    ];
    for (let start = 0; start < pending.length; start += DELIVERY_STARTS_IN_PARALLEL) {
      Context.current().heartbeat();
      await Promise.all(
        pending.slice(start, start + DELIVERY_STARTS_IN_PARALLEL).map((messageId) =>
          temporal.workflow.start<typeof emailDelivery>('emailDelivery', {
            taskQueue: deps.taskQueue,
            workflowId: emailDeliveryWorkflowId(messageId),
            workflowIdConflictPolicy: 'USE_EXISTING',
            args: [{ messageId }],
            staticSummary: runSummaries.emailDelivery('password_setup_teardown'),
          }),
        ),
      );
    }
  }

  return {
    /** The grace period is over: removal starts (no restore from here on). Returns the total. */
    async beginIdentityRemoval(ref: TeardownRef): Promise<{ total: number }> {
      const connectorId = ref.connectorId as ConnectorId;
      const total = await c.ssoIdentities.countDocuments({ connectorId });
      await setTeardownProgress(c, connectorId, ref.teardownId, { phase: 'removing', total });
      return { total };
    },

    /**
     * Removes one batch of the connection's SSO identities (and with them their IdP profile data),
     * keeps their users, and guides users left with no way in to set a password.
     */
    async removeIdentityBatch(
      input: TeardownRef & {
        batch: number;
        size: number;
        /** Totals before this batch, for the progress record. */
        before: { processed: number; passwordSetups: number };
      },
    ): Promise<BatchResult> {
      const connectorId = input.connectorId as ConnectorId;
      const claimed = await claimTeardownBatch(
        c,
        { teardownId: input.teardownId, connectorId, batch: input.batch, size: input.size },
        clock(),
      );
      if (!claimed) return { removed: 0, users: 0, passwordSetups: 0 };
      Context.current().heartbeat();
      const removed = claimed.identityIds.length;
      const users = claimed.userIds.length;
      // Absent or null until the batch is done (FerretDB v1 may leave a null out of $setOnInsert).
      let passwordSetups = claimed.passwordSetups ?? null;
      if (passwordSetups === null) {
        // Decided before the identities go and again on a retry, on the users as they are now.
        const ways = await remainingWaysIn(c, connectorId, claimed.userIds);
        const needSetup = [...ways]
          .filter(([, way]) => fallbackFor(way) === 'password_setup')
          .map(([userId, way]) => ({ userId, email: way.email }));
        await c.ssoIdentities.deleteMany({ _id: { $in: claimed.identityIds }, connectorId });
        Context.current().heartbeat();
        if (needSetup.length > 0) {
          await c.users.updateMany(
            { _id: { $in: needSetup.map((user) => user.userId) }, passwordHash: null },
            { $set: { needsPasswordSetup: true, updatedAt: clock() } },
          );
          await sendSetupLinks(Context.current().client, input.teardownId, needSetup);
        }
        passwordSetups = needSetup.length;
        await finishTeardownBatch(c, claimed._id, passwordSetups);
      }
      await setTeardownProgress(c, connectorId, input.teardownId, {
        processed: input.before.processed + removed,
        passwordSetups: input.before.passwordSetups + passwordSetups,
      });
      return { removed, users, passwordSetups };
    },

    /**
     * Deletes the connection once no identity is left (a sign-in that raced the start of the
     * teardown may have added one: then the workflow removes more batches first).
     */
    async finishTeardown(
      input: TeardownRef & {
        requestedBy: string;
        processed: number;
        users: number;
        passwordSetups: number;
      },
    ): Promise<{ remaining: number }> {
      const connectorId = input.connectorId as ConnectorId;
      const remaining = await c.ssoIdentities.countDocuments({ connectorId });
      if (remaining > 0) return { remaining };
      const now = clock();
      await recordAuditEvent(
        c,
        {
          eventId: `connector-deleted-${input.teardownId}`,
          type: 'connector.deleted',
          orgId: input.orgId as OrgId,
          subjectId: connectorId,
          actor: input.requestedBy,
          data: {
            connectorId,
            teardownId: input.teardownId,
            requestedBy: input.requestedBy,
            identitiesRemoved: input.processed,
            usersAffected: input.users,
            passwordSetups: input.passwordSetups,
          },
        },
        now,
      );
      await removeConnection(c, connectorId, input.teardownId);
      await setTeardownProgress(c, connectorId, input.teardownId, {
        phase: 'done',
        processed: input.processed,
        passwordSetups: input.passwordSetups,
        finishedAt: now,
      });
      return { remaining: 0 };
    },

    /** Restore during the grace period: the connection is active again, exactly as it was. */
    async restoreConnection(input: TeardownRef & { requestedBy: string }): Promise<void> {
      const connectorId = input.connectorId as ConnectorId;
      await restoreConnection(c, connectorId, input.teardownId, clock());
      await recordAuditEvent(
        c,
        {
          eventId: `connector-restored-${input.teardownId}`,
          type: 'connector.restored',
          orgId: input.orgId as OrgId,
          subjectId: connectorId,
          actor: input.requestedBy,
          data: { connectorId, teardownId: input.teardownId, requestedBy: input.requestedBy },
        },
        clock(),
      );
    },
  };
}
