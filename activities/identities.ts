// Sign-in activities: deciding between a returning identity, account linking (or reclaiming an
// unproven account) and just-in-time provisioning, and writing the outcome. They read what the
// IdP said from the sign-in attempt (db/signInAttempts.ts): workflow inputs and results carry IDs
// only, never personal data. Every write is idempotent on a natural key: the user on its
// normalized email (unique index, deterministic JIT user ID), the SSO identity on connector +
// subject (deterministic _id), the membership on org + user, the reclaim on the account's
// proof (a conditional write that names the identity) and its audit event on the user ID.
import { createHmac, type KeyObject } from 'node:crypto';
import { identityId, verifiedDomainsOf } from '../db/ssoIdentities';
import type { Collections, SignInAttemptDoc, SsoIdentityDoc } from '../db/collections';
import { findSignInAttempt } from '../db/signInAttempts';
import { insertOnce, isDuplicateKeyError } from '../db/collections';
import { recordAuditEvent } from '../db/audit';
import { deleteEmailCodes } from '../db/emailCodes';
import { ensureMembership } from '../db/memberships';
import { revokeUserSessions } from '../db/sessions';
import {
  emailVerificationOf,
  findUserByEmail,
  isEmailProven,
  newUserDoc,
  reclaimUnprovenUser,
} from '../db/users';
import type { UserId } from '../domain/ids';
import {
  accountClaim,
  decideSsoSignIn,
  type ConnectorRefusalCode,
  type SsoSignInDecision,
} from '../domain/signInPolicy';
import { ApplicationFailure } from '@temporalio/activity';

export interface IdentityActivityDeps {
  c: Collections;
  clock: () => Date;
  /** Keys JIT user IDs: they appear in Temporal (the UserId search attribute). */
  userIdKey: KeyObject;
}

export type SignInDecision = SsoSignInDecision | { kind: 'refuse'; code: ConnectorRefusalCode };

export interface IdentityWrite {
  attemptId: string;
  userId: string;
  role: string;
}

export { identityId };

/**
 * Derived from the email so a retried or concurrent provisioning lands on the same ID, and keyed
 * so that whoever reads user IDs in Temporal cannot confirm a guessed email by hashing it.
 */
export function jitUserId(key: KeyObject, email: string): UserId {
  return `usr_${createHmac('sha256', key).update(`jit:${email}`).digest('hex').slice(0, 32)}` as UserId;
}

/** Attempts this worker read for a sign-in whose last step has not run yet (see `attempt`). */
const RECENT_ATTEMPTS = 512;

