import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createMailer, isPermanentRejection } from '../../notifications/mailer';

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const email = {
  messageId: 'msg_1',
  to: 'pat@example.com',
  subject: 'Your verification code',
  text: 'Your verification code is 424242',
};

describe('mailer without SMTP_URL', () => {
  it('writes the whole message to the log in development, so a developer can follow it', async () => {
    const { logger, lines } = capturingLogger();
    const mailer = createMailer({
      smtpUrl: undefined,
      from: 'no-reply@localhost',
      messageIdDomain: 'localhost',
      logMessages: true,
      logger,
    });
    await mailer.send(email);
    expect(lines.join('')).toContain('424242');
    expect(lines.join('')).toContain('pat@example.com');
  });

  it('keeps codes, links and addresses out of the log anywhere else', async () => {
    const { logger, lines } = capturingLogger();
    const mailer = createMailer({
      smtpUrl: undefined,
      from: 'no-reply@localhost',
      messageIdDomain: 'localhost',
      logMessages: false,
      logger,
    });
    await mailer.send(email);
    const log = lines.join('');
    expect(log).toContain('msg_1');
    expect(log).not.toContain('424242');
    expect(log).not.toContain('pat@example.com');
  });
});

describe('permanent SMTP rejections', () => {
  it('gives up only on a recipient or message refused for good', () => {
    expect(isPermanentRejection({ permanent: true, command: 'RCPT TO', responseCode: 550 })).toBe(true);
    expect(isPermanentRejection({ permanent: true, command: 'DATA', responseCode: 554 })).toBe(true);
  });

  it('keeps retrying what an operator or time can fix', () => {
    expect(isPermanentRejection({ permanent: false, command: 'RCPT TO', responseCode: 450 })).toBe(false);
    expect(isPermanentRejection({ permanent: true, command: 'AUTH PLAIN', responseCode: 535 })).toBe(false);
    expect(isPermanentRejection({ permanent: true, command: 'MAIL FROM', responseCode: 553 })).toBe(false);
    expect(isPermanentRejection(new Error('connect ECONNREFUSED'))).toBe(false);
    expect(isPermanentRejection(undefined)).toBe(false);
  });
});
