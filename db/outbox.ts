// The outbox: every email the product sends is first a document here, then delivered by the
// emailDelivery workflow (notifications/outbox.ts starts it). The document's state is what makes
// delivery idempotent: a message marked sent is never sent again, and a lease keeps two attempts
// (a timed-out one still running, and its retry) from sending it side by side.
import { createHash } from 'node:crypto';
import type { Collections, OutboxDoc, OutboxStatus } from './collections';
import { upsertOnce } from './collections';

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
  await upsertOnce(
    c.outbox.updateOne(
      { _id: message.id },
      {
        $setOnInsert: {
          kind: message.kind,
          to: message.to,
          subject: message.subject,
          text: message.text,
          status: 'pending',
          attempts: 0,
          leaseUntil: null,
          createdAt: now,
          sentAt: null,
          failure: null,
          expiresAt: message.expiresAt,
        },
      },
      { upsert: true },
    ),
  );
}

/** Takes the message for one sending attempt, or null when it is not pending or another attempt holds it. */
export function leaseOutboxMessage(
  c: Collections,
  id: string,
  now: Date,
  leaseMs: number,
): Promise<OutboxDoc | null> {
  return c.outbox.findOneAndUpdate(
    { _id: id, status: 'pending', $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }] },
    { $set: { leaseUntil: new Date(now.getTime() + leaseMs) }, $inc: { attempts: 1 } },
    { returnDocument: 'after' },
  );
}

/** Lets the next attempt take the message at once (the SMTP server answered "try later"). */
export async function releaseOutboxLease(c: Collections, id: string): Promise<void> {
  await c.outbox.updateOne({ _id: id, status: 'pending' }, { $set: { leaseUntil: null } });
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
        leaseUntil: null,
        failure: outcome.failure ?? null,
        ...(outcome.status === 'sent' ? { sentAt: now } : {}),
      },
    },
  );
}
