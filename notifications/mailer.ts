// How an email leaves: over SMTP (nodemailer) when SMTP_URL is set; otherwise, in development
// only, into the log, so a developer can follow a sign-up without a mail server. Outside
// development nothing of a message reaches the log (it may carry a code or a link); production
// refuses to start without SMTP_URL (config.ts).
import { createTransport } from 'nodemailer';
import type { Logger } from '../logger';

export interface OutgoingEmail {
  /** The outbox message ID; also the Message-ID header, the same on every retry. */
  messageId: string;
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(email: OutgoingEmail): Promise<void>;
}

export interface MailerOptions {
  smtpUrl: string | undefined;
  from: string;
  /** Right-hand side of Message-ID headers. */
  messageIdDomain: string;
  /** Development only: write whole messages to the log when there is no SMTP server. */
  logMessages: boolean;
  logger: Logger;
}

export function createMailer(options: MailerOptions): Mailer {
  const log = options.logger.child({ component: 'mailer' });
  if (!options.smtpUrl) {
    return {
      send(email) {
        if (options.logMessages)
          log.info(
            { messageId: email.messageId, to: email.to, subject: email.subject, text: email.text },
            'email (SMTP_URL is not set: written here instead of sent)',
          );
        else log.warn({ messageId: email.messageId }, 'SMTP_URL is not set: email not sent');
        return Promise.resolve();
      },
    };
  }
  // Timeouts stay well inside the delivery activity's own limit, so a hung server fails an
  // attempt (which is retried) instead of the activity timing out while a send may still finish.
  // Options in the URL's query (e.g. ?socketTimeout=) take precedence over these.
  const transport = createTransport(
    { url: options.smtpUrl, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 },
    { from: options.from },
  );
  return {
    async send(email) {
      await transport.sendMail({
        to: email.to,
        subject: email.subject,
        text: email.text,
        messageId: `<${email.messageId}@${options.messageIdDomain}>`,
      });
    },
  };
}

/**
 * The server refused this recipient or this message for good (a 5xx reply to RCPT TO or DATA):
 * sending it again would be refused again. Other failures (connection, 4xx, a refused login or
 * sender, which an operator can fix) are worth retrying while the message is still useful.
 */
export function isPermanentRejection(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { permanent, command } = error as { permanent?: unknown; command?: unknown };
  return (
    permanent === true && typeof command === 'string' && (command.startsWith('RCPT') || command === 'DATA')
  );
}
