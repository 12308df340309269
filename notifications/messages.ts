// The text of every email the product sends. Messages name no account IDs and say only what the
// mailbox's owner needs; a code is the only secret in them, and the outbox drops it once sent.
import { randomUUID } from 'node:crypto';
import type { ExpiryNotice } from '../domain/certificateExpiry';
import type { UserId } from '../domain/ids';
import { outboxMessageId, type OutboxMessage } from '../db/outbox';

const HOUR_MS = 3_600_000;

interface CodeFields {
  userId: UserId;
  to: string;
  code: string;
  issuedAt: Date;
  expiresAt: Date;
}

/**
 * A one-time code. Every code is its own message (a random part in the ID: the code itself must
 * not feed an ID that ends up in Temporal); enqueueing this same object again stays one message.
 */
function codeMessage(
  kind: 'sign_up_code' | 'sign_in_code',
  fields: CodeFields,
  text: (minutes: number) => { subject: string; lines: string[] },
): OutboxMessage {
  const minutes = Math.max(1, Math.round((fields.expiresAt.getTime() - fields.issuedAt.getTime()) / 60_000));
  const { subject, lines } = text(minutes);
  return {
    id: outboxMessageId(kind, fields.userId, randomUUID()),
    kind,
    to: fields.to,
    subject,
    text: lines.join('\n'),
    expiresAt: fields.expiresAt,
  };
}

/** The sign-up code. */
export function signUpCodeMessage(fields: CodeFields): OutboxMessage {
  return codeMessage('sign_up_code', fields, (minutes) => ({
    subject: 'Your verification code',
    lines: [
      `Your verification code is ${fields.code}`,
      '',
      `Enter it to confirm this email address and finish creating your account. It works once and`,
      `expires in ${minutes} minutes.`,
      '',
      'If you did not try to create an account, ignore this email: without this code no account',
      'with your address can be used.',
    ],
  }));
}

/**
 * Sign-up with an address that already has a proven account: the owner hears about it, the
 * person signing up hears the same as for a new address. One per account per hour at most,
 * whatever the number of attempts: the message ID is the same within the hour.
 */
export function accountExistsMessage(fields: { userId: UserId; to: string; now: Date }): OutboxMessage {
  const hour = Math.floor(fields.now.getTime() / HOUR_MS);
  return {
    id: outboxMessageId('account_exists', fields.userId, String(hour)),
    kind: 'account_exists',
    to: fields.to,
    subject: 'You already have an account',
    text: [
      'Someone, probably you, tried to create an account with this email address, but you',
      'already have one. Sign in with your password, or through your organization single',
      'sign-on if it uses one.',
      '',
      'If this was not you, you can ignore this email: nothing about your account has changed.',
    ].join('\n'),
    expiresAt: new Date(fields.now.getTime() + 24 * HOUR_MS),
  };
}

/** An email sign-in code. */
export function signInCodeMessage(fields: CodeFields): OutboxMessage {
  return codeMessage('sign_in_code', fields, (minutes) => ({
    subject: 'Your sign-in code',
    lines: [
      `Your sign-in code is ${fields.code}`,
      '',
      `Enter it to sign in. It works once and expires in ${minutes} minutes.`,
      '',
      'If you did not try to sign in, ignore this email: without this code nobody can use it.',
    ],
  }));
}

/** Where a password-setup link points: the web app (first allowed return origin) with the token. */
export function passwordSetupLink(appOrigin: string, token: string): string {
  return `${appOrigin}/password-setup?token=${encodeURIComponent(token)}`;
}

function passwordSetupText(intro: string[], link: string, issuedAt: Date, expiresAt: Date): string {
  const hours = Math.max(1, Math.round((expiresAt.getTime() - issuedAt.getTime()) / HOUR_MS));
  return [
    ...intro,
    '',
    `Choose a password here (the link works once and expires in ${hours} hours):`,
    link,
    '',
    'If the link has expired, ask for a new one from the sign-in page ("Set a password").',
  ].join('\n');
}

/**
 * A connection was deleted and this user has no other way in: one message per user per teardown
 * (the ID is derived from both), however often the batch that sends it is retried.
 */