export function createIdentityActivities({ c, clock, userIdKey }: IdentityActivityDeps) {
  // A sign-in's steps are local activities, so they run on the worker that ran its first one and
  // all read the same attempt, which is never changed once written: the first step's read serves
  // the others (one round trip fewer per JIT or linking run). A worker that takes over a run
  // after a crash reads it again. An attempt removed by a teardown meanwhile changes nothing:
  // upsertIdentity reads the connection's state after its write and takes the identity back.
  const recentAttempts = new Map<string, SignInAttemptDoc>();

  /** The attempt, or a non-retryable failure: once it expired, no retry can bring it back. */
  async function attempt(attemptId: string): Promise<SignInAttemptDoc> {
    const recent = recentAttempts.get(attemptId);
    if (recent && recent.expiresAt > clock()) return recent;
    const found = await findSignInAttempt(c, attemptId, clock());
    if (!found) throw ApplicationFailure.nonRetryable('The sign-in attempt has expired', 'sign_in_expired');
    recentAttempts.set(attemptId, found);
    // Runs that never reach their last step (refused, or finished on another worker) age out.
    const oldest = recentAttempts.size > RECENT_ATTEMPTS ? recentAttempts.keys().next().value : undefined;
    if (oldest !== undefined) recentAttempts.delete(oldest);
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
        verifiedDomainsOf(c, connector),
      ]);
      const decision = decideSsoSignIn({
        ...(identity ? { existingIdentity: { userId: identity.userId } } : {}),
        ...(userByEmail
          ? { existingUserByEmail: { userId: userByEmail._id, emailProven: isEmailProven(userByEmail) } }
          : {}),
        ...(input.email !== null ? { email: input.email } : {}),
        connectorVerifiedDomains: verified,
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
      const userId = jitUserId(userIdKey, input.email);
      const now = clock();
      try {
        // The IdP of a verified domain (decideSignIn checked it) proves the mailbox.
        const emailVerified = {
          at: now,
          method: 'sso' as const,
          identityId: identityId(input.connectorId, input.subject),
        };
        await c.users.insertOne(
          newUserDoc(
            userId,
            { email: input.email, emailVerified, name: input.name, avatarUrl: input.avatarUrl },
            now,
          ),
        );
        return { userId, created: true };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      // Our own earlier attempt is found by its ID (an indexed read on every server); only a sign-up
      // that won the race needs the read by email.
      const own = await c.users.findOne({ _id: userId });
      const existing = own?.email === input.email ? own : await findUserByEmail(c, input.email);
      if (!existing) throw ApplicationFailure.retryable('user vanished after a duplicate-key insert');
      // Either our own earlier attempt, or a sign-up that won the race: the workflow then treats it
      // like any existing account (reclaimUnprovenAccount before linking).
      return { userId: existing._id, created: existing._id === userId };
    },

    /**
     * Makes an existing account fit to receive this SSO identity. A proven account is left as it
     * is (rule 5). An unproven one is reclaimed: the IdP of a verified domain vouches for the
     * mailbox, while the account only shows that someone typed the address, maybe to pre-hijack
     * it. So its password, TOTP secret, pending sign-up codes and every session go, it needs a
     * password setup, its profile comes from the IdP, and an audit event (IDs only) records it.
     *
     * Decided on the account as it is now, not as decideSignIn saw it: a code may have proven
     * it since. Steps after the proof are each idempotent and re-run when a retry finds this
     * identity's own reclaim already written (accountClaim's finish_reclaim), so a crash between
     * them loses neither the session revocation nor the audit event.
     */
    async reclaimUnprovenAccount({
      attemptId,
      userId,
    }: {
      attemptId: string;
      userId: string;
    }): Promise<{ reclaimed: boolean }> {
      const input = await attempt(attemptId);
      const identity = identityId(input.connectorId, input.subject);
      const accountId = userId as UserId;
      for (let reads = 0; ; reads++) {
        const user = await c.users.findOne({ _id: accountId });
        if (!user) throw ApplicationFailure.retryable('the account to link was not found');
        const claim = accountClaim(emailVerificationOf(user), identity);
        if (claim.kind === 'attach') return { reclaimed: false };
        if (claim.kind === 'finish_reclaim') break;
        const fields = { identityId: identity, name: input.name, avatarUrl: input.avatarUrl };
        if (await reclaimUnprovenUser(c, accountId, fields, clock())) break;
        // Proven between the read and the write: read again and decide on what is there now.
        if (reads > 2) throw ApplicationFailure.retryable('the account keeps changing');
      }
      await deleteEmailCodes(c, accountId);
      // No session of this account can be legitimate: none is created before the mailbox is
      // proven, and this sign-in's own session starts only after the workflow ends.
      await revokeUserSessions(c, accountId);
      await recordAuditEvent(
        c,
        {
          eventId: `account-reclaimed-${accountId}`,
          type: 'account.reclaimed',
          orgId: input.orgId,
          subjectId: accountId,
          // IDs only: the identity's own ID embeds a digest of the subject, often an email.
          data: { userId: accountId, connectorId: input.connectorId },
        },
        clock(),
      );
      return { reclaimed: true };
    },

    /**
     * Links the SSO identity to the user (first writer wins: an existing link keeps its user),
     * refreshes its profile and makes the user a member of the org.
     */
    async upsertIdentity(write: IdentityWrite): Promise<{ userId: string }> {
      const input = await attempt(write.attemptId);
      const now = clock();
      const _id = identityId(input.connectorId, input.subject);
      const linked: SsoIdentityDoc = {
        _id,
        connectorId: input.connectorId,
        orgId: input.orgId,
        subject: input.subject,
        userId: write.userId as UserId,
        profile: input.profile,
        createdAt: now,
        lastSignInAt: now,
      };
      // A new identity is one insert under its deterministic _id. A duplicate key means it was
      // linked before (a retry, or a concurrent sign-in won): its user stays and only the profile
      // and last sign-in are refreshed, as a `$setOnInsert` upsert would.
      const identity: Pick<SsoIdentityDoc, 'orgId' | 'userId'> | null = (await insertOnce(
        c.ssoIdentities,
        linked,
      ))
        ? linked
        : await c.ssoIdentities.findOneAndUpdate(
            { _id },
            { $set: { profile: input.profile, lastSignInAt: now } },
            { returnDocument: 'after' },
          );
      if (!identity) throw ApplicationFailure.retryable('identity not found after upsert');
      // A teardown may have started since this sign-in was decided. Read after the write: if the
      // connection is still active here, the teardown starts later and its batches remove this
      // identity; if not, the teardown may already be past it, so the identity goes now.
      const connector = await c.connectors.findOne({ _id: input.connectorId }, { projection: { status: 1 } });
      if (connector?.status !== 'active') {
        await c.ssoIdentities.deleteOne({ _id });
        throw ApplicationFailure.nonRetryable('The connection is being deleted', 'connector_deleting');
      }
      await ensureMembership(c, identity.orgId, identity.userId, write.role, now);
      // The sign-in's last step: its attempt is not read again by this worker.
      recentAttempts.delete(write.attemptId);
      return { userId: identity.userId };
    },
  };
}
