// emailDelivery: one run per outbox message (workflow ID from the message ID, so starting it
// twice is harmless). Delivery retries through SMTP or database outages with a growing backoff and
// no attempt limit: the message's own expiry ends it, as the activity answers "expired" then.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EmailDeliveryOutcome } from '../activities/notifications';

const { deliverEmail } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '10m' },
});

export async function emailDelivery(input: { messageId: string }): Promise<EmailDeliveryOutcome> {
  return deliverEmail({ messageId: input.messageId });
}
