// Activities may run twice (a retry after a lost completion) or side by side (concurrent
// sign-ins). These run them directly against the real database and check that nothing is doubled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDomainActivities } from '../../activities/domains';
import { createIdentityActivities, identityId, jitUserId } from '../../activities/identities';
import { newDomainDoc } from '../../db/domains';
import { issueEmailCode } from '../../db/emailCodes';
import { newId } from '../../db/ids';
import { insertSession } from '../../db/sessions';
import { newUserDoc, reclaimUnprovenUser } from '../../db/users';
import { txtRecordFor } from '../../domain/domainVerification';
import { asConnectorId, type DomainId, type OrgId, type UserId } from '../../domain/ids';
import { insertSignInAttempt } from '../../db/signInAttempts';
import type { ConnectorDoc } from '../../db/collections';
import { gate, type Gate } from '../helpers/injectedWorker';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
  // The identity writes look at their connection's state: one active, one being torn down.
  await stack.services.c.connectors.insertMany([
    { _id: asConnectorId('con_idem'), status: 'active' } as unknown as ConnectorDoc,
    { _id: asConnectorId('con_idem_deleting'), status: 'deleting' } as unknown as ConnectorDoc,
  ]);
});
afterAll(async () => {
  await stack?.stop();
});

const identities = () =>
  createIdentityActivities({
    c: stack.services.c,
    clock: () => new Date(),
    userIdKey: stack.services.keys.current('user-id'),
  });
const email = () => `idem${Math.random().toString(36).slice(2, 9)}@acme.example.com`;

/** What the ACS stores for the workflow: the IdP's answer for one sign-in. */
function attempt(fields: {
  connectorId?: string;
  orgId?: OrgId;
  subject?: string;
  email?: string;
  name?: string;
  profile?: Record<string, string>;
}) {
  return insertSignInAttempt(
    stack.services.c,
    {
      connectorId: asConnectorId(fields.connectorId ?? 'con_idem'),
      orgId: fields.orgId ?? newId<OrgId>('org'),
      subject: fields.subject ?? `subject-${email()}`,
      ...(fields.email ? { email: fields.email } : {}),
      ...(fields.name ? { name: fields.name } : {}),
      profile: fields.profile ?? {},
    },
    new Date(),
  );
}