export function connectionRemovedMessage(fields: {
  teardownId: string;
  userId: UserId;
  to: string;
  link: string;
  issuedAt: Date;
  expiresAt: Date;
}): OutboxMessage {
  return {
    id: connectionRemovedMessageId(fields.teardownId, fields.userId),
    kind: 'password_setup_teardown',
    to: fields.to,
    subject: 'Set a password to keep signing in',
    text: passwordSetupText(
      [
        'Your organization has removed its single sign-on connection. Your account and everything in',
        'it are kept, but you now sign in with your email address and a password, which your account',
        'does not have yet.',
      ],
      fields.link,
      fields.issuedAt,
      fields.expiresAt,
    ),
    expiresAt: fields.expiresAt,
  };
}

export function connectionRemovedMessageId(teardownId: string, userId: UserId): string {
  return outboxMessageId('password_setup_teardown', teardownId, userId);
}

/** A fresh setup link the user asked for; each request is its own message. */
export function passwordSetupMessage(fields: {
  userId: UserId;
  to: string;
  link: string;
  issuedAt: Date;
  expiresAt: Date;
}): OutboxMessage {
  return {
    id: outboxMessageId('password_setup', fields.userId, randomUUID()),
    kind: 'password_setup',
    to: fields.to,
    subject: 'Set your password',
    text: passwordSetupText(
      [
        'Someone, probably you, asked for a link to set the password of your account. If this was',
        'not you, ignore this email: nothing changes without the link.',
      ],
      fields.link,
      fields.issuedAt,
      fields.expiresAt,
    ),
    expiresAt: fields.expiresAt,
  };
}

/**
 * An IdP signing certificate of a connection expires soon (or has): one message per admin, per
 * certificate and per notice (30, 14, 7 days, expired), however often the daily check runs.
 */
export function certificateExpiryMessage(fields: {
  connectorId: string;
  connectorName: string;
  sha256: string;
  notAfter: Date;
  daysLeft: number;
  notice: ExpiryNotice;
  /** The connection reads its IdP metadata from a URL and picks up a new certificate by itself. */
  metadataUrl: string | null;
  /** Another certificate of the connection stays valid longer. */
  hasSuccessor: boolean;
  userId: UserId;
  to: string;
  now: Date;
}): OutboxMessage {
  const expired = fields.notice === 'expired';
  const when = fields.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const subject = expired
    ? `Single sign-on certificate expired: ${fields.connectorName}`
    : `Single sign-on certificate expires in ${fields.daysLeft} ${fields.daysLeft === 1 ? 'day' : 'days'}: ${fields.connectorName}`;
  const fix = fields.metadataUrl
    ? [
        'This connection reads your identity provider metadata daily from',
        fields.metadataUrl,
        'and picks up a new certificate as soon as your identity provider lists it: add the new',
        'signing certificate in your identity provider now, before the old one expires.',
      ]
    : [
        'Create a new signing certificate in your identity provider and add it to this connection',
        '(or recreate the connection from the new metadata) before the old one expires.',
      ];
  return {
    id: certificateExpiryMessageId(fields.connectorId, fields.sha256, fields.notice, fields.userId),
    kind: 'certificate_expiry',
    to: fields.to,
    subject,
    text: [
      expired
        ? `The signing certificate of your single sign-on connection "${fields.connectorName}" expired on ${when}.`
        : `The signing certificate of your single sign-on connection "${fields.connectorName}" expires on ${when}.`,
      `Certificate SHA-256 fingerprint: ${fields.sha256}`,
      '',
      expired
        ? 'Sign-ins signed with it are refused.'
        : 'Once it expires, sign-ins signed with it are refused.',
      ...(fields.hasSuccessor
        ? [
            'This connection also trusts a certificate that stays valid longer: if your identity provider',
            'already signs with that one, nothing else is needed.',
          ]
        : []),
      '',
      ...fix,
    ].join('\n'),
    expiresAt: new Date(fields.now.getTime() + 72 * HOUR_MS),
  };
}

export function certificateExpiryMessageId(
  connectorId: string,
  sha256: string,
  notice: ExpiryNotice,
  userId: UserId,
): string {
  return outboxMessageId('certificate_expiry', connectorId, sha256, String(notice), userId);
}
