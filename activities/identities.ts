// Sign-in activities: deciding between a returning identity, account linking and just-in-time
// provisioning, and writing the outcome. They read what the IdP said from the sign-in attempt
// (db/signInAttempts.ts): workflow inputs and results carry IDs only, never personal data. Every write is idempotent on a natural key: the user on
// its normalized email (unique index, deterministic JIT user ID), the SSO identity on
// connector + subject (deterministic _id), the membership on org + user.
import { createHash } from 'node:crypto';
import type { Collections, SignInAttemptDoc, SsoIdentityDoc } from '../db/collections';
import { findSignInAttempt } from '../db/signInAttempts';
import { isDuplicateKeyError } from '../db/collections';
import { ensureMembership } from '../db/memberships';
import { findUserByEmail, newUserDoc } from '../db/users';
import type { ErrorCode } from '../domain/errors';
import type { UserId } from '../domain/ids';
import { decideSsoSignIn, type SsoSignInDecision } from '../domain/signInPolicy';
import { ApplicationFailure } from '@temporalio/activity';

export interface IdentityActivityDeps {
  c: Collections;
  clock: () => Date;
}

export type SignInDecision =
  | SsoSignInDecision
  | { kind: 'refuse'; code: Extract<ErrorCode, 'connector_deleting' | 'connector_disabled'> };

export interface IdentityWrite {
  attemptId: string;
  userId: string;
  role: string;
}

const digest = (text: string) => createHash('sha256').update(text).digest('base64url');

/** One identity per connection and subject, whichever sign-in writes it first. */
export function identityId(connectorId: string, subject: string): string {
  return `${connectorId}:${digest(subject)}`;
}

/** Derived from the email so a retried or concurrent provisioning lands on the same ID. */
export function jitUserId(email: string): UserId {
  return `usr_${createHash('sha256').update(`jit:${email}`).digest('hex').slice(0, 32)}` as UserId;
}

export function createIdentityActivities({ c, clock }: IdentityActivityDeps) {
  /** The attempt, or a non-retryable failure: once it expired, no retry can bring it back. */
  async function attempt(attemptId: string): Promise<SignInAttemptDoc> {
    const found = await findSignInAttempt(c, attemptId, clock());
    if (!found) throw ApplicationFailure.nonRetryable('The sign-in attempt has expired', 'sign_in_expired');
    return found;
  }

  return {
    async decideSignIn({
      attemptId,
    }: {
      attemptId: string;
    }): Promise<{ decision: SignInDecision; defaultRole: string }> {
      const input = await attempt(attemptId);
      const connector = await c.connectors.findOne({ _id: input.connectorId });
      if (!connector)
        return { decision: { kind: 'refuse', code: 'connector_disabled' }, defaultRole: 'member' };
      if (connector.status !== 'active')
        return {
          decision: { kind: 'refuse', code: 'connector_deleting' },
          defaultRole: connector.jit.defaultRole,
        };
      const [identity, userByEmail, verified] = await Promise.all([
        c.ssoIdentities.findOne({ _id: identityId(connector._id, input.subject) }),
        input.email !== null ? findUserByEmail(c, input.email) : null,
        // Only domains still verified by this organization count (rule 5); grace keeps them verified.
        c.domains
          .find({ orgId: connector.orgId, domain: { $in: connector.domains }, status: 'verified' })
          .toArray(),
      ]);
      const decision = decideSsoSignIn({
        ...(identity ? { existingIdentity: { userId: identity.userId } } : {}),
        ...(userByEmail ? { existingUserByEmail: { userId: userByEmail._id } } : {}),
        ...(input.email !== null ? { email: input.email } : {}),
        connectorVerifiedDomains: verified.map((domain) => domain.domain),
        jitEnabled: connector.jit.enabled,
      });
      return { decision, defaultRole: connector.jit.defaultRole };
    },

    /** Creates the account for a first-time SSO user, or finds the one a concurrent run created. */
    async provisionUser({ attemptId }: { attemptId: string }): Promise<{ userId: string; created: boolean }> {
      const input = await attempt(attemptId);
      // decideSignIn only chooses provisioning with an email (rule 6); without one this is a bug.
      if (input.email === null)
        throw ApplicationFailure.nonRetryable('No email to provision with', 'email_missing');
      const userId = jitUserId(input.email);
      try {
        await c.users.insertOne(
          newUserDoc(userId, { email: input.email, name: input.name, avatarUrl: input.avatarUrl }, clock()),
        );
        return { userId, created: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const existing = await findUserByEmail(c, input.email);
      if (!existing) throw ApplicationFailure.retryable('user vanished after a duplicate-key insert');
      // Either our own earlier attempt, or a personal sign-up that won the race: link to it.
      return { userId: existing._id, created: existing._id === userId };
    },

    /**
     * Links the SSO identity to the user (first writer wins: an existing link keeps its user),
     * refreshes its profile and makes the user a member of the org.
     */
    async upsertIdentity(write: IdentityWrite): Promise<{ userId: string }> {
      const input = await attempt(write.attemptId);
      const now = clock();
      const _id = identityId(input.connectorId, input.subject);
      const update = {
        $setOnInsert: {
          connectorId: input.connectorId,
          orgId: input.orgId,
          subject: input.subject,
          userId: write.userId as UserId,
          createdAt: now,
        },
        $set: { profile: input.profile, lastSignInAt: now },
      };
      let identity: SsoIdentityDoc | null;
      try {
        identity = await c.ssoIdentities.findOneAndUpdate({ _id }, update, {
          upsert: true,
          returnDocument: 'after',
        });
      } catch (error) {
        // Two upserts racing on a new _id: one inserts, the other gets a duplicate key; retrying updates.
        if (!isDuplicateKeyError(error)) throw error;
        identity = await c.ssoIdentities.findOneAndUpdate({ _id }, update, { returnDocument: 'after' });
      }
      if (!identity) throw ApplicationFailure.retryable('identity not found after upsert');
      await ensureMembership(c, identity.orgId, identity.userId, write.role, now);
      return { userId: identity.userId };
    },
  };
}
