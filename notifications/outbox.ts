// enqueueEmail: how any part of the product sends an email. The message is stored in the outbox
// first, then an emailDelivery workflow delivers it; both steps are keyed by the message ID, so
// calling this twice for one message stores it once and sends it once.
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { Collections } from '../db/collections';
import { runSummaries } from '../domain/runSummaries';
import { insertOutboxMessage, type OutboxMessage } from '../db/outbox';
import type { emailDelivery } from '../workflows/emailDelivery';
import { emailDeliveryWorkflowId } from '../workflows/shared';

export interface EmailQueueDeps {
  c: Collections;
  temporal: Client;
  config: Pick<Config, 'temporalTaskQueue'>;
  clock: () => Date;
}

export async function enqueueEmail(deps: EmailQueueDeps, message: OutboxMessage): Promise<void> {
  await insertOutboxMessage(deps.c, message, deps.clock());
  await deps.temporal.workflow.start<typeof emailDelivery>('emailDelivery', {
    taskQueue: deps.config.temporalTaskQueue,
    workflowId: emailDeliveryWorkflowId(message.id),
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{ messageId: message.id }],
    staticSummary: runSummaries.emailDelivery(message.kind),
  });
}