describe('identity activities', () => {
  it('provisions one user however often provisioning runs', async () => {
    const address = email();
    const first = await identities().provisionUser({
      attemptId: await attempt({ email: address, name: 'Once' }),
    });
    const again = await identities().provisionUser({
      attemptId: await attempt({ email: address, name: 'Twice' }),
    });
    expect(first).toEqual({
      userId: jitUserId(stack.services.keys.current('user-id'), address),
      created: true,
    });
    expect(again).toEqual(first);
    const users = await stack.services.c.users.find({ email: address }).toArray();
    expect(users).toHaveLength(1);
    expect(users[0]?.name).toBe('Once');
  });

  it('provisions one user when ten runs race', async () => {
    const attemptId = await attempt({ email: email() });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => identities().provisionUser({ attemptId })),
    );
    expect(new Set(results.map((r) => r.userId)).size).toBe(1);
    expect(await stack.services.c.users.countDocuments({ _id: results[0]!.userId as UserId })).toBe(1);
  });

  it('links an identity once: the first user wins, the profile follows the latest sign-in', async () => {
    const orgId = newId<OrgId>('org');
    const subject = `subject-${email()}`;
    const first = await identities().upsertIdentity({
      attemptId: await attempt({ orgId, subject, profile: { team: 'A' } }),
      userId: 'usr_first',
      role: 'member',
    });
    const second = await identities().upsertIdentity({
      attemptId: await attempt({ orgId, subject, profile: { team: 'B' } }),
      userId: 'usr_second',
      role: 'member',
    });
    expect(first).toEqual({ userId: 'usr_first' });
    expect(second).toEqual({ userId: 'usr_first' });
    const docs = await stack.services.c.ssoIdentities.find({ subject }).toArray();
    expect(docs).toHaveLength(1);
    expect(docs[0]?.profile).toEqual({ team: 'B' });
    expect(await stack.services.c.memberships.countDocuments({ orgId })).toBe(1);
  });

  it("reads a sign-in's attempt once per worker: the first step's read serves the last", async () => {
    const activities = identities();
    const address = email();
    const attemptId = await attempt({ email: address, profile: { team: 'Read once' } });
    const { userId } = await activities.provisionUser({ attemptId });
    // Gone from the database, the attempt is still the one this worker read for the run.
    await stack.services.c.signInAttempts.deleteOne({ _id: attemptId });
    expect(await activities.upsertIdentity({ attemptId, userId, role: 'member' })).toEqual({ userId });
    // After the run's last step it is read again: gone now, so a later step fails for good.
    await expect(activities.upsertIdentity({ attemptId, userId, role: 'member' })).rejects.toMatchObject({
      type: 'sign_in_expired',
    });
  });

  it('takes back an identity written after its connection started to be torn down', async () => {
    // The sign-in was decided while the connection was active; the teardown may already be past
    // its last batch when the identity is written, so the write itself must not leave one behind.
    const orgId = newId<OrgId>('org');
    const subject = `subject-${email()}`;
    const write = {
      attemptId: await attempt({ connectorId: 'con_idem_deleting', orgId, subject }),
      userId: 'usr_late',
      role: 'member',
    };
    await expect(identities().upsertIdentity(write)).rejects.toMatchObject({
      type: 'connector_deleting',
      nonRetryable: true,
    });
    expect(await stack.services.c.ssoIdentities.countDocuments({ subject })).toBe(0);
    expect(await stack.services.c.memberships.countDocuments({ orgId })).toBe(0);
  });

  it('creates one identity and one membership when twenty upserts race', async () => {
    const orgId = newId<OrgId>('org');
    const subject = `subject-${email()}`;
    const write = { attemptId: await attempt({ orgId, subject }), userId: 'usr_race', role: 'member' };
    await Promise.all(Array.from({ length: 20 }, () => identities().upsertIdentity(write)));
    expect(await stack.services.c.ssoIdentities.countDocuments({ subject })).toBe(1);
    expect(await stack.services.c.memberships.countDocuments({ orgId })).toBe(1);
  });

  /** An account as a sign-up leaves it (or, with a password, as accounts before email proof are). */
  async function accountFor(
    address: string,
    options: { proven?: boolean; passwordHash?: string; sessions?: number } = {},
  ): Promise<UserId> {
    const c = stack.services.c;
    const userId = newId<UserId>('usr');
    const now = new Date();
    await c.users.insertOne(
      newUserDoc(
        userId,
        {
          email: address,
          emailVerified: options.proven ? { at: now, method: 'email_code' } : null,
          name: 'Typed At Sign-up',
          passwordHash: options.passwordHash ?? null,
        },
        now,
      ),
    );
    for (let session = 0; session < (options.sessions ?? 0); session++)
      await insertSession(
        c,
        {
          digest: `digest-${userId}-${session}`,
          userId,
          amr: ['pwd'],
          connectorId: null,
          expiresAt: new Date(now.getTime() + 3_600_000),
        },
        now,
      );
    if (!options.proven)
      await issueEmailCode(
        c,
        { purpose: 'sign_up', userId, passwordHash: 'scrypt$pending' },
        { key: stack.services.keys.current('email-code'), ttlMs: 600_000 },
        now,
      );
    return userId;
  }

  const reclaimEvents = (userId: UserId) =>
    stack.services.c.auditEvents.countDocuments({ type: 'account.reclaimed', subjectId: userId });

  it('reclaims an unproven account once however often the step runs', async () => {
    const c = stack.services.c;
    const address = email();
    const userId = await accountFor(address, { passwordHash: 'scrypt$squatter', sessions: 2 });
    const attemptId = await attempt({ email: address, name: 'From IdP' });
    const runs = await Promise.all([
      identities().reclaimUnprovenAccount({ attemptId, userId }),
      identities().reclaimUnprovenAccount({ attemptId, userId }),
    ]);
    runs.push(await identities().reclaimUnprovenAccount({ attemptId, userId }));
    expect(runs).toEqual([{ reclaimed: true }, { reclaimed: true }, { reclaimed: true }]);
    expect(await c.users.findOne({ _id: userId })).toMatchObject({
      emailVerified: { method: 'sso_reclaim' },
      passwordHash: null,
      needsPasswordSetup: true,
      totpSecret: null,
      name: 'From IdP',
    });
    expect(await c.sessions.countDocuments({ userId })).toBe(0);
    expect(await c.emailCodes.countDocuments({ userId })).toBe(0);
    expect(await reclaimEvents(userId)).toBe(1);
  });

  it('finishes a reclaim whose first run stopped right after writing the proof', async () => {
    const c = stack.services.c;
    const address = email();
    const userId = await accountFor(address, { passwordHash: 'scrypt$squatter', sessions: 1 });
    const attemptId = await attempt({ email: address, subject: `sub-${address}` });
    const input = await c.signInAttempts.findOne({ _id: attemptId });
    // The first run's conditional write, then the worker died.
    await reclaimUnprovenUser(
      c,
      userId,
      { identityId: identityId(input!.connectorId, input!.subject), name: null, avatarUrl: null },
      new Date(),
    );
    expect(await identities().reclaimUnprovenAccount({ attemptId, userId })).toEqual({ reclaimed: true });
    expect(await c.sessions.countDocuments({ userId })).toBe(0);
    expect(await c.emailCodes.countDocuments({ userId })).toBe(0);
    expect(await reclaimEvents(userId)).toBe(1);
  });

  it('leaves a proven account as it is: password, sessions and no audit event', async () => {
    const c = stack.services.c;
    const address = email();
    const userId = await accountFor(address, { proven: true, passwordHash: 'scrypt$owner', sessions: 1 });
    const attemptId = await attempt({ email: address });
    expect(await identities().reclaimUnprovenAccount({ attemptId, userId })).toEqual({ reclaimed: false });
    expect(await c.users.findOne({ _id: userId })).toMatchObject({
      passwordHash: 'scrypt$owner',
      name: 'Typed At Sign-up',
    });
    expect(await c.sessions.countDocuments({ userId })).toBe(1);
    expect(await reclaimEvents(userId)).toBe(0);
  });

  it('does not reclaim an account another identity already reclaimed', async () => {
    const address = email();
    const userId = await accountFor(address);
    const first = await attempt({ email: address, subject: 'first-subject' });
    const second = await attempt({ email: address, subject: 'second-subject' });
    expect(await identities().reclaimUnprovenAccount({ attemptId: first, userId })).toEqual({
      reclaimed: true,
    });
    expect(await identities().reclaimUnprovenAccount({ attemptId: second, userId })).toEqual({
      reclaimed: false,
    });
    expect(await reclaimEvents(userId)).toBe(1);
  });

  it('hands provisioning the account a sign-up created first, so the workflow reclaims it', async () => {
    const address = email();
    const userId = await accountFor(address);
    const attemptId = await attempt({ email: address });
    expect(await identities().provisionUser({ attemptId })).toEqual({ userId, created: false });
    expect(await identities().reclaimUnprovenAccount({ attemptId, userId })).toEqual({ reclaimed: true });
  });

  it('proves the email of a user it provisions: the IdP of a verified domain vouched for it', async () => {
    const address = email();
    const { userId } = await identities().provisionUser({ attemptId: await attempt({ email: address }) });
    expect(await stack.services.c.users.findOne({ _id: userId as UserId })).toMatchObject({
      emailVerified: { method: 'sso' },
    });
  });

  it('fails for good, not retryably, once the sign-in attempt has expired', async () => {
    await expect(identities().decideSignIn({ attemptId: 'att_gone' })).rejects.toMatchObject({
      type: 'sign_in_expired',
      nonRetryable: true,
    });
  });
});

