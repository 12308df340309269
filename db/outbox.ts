// The outbox: every email the product sends is first a document here, then delivered by the
// emailDelivery workflow (notifications/outbox.ts starts it). The document's state is what makes
// delivery idempotent: a message marked sent is never sent again, and a lock (db/locks.ts) keeps
// two attempts (a timed-out one still running, and its retry) from sending it side by side.
import { createHash } from 'node:crypto';
import type { Collections, OutboxStatus } from './collections';
import { insertOnce } from './collections';

export interface OutboxMessage {
  /** From outboxMessageId: the same message enqueued twice is stored and sent once. */
  id: string;
  kind: string;
  to: string;
  subject: string;
  text: string;
  expiresAt: Date;
}

/**
 * A message ID derived from what the message is for (kind plus, e.g., user and connection IDs).
 * Hashed so that workflow IDs built from it never carry personal data.
 */
export function outboxMessageId(kind: string, ...parts: string[]): string {
  const digest = createHash('sha256')
    .update([kind, ...parts].join('\n'))
    .digest('hex');
  return `msg_${digest.slice(0, 32)}`;
}

export async function insertOutboxMessage(c: Collections, message: OutboxMessage, now: Date): Promise<void> {
  // Enqueued twice, the message is stored once: the duplicate key leaves the first as it is.
  await insertOnce(c.outbox, {
    _id: message.id,
    kind: message.kind,
    to: message.to,
    subject: message.subject,
    text: message.text,
    status: 'pending',
    createdAt: now,
    sentAt: null,
    failure: null,
    expiresAt: message.expiresAt,
  });
}

/** The lock a sending attempt holds (db/locks.ts). */
export function outboxLockKey(id: string): string {
  return `outbox:${id}`;
}

/** The end of a message's delivery: its text (a code, a link) is not kept past it. */
export async function finishOutboxMessage(
  c: Collections,
  id: string,
  outcome: { status: Exclude<OutboxStatus, 'pending'>; failure?: string },
  now: Date,
): Promise<void> {
  await c.outbox.updateOne(
    { _id: id, status: 'pending' },
    {
      $set: {
        status: outcome.status,
        text: null,
        failure: outcome.failure ?? null,
        ...(outcome.status === 'sent' ? { sentAt: now } : {}),
      },
    },
  );
}
