// Connection teardown fixtures: many linked users written straight into the database (signing in
// hundreds of people through the IdP one by one would only slow the tests down; the sign-in path
// has its own tests), and small readers for a teardown's progress.
import { createHash } from 'node:crypto';
import type { Collections, SsoIdentityDoc } from '../../db/collections';
import { request } from './http';
import type { TestStack } from './stack';
import { eventually } from './wait';

/** An identity document as the fixtures write it (plain strings for the branded IDs). */
type IdentityDocInput = Omit<SsoIdentityDoc, 'connectorId' | 'orgId' | 'userId'> & {
  connectorId: string;
  orgId: string;
  userId: string;
};

export interface SeededUser {
  userId: string;
  email: string;
  hasPassword: boolean;
}

/**
 * `count` users at `domain`, each linked to the connection by one SSO identity (with profile
 * data) and a member of the org; `withPassword(i)` says which ones also have a password.
 */
export async function seedLinkedUsers(
  c: Collections,
  target: { connectorId: string; orgId: string; domain: string },
  count: number,
  options: { prefix: string; withPassword: (i: number) => boolean; passwordHash: string },
): Promise<SeededUser[]> {
  const now = new Date();
  const users: SeededUser[] = [];
  const userDocs = [];
  const identityDocs: IdentityDocInput[] = [];
  const memberships = [];
  for (let i = 0; i < count; i++) {
    const userId = `usr_${createHash('sha256').update(`${options.prefix}:${i}`).digest('hex').slice(0, 32)}`;
    const email = `${options.prefix}${i}@${target.domain}`;
    const hasPassword = options.withPassword(i);
    users.push({ userId, email, hasPassword });
    const identityId = `${target.connectorId}:${options.prefix}${i}`;
    userDocs.push({
      _id: userId,
      email,
      emailVerified: { at: now, method: 'sso' as const, identityId },
      name: `User ${i}`,
      avatarUrl: null,
      passwordHash: hasPassword ? options.passwordHash : null,
      needsPasswordSetup: false,
      totpSecret: null,
      createdAt: now,
      updatedAt: now,
    });
    identityDocs.push({
      _id: identityId,
      connectorId: target.connectorId,
      orgId: target.orgId,
      subject: email,
      userId,
      profile: { department: 'Engineering', employeeId: String(i) },
      createdAt: now,
      lastSignInAt: now,
    });
    memberships.push({
      _id: `${target.orgId}:${userId}`,
      orgId: target.orgId,
      userId,
      role: 'member',
      createdAt: now,
    });
  }
  await c.users.insertMany(userDocs as never[]);
  await c.ssoIdentities.insertMany(identityDocs as never[]);
  await c.memberships.insertMany(memberships as never[]);
  return users;
}

/** An extra identity for an existing user at another connection. */
export async function linkIdentity(
  c: Collections,
  target: { connectorId: string; orgId: string },
  user: { userId: string; email: string },
): Promise<void> {
  const now = new Date();
  await c.ssoIdentities.insertOne({
    _id: `${target.connectorId}:${user.userId}`,
    connectorId: target.connectorId,
    orgId: target.orgId,
    subject: user.email,
    userId: user.userId,
    profile: { department: 'Sales' },
    createdAt: now,
    lastSignInAt: now,
  } as never);
}

export interface TeardownView {
  id: string;
  connectorId: string;
  phase: 'waiting' | 'removing' | 'done';
  processed: number;
  total: number | null;
  passwordSetups: number;
  requestedAt: string;
  deleteAfter: string;
  finishedAt: string | null;
}

export function getTeardown(
  stack: Pick<TestStack, 'baseUrl'>,
  org: { id: string; key: string },
  connectorId: string,
) {
  return request<TeardownView>(
    stack.baseUrl,
    'GET',
    `/v1/orgs/${org.id}/connectors/${connectorId}/teardown`,
    {
      token: org.key,
    },
  );
}

export function teardownDone(
  stack: Pick<TestStack, 'baseUrl'>,
  org: { id: string; key: string },
  connectorId: string,
) {
  return eventually(
    async () => {
      const res = await getTeardown(stack, org, connectorId);
      return res.body.phase === 'done' ? res.body : undefined;
    },
    'the teardown to finish',
    120_000,
  );
}