describe('domain activities', () => {
  it('verifies a domain once when the check runs twice: one claim, one audit event', async () => {
    const domainId = newId<DomainId>('dom');
    const domain = `idem-${Math.random().toString(36).slice(2, 8)}.example.com`;
    await stack.services.c.domains.insertOne(
      newDomainDoc(domainId, { orgId: newId<OrgId>('org'), domain, token: 'token-1' }, new Date()),
    );
    const record = txtRecordFor(domain, 'token-1');
    // The resolver is a dependency like the database; here it answers as a DNS server holding the record.
    const activities = createDomainActivities({
      c: stack.services.c,
      clock: () => new Date(),
      lookupTxt: (name) =>
        Promise.resolve(
          name === record.name
            ? { found: true, records: [[record.value]] }
            : { found: false, reason: 'nxdomain' },
        ),
    });
    // A new record belongs to its first run, generation 1.
    expect(await activities.checkDomainRecord({ domainId, generation: 1 })).toBe('verified');
    expect(await activities.checkDomainRecord({ domainId, generation: 1 })).toBe('verified');
    const verifiedAt = (await stack.services.c.domains.findOne({ _id: domainId }))?.verifiedAt;
    expect(verifiedAt).toBeInstanceOf(Date);
    expect(await stack.services.c.domainClaims.countDocuments({ _id: domain })).toBe(1);
    expect(
      await stack.services.c.auditEvents.countDocuments({ type: 'domain.verified', subjectId: domainId }),
    ).toBe(1);
  });

  /** A pending domain record, and domain activities whose resolver holds its TXT record. */
  async function pendingDomain(fields: { generation?: number; lookupGate?: Gate } = {}) {
    const domainId = newId<DomainId>('dom');
    const domain = `race-${Math.random().toString(36).slice(2, 8)}.example.com`;
    const doc = newDomainDoc(domainId, { orgId: newId<OrgId>('org'), domain, token: 'token-1' }, new Date());
    if (fields.generation === undefined) delete doc.generation;
    else doc.generation = fields.generation;
    await stack.services.c.domains.insertOne(doc);
    const record = txtRecordFor(domain, 'token-1');
    const activities = createDomainActivities({
      c: stack.services.c,
      clock: () => new Date(),
      lookupTxt: async (name) => {
        await fields.lookupGate?.wait();
        return name === record.name
          ? { found: true, records: [[record.value]] }
          : { found: false, reason: 'nxdomain' };
      },
    });
    const read = () => stack.services.c.domains.findOne({ _id: domainId });
    return { domainId, domain, activities, read };
  }

  it('does not let a check that outlived the deadline verify the domain its run already failed', async () => {
    const lookup = gate();
    const { domainId, domain, activities, read } = await pendingDomain({ generation: 1, lookupGate: lookup });
    // The check's DNS lookup hangs past its timeout; the run moves on and fails the domain.
    const lateCheck = activities.checkDomainRecord({ domainId, generation: 1 });
    await lookup.reached;
    expect(await activities.markDomainFailed({ domainId, generation: 1, reason: 'deadline' })).toBe('failed');

    lookup.open();
    expect(await lateCheck).toBe('superseded');
    expect(await read()).toMatchObject({ status: 'failed', verifiedAt: null });
    expect(await stack.services.c.domainClaims.findOne({ _id: domain })).toBeNull();
    expect(
      await stack.services.c.auditEvents.countDocuments({ type: 'domain.verified', subjectId: domainId }),
    ).toBe(0);
  });

  it('lets a check that verified just before the deadline win, and tells the run to keep watching', async () => {
    const { domainId, activities, read } = await pendingDomain({ generation: 1 });
    expect(await activities.checkDomainRecord({ domainId, generation: 1 })).toBe('verified');
    expect(await activities.markDomainFailed({ domainId, generation: 1, reason: 'deadline' })).toBe(
      'verified',
    );
    expect((await read())?.status).toBe('verified');
  });

  it('ignores a check of an earlier run once verification was restarted', async () => {
    const { domainId, domain, activities, read } = await pendingDomain({ generation: 2 });
    expect(await activities.checkDomainRecord({ domainId, generation: 1 })).toBe('superseded');
    expect(await activities.markDomainFailed({ domainId, generation: 1, reason: 'deadline' })).toBe(
      'superseded',
    );
    expect(await read()).toMatchObject({ status: 'pending', checks: 0 });
    expect(await stack.services.c.domainClaims.findOne({ _id: domain })).toBeNull();
  });

  it('still verifies a record written before generations, from a run started before them', async () => {
    const { domainId, activities, read } = await pendingDomain();
    expect(await activities.checkDomainRecord({ domainId })).toBe('verified');
    expect((await read())?.status).toBe('verified');
  });
});
