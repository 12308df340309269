// Email delivery through the outbox: the emailDelivery workflow on the real Temporal server, the
// delivery activity against the real database, and a real SMTP server on 127.0.0.1. Whatever runs
// twice (an enqueue, a workflow start, an activity retry, two attempts side by side), the mailbox
// receives each message once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationActivities } from '../../activities/notifications';
import { insertOutboxMessage, outboxMessageId, type OutboxMessage } from '../../db/outbox';
import { createLogger } from '../../logger';
import { createMailer, type Mailer } from '../../notifications/mailer';
import { enqueueEmail } from '../../notifications/outbox';
import { emailDeliveryWorkflowId } from '../../workflows/shared';
import { freePorts } from '../../servers/ports';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
let mailbox: TestMailbox;
beforeAll(async () => {
  mailbox = await startMailbox();
  stack = await startTestStack({ SMTP_URL: mailbox.url });
});
afterAll(async () => {
  await stack?.stop();
  await mailbox?.stop();
});

const address = () => `mail${Math.random().toString(36).slice(2, 9)}@example.com`;

function message(to: string, fields: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    id: outboxMessageId('test', to),
    kind: 'test',
    to,
    subject: 'Hello',
    text: 'Your link: https://app.example.test/setup?token=secret-123',
    expiresAt: new Date(Date.now() + 3_600_000),
    ...fields,
  };
}

const smtpMailer = (url = mailbox.url): Mailer =>
  createMailer({
    smtpUrl: url,
    from: 'no-reply@example.test',
    messageIdDomain: 'sso.example.test',
    logMessages: false,
    logger: createLogger('silent'),
  });

const deliverWith = (mailer: Mailer) => {
  const activities = createNotificationActivities({ c: stack.services.c, clock: () => new Date(), mailer });
  return (input: { messageId: string }) => activities.deliverEmail(input);
};

const enqueueDeps = () => ({
  c: stack.services.c,
  temporal: stack.services.temporal,
  config: stack.config,
  clock: () => new Date(),
});

async function deliveryResult(messageId: string): Promise<unknown> {
  return stack.services.temporal.workflow.getHandle(emailDeliveryWorkflowId(messageId)).result();
}

describe('email delivery', () => {
  it('sends a message once however often it is enqueued, and forgets its text once sent', async () => {
    const to = address();
    const queued = message(to);
    await Promise.all([enqueueEmail(enqueueDeps(), queued), enqueueEmail(enqueueDeps(), queued)]);
    expect(await deliveryResult(queued.id)).toBe('sent');
    // Enqueued again after delivery finished: a new run finds it sent.
    await enqueueEmail(enqueueDeps(), queued);
    expect(await deliveryResult(queued.id)).toBe('already_sent');
    const received = mailbox.to(to);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ subject: 'Hello', messageId: `<${queued.id}@127.0.0.1>` });
    expect(received[0]?.text).toContain('token=secret-123');
    const stored = await stack.services.c.outbox.findOne({ _id: queued.id });
    expect(stored).toMatchObject({ status: 'sent', text: null });
    expect(JSON.stringify(stored)).not.toContain('secret-123');
  });

  it('does not send again when delivery runs after the message was marked sent', async () => {
    const to = address();
    const queued = message(to);
    await enqueueEmail(enqueueDeps(), queued);
    await deliveryResult(queued.id);
    const deliver = deliverWith(smtpMailer());
    expect(await deliver({ messageId: queued.id })).toBe('already_sent');
    expect(mailbox.to(to)).toHaveLength(1);
  });

  it('sends once when attempts run side by side', async () => {
    const to = address();
    const queued = message(to);
    // Stored without a workflow, so only the attempts below deliver it.
    await insertOutboxMessage(stack.services.c, queued, new Date());
    const deliver = deliverWith(smtpMailer());
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, () => deliver({ messageId: queued.id })),
    );
    const sent = outcomes.filter((outcome) => outcome.status === 'fulfilled' && outcome.value === 'sent');
    expect(sent).toHaveLength(1);
    expect(mailbox.to(to)).toHaveLength(1);
  });

  it('keeps the message pending while the SMTP server is unreachable, then sends it', async () => {
    const to = address();
    const queued = message(to);
    await insertOutboxMessage(stack.services.c, queued, new Date());
    const [closedPort] = await freePorts(1);
    await expect(
      deliverWith(smtpMailer(`smtp://127.0.0.1:${closedPort}`))({ messageId: queued.id }),
    ).rejects.toThrow();
    expect(await stack.services.c.outbox.findOne({ _id: queued.id })).toMatchObject({ status: 'pending' });
    expect(await deliverWith(smtpMailer())({ messageId: queued.id })).toBe('sent');
    expect(mailbox.to(to)).toHaveLength(1);
  });

  it('gives up on a recipient the server refuses for good', async () => {
    const to = address();
    mailbox.refuse.add(to);
    const queued = message(to);
    await enqueueEmail(enqueueDeps(), queued);
    expect(await deliveryResult(queued.id)).toBe('rejected');
    expect(await stack.services.c.outbox.findOne({ _id: queued.id })).toMatchObject({
      status: 'failed',
      text: null,
    });
  });

  it('does not send a message whose content expired before it could go', async () => {
    const to = address();
    const queued = message(to, { expiresAt: new Date(Date.now() - 1000) });
    await enqueueEmail(enqueueDeps(), queued);
    expect(await deliveryResult(queued.id)).toBe('expired');
    expect(mailbox.to(to)).toHaveLength(0);
  });
});
