// Email delivery: sends one outbox message and marks it, so that a retried or repeated delivery
// sends nothing once the message is marked sent. The one gap no SMTP client can close (the
// server took the message, then the worker died before marking it) is narrowed by the lease and
// leaves a duplicate with the same Message-ID header, which mail systems recognize.
import { ApplicationFailure } from '@temporalio/activity';
import type { Collections } from '../db/collections';
import { finishOutboxMessage, leaseOutboxMessage, releaseOutboxLease } from '../db/outbox';
import { isPermanentRejection, type Mailer } from '../notifications/mailer';

export interface NotificationActivityDeps {
  c: Collections;
  clock: () => Date;
  mailer: Mailer;
}

/** Longer than one sending attempt may take (see the mailer's timeouts). */
const LEASE_MS = 60_000;

export type EmailDeliveryOutcome = 'sent' | 'already_sent' | 'expired' | 'rejected' | 'missing';

export function createNotificationActivities({ c, clock, mailer }: NotificationActivityDeps) {
  return {
    async deliverEmail({ messageId }: { messageId: string }): Promise<EmailDeliveryOutcome> {
      const now = clock();
      const message = await leaseOutboxMessage(c, messageId, now, LEASE_MS);
      if (!message) {
        const current = await c.outbox.findOne({ _id: messageId });
        if (!current) return 'missing';
        if (current.status === 'sent') return 'already_sent';
        if (current.status === 'failed') return 'rejected';
        if (current.status === 'expired') return 'expired';
        throw ApplicationFailure.retryable('another delivery attempt holds this message');
      }
      if (message.expiresAt <= now || message.text === null) {
        await finishOutboxMessage(c, messageId, { status: 'expired' }, now);
        return 'expired';
      }
      try {
        await mailer.send({ messageId, to: message.to, subject: message.subject, text: message.text });
      } catch (error) {
        if (isPermanentRejection(error)) {
          await finishOutboxMessage(c, messageId, { status: 'failed', failure: 'rejected' }, clock());
          return 'rejected';
        }
        await releaseOutboxLease(c, messageId);
        throw error;
      }
      await finishOutboxMessage(c, messageId, { status: 'sent' }, clock());
      return 'sent';
    },
  };
}
