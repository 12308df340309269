// Queues an email for a person waiting on an answer. The outbox keeps the message; if it cannot
// be queued (database or Temporal down), the person hears "try again shortly", not an error.
import type { OutboxMessage } from '../../db/outbox';
import { DomainError } from '../../domain/errors';
import { enqueueEmail } from '../../notifications/outbox';
import type { ApiDeps } from '../context';

export async function sendEmail(deps: ApiDeps, message: OutboxMessage): Promise<void> {
  try {
    await enqueueEmail(deps, message);
  } catch (error) {
    deps.logger.error({ errorName: (error as Error)?.name }, 'could not queue an email');
    throw new DomainError('try_again_later', 'The email could not be sent; try again shortly');
  }
}
