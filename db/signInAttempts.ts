import type { ConnectorId, OrgId } from '../domain/ids';
import type { Collections, SignInAttemptDoc } from './collections';
import { newId } from './ids';

export const SIGN_IN_ATTEMPT_TTL_MS = 7 * 24 * 3_600_000;

export async function insertSignInAttempt(
  c: Collections,
  fields: {
    connectorId: ConnectorId;
    orgId: OrgId;
    subject: string;
    email?: string;
    name?: string;
    avatarUrl?: string;
    profile: Record<string, string | string[]>;
  },
  now: Date,
): Promise<string> {
  const attempt: SignInAttemptDoc = {
    _id: newId('att'),
    connectorId: fields.connectorId,
    orgId: fields.orgId,
    subject: fields.subject,
    email: fields.email ?? null,
    name: fields.name ?? null,
    avatarUrl: fields.avatarUrl ?? null,
    profile: fields.profile,
    createdAt: now,
    expiresAt: new Date(now.getTime() + SIGN_IN_ATTEMPT_TTL_MS),
  };
  await c.signInAttempts.insertOne(attempt);
  return attempt._id;
}

export function findSignInAttempt(
  c: Collections,
  attemptId: string,
  now: Date,
): Promise<SignInAttemptDoc | null> {
  return c.signInAttempts.findOne({ _id: attemptId, expiresAt: { $gt: now } });
}
