// Activities may run twice (a retry after a lost completion) or side by side (concurrent
// sign-ins). These run them directly against the real database and check that nothing is doubled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDomainActivities } from '../../activities/domains';
import { createIdentityActivities, jitUserId } from '../../activities/identities';
import { newDomainDoc } from '../../db/domains';
import { newId } from '../../db/ids';
import { txtRecordFor } from '../../domain/domainVerification';
import type { DomainId, OrgId } from '../../domain/ids';
import { startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({}, { worker: false });
});
afterAll(async () => {
  await stack?.stop();
});

const identities = () => createIdentityActivities({ c: stack.services.c, clock: () => new Date() });
const email = () => `idem${Math.random().toString(36).slice(2, 9)}@acme.example.com`;

describe('identity activities', () => {
  it('provisions one user however often provisioning runs', async () => {
    const address = email();
    const first = await identities().provisionUser({ email: address, name: 'Once' });
    const again = await identities().provisionUser({ email: address, name: 'Twice' });
    expect(first).toEqual({ userId: jitUserId(address), created: true });
    expect(again).toEqual(first);
    const users = await stack.services.c.users.find({ email: address }).toArray();
    expect(users).toHaveLength(1);
    expect(users[0]?.name).toBe('Once');
  });

  it('provisions one user when ten runs race', async () => {
    const address = email();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => identities().provisionUser({ email: address })),
    );
    expect(new Set(results.map((r) => r.userId)).size).toBe(1);
    expect(await stack.services.c.users.countDocuments({ email: address })).toBe(1);
  });

  it('links an identity once: the first user wins, the profile follows the latest sign-in', async () => {
    const orgId = newId<OrgId>('org');
    const write = { connectorId: 'con_idem', orgId, subject: `subject-${email()}`, role: 'member' };
    const first = await identities().upsertIdentity({
      ...write,
      userId: 'usr_first',
      profile: { team: 'A' },
    });
    const second = await identities().upsertIdentity({
      ...write,
      userId: 'usr_second',
      profile: { team: 'B' },
    });
    expect(first).toEqual({ userId: 'usr_first' });
    expect(second).toEqual({ userId: 'usr_first' });
    const docs = await stack.services.c.ssoIdentities.find({ subject: write.subject }).toArray();
    expect(docs).toHaveLength(1);
    expect(docs[0]?.profile).toEqual({ team: 'B' });
    expect(await stack.services.c.memberships.countDocuments({ orgId })).toBe(1);
  });

  it('creates one identity and one membership when twenty upserts race', async () => {
    const orgId = newId<OrgId>('org');
    const write = {
      connectorId: 'con_race',
      orgId,
      subject: `subject-${email()}`,
      userId: 'usr_race',
      profile: {},
      role: 'member',
    };
    await Promise.all(Array.from({ length: 20 }, () => identities().upsertIdentity(write)));
    expect(await stack.services.c.ssoIdentities.countDocuments({ subject: write.subject })).toBe(1);
    expect(await stack.services.c.memberships.countDocuments({ orgId })).toBe(1);
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
    expect(await activities.checkDomainRecord({ domainId })).toBe('verified');
    expect(await activities.checkDomainRecord({ domainId })).toBe('verified');
    const verifiedAt = (await stack.services.c.domains.findOne({ _id: domainId }))?.verifiedAt;
    expect(verifiedAt).toBeInstanceOf(Date);
    expect(await stack.services.c.domainClaims.countDocuments({ _id: domain })).toBe(1);
    expect(
      await stack.services.c.auditEvents.countDocuments({ type: 'domain.verified', subjectId: domainId }),
    ).toBe(1);
  });
});
