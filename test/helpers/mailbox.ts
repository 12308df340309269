// A real SMTP server on 127.0.0.1 (smtp-server) that keeps every message it receives, parsed
// (mailparser), so tests read sign-up codes the way a person reads their inbox.
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerError } from 'smtp-server';
import { eventually } from './wait';

export interface ReceivedEmail {
  /** Envelope recipients, lower case. */
  to: string[];
  subject: string;
  text: string;
  messageId: string;
}

export interface TestMailbox {
  /** For SMTP_URL. */
  url: string;
  received: ReceivedEmail[];
  /** Addresses the server refuses for good (550 at RCPT TO). */
  refuse: Set<string>;
  /** Messages to `address` (any case), oldest first. */
  to(address: string): ReceivedEmail[];
  /** Waits for the first message to `address` after the first `skip` ones. */
  next(address: string, skip?: number): Promise<ReceivedEmail>;
  stop(): Promise<void>;
}

export async function startMailbox(): Promise<TestMailbox> {
  const received: ReceivedEmail[] = [];
  const refuse = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no certificate for the client to distrust.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (!refuse.has(address.address.toLowerCase())) return callback();
      const error: SMTPServerError = new Error('No such mailbox');
      error.responseCode = 550;
      callback(error);
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          received.push({
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            messageId: parsed.messageId ?? '',
          });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  const to = (address: string) => received.filter((email) => email.to.includes(address.toLowerCase()));
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    refuse,
    to,
    next: (address, skip = 0) =>
      eventually(async () => Promise.resolve(to(address)[skip]), `an email to ${address}`),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
