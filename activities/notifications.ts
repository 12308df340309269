// Email delivery: sends one outbox message and marks it, so that a retried or repeated delivery
// sends nothing once the message is marked sent, and a lock keeps attempts from sending side by
// side. The one gap no SMTP client can close (the server took the message, then the worker died
// before marking it) leaves a duplicate with the same Message-ID header, which mail systems
// recognize.
import { ApplicationFailure } from '@temporalio/activity';
import type { Collections } from '../db/collections';
import { tryLock, unlock } from '../db/locks';
import { finishOutboxMessage, outboxLockKey } from '../db/outbox';
import { isPermanentRejection, type Mailer } from '../notifications/mailer';

export interface NotificationActivityDeps {
  c: Collections;
  clock: () => Date;
  mailer: Mailer;
}

/** Longer than one sending attempt may take (see the mailer's timeouts). */
const LOCK_MS = 60_000;

export type EmailDeliveryOutcome = 'sent' | 'already_sent' | 'expired' | 'rejected' | 'missing';

export function createNotificationActivities({ c, clock, mailer }: NotificationActivityDeps) {
  return {
    async deliverEmail({ messageId }: { messageId: string }): Promise<EmailDeliveryOutcome> {
      const lockKey = outboxLockKey(messageId);
      const owner = await tryLock(c, lockKey, clock(), LOCK_MS);
      if (!owner) throw ApplicationFailure.retryable('another delivery attempt is sending this message');
      try {
        // Read under the lock: whatever an earlier holder wrote is visible now.
        const message = await c.outbox.findOne({ _id: messageId });
        if (!message) return 'missing';
        if (message.status === 'sent') return 'already_sent';
        if (message.status === 'failed') return 'rejected';
        if (message.status === 'expired') return 'expired';
        if (message.expiresAt <= clock() || message.text === null) {
          await finishOutboxMessage(c, messageId, { status: 'expired' }, clock());
          return 'expired';
        }
        try {
          await mailer.send({ messageId, to: message.to, subject: message.subject, text: message.text });
        } catch (error) {
          if (!isPermanentRejection(error)) throw error;
          await finishOutboxMessage(c, messageId, { status: 'failed', failure: 'rejected' }, clock());
          return 'rejected';
        }
        await finishOutboxMessage(c, messageId, { status: 'sent' }, clock());
        return 'sent';
      } finally {
        await unlock(c, lockKey, owner);
      }
    },
  };
}
