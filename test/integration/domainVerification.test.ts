// The domain verification workflow on the real Temporal dev server, with a real worker writing to
// the real MongoDB-protocol server, driven through the API and a real DNS server on 127.0.0.1.
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findConnectorForDomain } from '../../db/connectors';
import { runApi } from '../../runtime/runApi';
import { domainVerificationWorkflowId } from '../../workflows/shared';
import { createOrgWithKey, uniqueDomain, type OrgFixture } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { idpMetadataXml } from '../helpers/samlIdp';
import { postConnector } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

interface DomainView {
  id: string;
  domain: string;
  status: string;
  txtRecord: { name: string; value: string };
  checks: number;
  lastCheckedAt: string | null;
  verifiedAt: string | null;
  failureReason: string | null;
}

let dns: TestDnsServer;
/** Polls every few hundred milliseconds, re-checks verified domains quickly, long deadline. */
let fast: TestStack;
/** Waits an hour between checks and gives up after a few seconds: only checkNow or the deadline act. */
let slow: TestStack;

beforeAll(async () => {
  dns = await startDnsServer();
  const common = { DNS_SERVERS: dns.address, DNS_TIMEOUT: '300ms' };
  [fast, slow] = await Promise.all([
    startTestStack({
      ...common,
      DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
      DOMAIN_VERIFICATION_MAX_INTERVAL: '1s',
      DOMAIN_VERIFICATION_DEADLINE: '10m',
      DOMAIN_REVERIFICATION_INTERVAL: '300ms',
      DOMAIN_REVERIFICATION_GRACE: '2s',
      DOMAIN_VERIFICATION_CHECKS_PER_RUN: '3',
    }),
    startTestStack({
      ...common,
      DOMAIN_VERIFICATION_INITIAL_INTERVAL: '1h',
      DOMAIN_VERIFICATION_MAX_INTERVAL: '1h',
      DOMAIN_VERIFICATION_DEADLINE: '4s',
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([fast?.stop(), slow?.stop()]);
  await dns?.stop();
});

async function addDomain(stack: TestStack, orgKey: string, orgId: string, domain = uniqueDomain()) {
  const res = await request<DomainView>(stack.baseUrl, 'POST', `/v1/orgs/${orgId}/domains`, {
    token: orgKey,
    body: { domain },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function getDomain(stack: TestStack, orgKey: string, orgId: string, id: string) {
  const res = await request<DomainView>(stack.baseUrl, 'GET', `/v1/orgs/${orgId}/domains/${id}`, {
    token: orgKey,
  });
  expect(res.status).toBe(200);
  return res.body;
}

const untilStatus = (stack: TestStack, key: string, orgId: string, id: string, status: string) =>
  eventually(async () => {
    const view = await getDomain(stack, key, orgId, id);
    return view.status === status ? view : undefined;
  }, `domain ${id} to be ${status}`);

describe('adding a domain', () => {
  it('normalizes the name and answers the TXT record to publish', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    const name = uniqueDomain('Bücher');
    const view = await addDomain(fast, org.key, org.id, `${name.toUpperCase()}.`);
    expect(view.domain).toBe(new URL(`http://${name}`).hostname);
    expect(view.domain).toMatch(/^xn--/);
    expect(view).toMatchObject({
      status: 'pending',
      txtRecord: { name: `_sso-verification.${view.domain}` },
    });
    expect(view.txtRecord.value).toMatch(/^sso-verification=.{20,}$/);
  });

  it.each([
    ['a public suffix', 'co.uk'],
    ['an IP address', '192.0.2.1'],
    ['a single label', 'intranet'],
  ])('refuses %s', async (_, domain) => {
    const org = await createOrgWithKey(fast.baseUrl);
    const res = await request(fast.baseUrl, 'POST', `/v1/orgs/${org.id}/domains`, {
      token: org.key,
      body: { domain },
    });
    expect(res).toMatchObject({ status: 400, body: { code: 'domain_invalid' } });
  });

  it('runs exactly one verification workflow per domain, findable by org and domain ID', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, org.key, org.id);
    const description = await fast.services.temporal.workflow
      .getHandle(domainVerificationWorkflowId(view.id))
      .describe();
    expect(description.type).toBe('domainVerification');
    expect(description.searchAttributes).toMatchObject({ OrgId: [org.id], DomainId: [view.id] });
    // Adding it again answers the same domain and leaves its one run alone.
    const again = await request(fast.baseUrl, 'POST', `/v1/orgs/${org.id}/domains`, {
      token: org.key,
      body: { domain: view.domain },
    });
    expect(again).toMatchObject({ status: 200, body: { id: view.id, status: 'pending' } });
    const after = await fast.services.temporal.workflow
      .getHandle(domainVerificationWorkflowId(view.id))
      .describe();
    expect(after).toMatchObject({ runId: description.runId, status: { name: 'RUNNING' } });
  });
  it('keeps a domain added while Temporal is down, and starts its run when it is added again', async () => {
    // An API whose Temporal frontend refuses connections (no retries: the outage is immediate).
    const down = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1', interceptors: [] }) });
    const outage = await runApi({ ...fast.services, temporal: down }, 0);
    const org = await createOrgWithKey(fast.baseUrl);
    const domain = uniqueDomain('outage');
    try {
      const first = await request(outage.url, 'POST', `/v1/orgs/${org.id}/domains`, {
        token: org.key,
        body: { domain },
      });
      expect(first).toMatchObject({ status: 503, body: { code: 'try_again_later' } });
    } finally {
      await outage.close();
      await down.connection.close();
    }
    const saved = await fast.services.c.domains.findOne({ orgId: org.id as never, domain });
    expect(saved?.status).toBe('pending');

    const again = await request<DomainView>(fast.baseUrl, 'POST', `/v1/orgs/${org.id}/domains`, {
      token: org.key,
      body: { domain },
    });
    expect(again).toMatchObject({ status: 200, body: { id: saved?._id, status: 'pending' } });
    dns.setTxt(again.body.txtRecord.name, [again.body.txtRecord.value]);
    await untilStatus(fast, org.key, org.id, again.body.id, 'verified');
  });
});

describe('verification', () => {
  it('stays pending until the record appears, then becomes verified', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, org.key, org.id);
    const checked = await eventually(async () => {
      const current = await getDomain(fast, org.key, org.id, view.id);
      return current.checks >= 2 ? current : undefined;
    }, 'two checks');
    expect(checked).toMatchObject({ status: 'pending', verifiedAt: null });
    expect(checked.lastCheckedAt).not.toBeNull();

    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    const verified = await untilStatus(fast, org.key, org.id, view.id, 'verified');
    expect(verified.verifiedAt).not.toBeNull();
    expect(await fast.services.c.domainClaims.findOne({ _id: view.domain })).toMatchObject({ orgId: org.id });
  });

  it('continues as new to keep the history bounded, and carries its state across runs', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, org.key, org.id);
    const handle = fast.services.temporal.workflow.getHandle(domainVerificationWorkflowId(view.id));
    const firstRunId = (await handle.describe()).runId;
    await eventually(
      async () => ((await getDomain(fast, org.key, org.id, view.id)).checks >= 5 ? true : undefined),
      'five checks',
    );
    const current = await handle.describe();
    expect(current.runId).not.toBe(firstRunId);
    expect(current.historyLength).toBeLessThan(60);
    expect(current.searchAttributes).toMatchObject({ OrgId: [org.id], DomainId: [view.id] });
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    await untilStatus(fast, org.key, org.id, view.id, 'verified');
  });

  it('checks at once on "check now" instead of waiting for the next poll', async () => {
    const org = await createOrgWithKey(slow.baseUrl);
    const view = await addDomain(slow, org.key, org.id);
    await eventually(
      async () => ((await getDomain(slow, org.key, org.id, view.id)).checks >= 1 ? true : undefined),
      'first check',
    );
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    const res = await request(slow.baseUrl, 'POST', `/v1/orgs/${org.id}/domains/${view.id}/verify`, {
      token: org.key,
    });
    expect(res.status).toBe(202);
    // The next scheduled poll is an hour away, so only the signal can have verified it.
    await untilStatus(slow, org.key, org.id, view.id, 'verified');
  });

  it('fails with a clear reason at the deadline, and a retry starts a fresh run', async () => {
    const org = await createOrgWithKey(slow.baseUrl);
    const view = await addDomain(slow, org.key, org.id);
    const failed = await untilStatus(slow, org.key, org.id, view.id, 'failed');
    expect(failed.failureReason).toMatch(/not found/i);

    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    const res = await request(slow.baseUrl, 'POST', `/v1/orgs/${org.id}/domains/${view.id}/verify`, {
      token: org.key,
    });
    expect(res).toMatchObject({ status: 202, body: { status: 'pending' } });
    await untilStatus(slow, org.key, org.id, view.id, 'verified');
  });

  it('answers a double click on a failed domain with one fresh run', async () => {
    const org = await createOrgWithKey(slow.baseUrl);
    const view = await addDomain(slow, org.key, org.id);
    await untilStatus(slow, org.key, org.id, view.id, 'failed');
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);

    const clicks = await Promise.all(
      [1, 2, 3].map(() =>
        request(slow.baseUrl, 'POST', `/v1/orgs/${org.id}/domains/${view.id}/verify`, { token: org.key }),
      ),
    );
    expect(clicks.map((click) => click.status)).toEqual([202, 202, 202]);
    await untilStatus(slow, org.key, org.id, view.id, 'verified');
    const run = await slow.services.temporal.workflow
      .getHandle(domainVerificationWorkflowId(view.id))
      .describe();
    expect(run.status.name).toBe('RUNNING');
  });

  it('keeps retrying while the DNS server is down and verifies once it is back', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    dns.setFailure('servfail');
    try {
      const view = await addDomain(fast, org.key, org.id);
      dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
      // Let several checks fail against the broken server.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect((await getDomain(fast, org.key, org.id, view.id)).status).toBe('pending');
      dns.setFailure('none');
      await untilStatus(fast, org.key, org.id, view.id, 'verified');
    } finally {
      dns.setFailure('none');
    }
  });

  it('does not verify a domain with the token of another organization, and keeps it for the first', async () => {
    const first = await createOrgWithKey(fast.baseUrl);
    const second = await createOrgWithKey(fast.baseUrl);
    const domain = uniqueDomain();
    const mine = await addDomain(fast, first.key, first.id, domain);
    const theirs = await addDomain(fast, second.key, second.id, domain);
    expect(theirs.txtRecord.value).not.toBe(mine.txtRecord.value);
    dns.setTxt(mine.txtRecord.name, [mine.txtRecord.value]);
    await untilStatus(fast, first.key, first.id, mine.id, 'verified');
    const after = await eventually(async () => {
      const view = await getDomain(fast, second.key, second.id, theirs.id);
      return view.checks >= 3 ? view : undefined;
    }, 'more checks of the other org');
    expect(after.status).toBe('pending');

    const third = await createOrgWithKey(fast.baseUrl);
    const res = await request(fast.baseUrl, 'POST', `/v1/orgs/${third.id}/domains`, {
      token: third.key,
      body: { domain },
    });
    expect(res).toMatchObject({ status: 409, body: { code: 'domain_taken' } });
    expect(JSON.stringify(res.body)).not.toContain(first.id);
  });

  it('unverifies a domain whose record disappeared, after the grace period, and records it', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, org.key, org.id);
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    await untilStatus(fast, org.key, org.id, view.id, 'verified');

    dns.removeTxt(view.txtRecord.name);
    const inGrace = await eventually(async () => {
      const doc = await fast.services.c.domains.findOne({ _id: view.id as never });
      return doc?.missingSince ? doc : undefined;
    }, 'the record to be seen missing');
    expect(inGrace.status).toBe('verified');

    const unverified = await untilStatus(fast, org.key, org.id, view.id, 'unverified');
    expect(unverified.failureReason).toMatch(/grace period/);
    // The claim release and the audit event follow the status change in the same activity.
    await eventually(
      async () =>
        (await fast.services.c.domainClaims.findOne({ _id: view.domain })) === null &&
        (await fast.services.c.auditEvents.countDocuments({
          type: 'domain.unverified',
          subjectId: view.id,
        })) === 1
          ? true
          : undefined,
      'the claim released and the transition audited',
    );
  });

  it('resumes a waiting verification on a new worker after the old one stops, without duplicates', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, org.key, org.id);
    await eventually(
      async () => ((await getDomain(fast, org.key, org.id, view.id)).checks >= 1 ? true : undefined),
      'first check',
    );

    await fast.worker?.shutdown();
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    fast.worker = await fast.startWorker();

    await untilStatus(fast, org.key, org.id, view.id, 'verified');
    expect(await fast.services.c.domainClaims.countDocuments({ _id: view.domain })).toBe(1);
    // The audit event follows the status change in the same activity; its ID is the transition's.
    await eventually(
      async () =>
        (await fast.services.c.auditEvents.countDocuments({
          type: 'domain.verified',
          subjectId: view.id,
        })) === 1
          ? true
          : undefined,
      'the verification audited once',
    );
  });
});

describe('a lapsed domain and its connection', () => {
  async function verifiedDomain(org: OrgFixture, domain = uniqueDomain('tie')) {
    const view = await addDomain(fast, org.key, org.id, domain);
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    await untilStatus(fast, org.key, org.id, view.id, 'verified');
    return view;
  }

  async function connectionFor(org: OrgFixture, domain: string) {
    const res = await postConnector(fast, org, {
      name: 'IdP',
      domains: [domain],
      saml: { metadataXml: idpMetadataXml() },
    });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  it("releases the domain's tie, so the name's next owner can tie it to their own connection", async () => {
    const first = await createOrgWithKey(fast.baseUrl);
    const lapsed = await verifiedDomain(first);
    await connectionFor(first, lapsed.domain);
    dns.removeTxt(lapsed.txtRecord.name);
    await untilStatus(fast, first.key, first.id, lapsed.id, 'unverified');
    await eventually(
      async () =>
        (await fast.services.c.connectorDomains.findOne({ _id: lapsed.domain })) ? undefined : true,
      'the tie to be released',
    );

    const owner = await createOrgWithKey(fast.baseUrl);
    await verifiedDomain(owner, lapsed.domain);
    const theirs = await connectionFor(owner, lapsed.domain);
    expect((await findConnectorForDomain(fast.services.c, lapsed.domain))?._id).toBe(theirs);
  });

  it('ties the domain to its connection again when the same organization verifies it again', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await verifiedDomain(org);
    const connectorId = await connectionFor(org, view.domain);
    dns.removeTxt(view.txtRecord.name);
    await untilStatus(fast, org.key, org.id, view.id, 'unverified');
    expect(await findConnectorForDomain(fast.services.c, view.domain)).toBeNull();

    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    const res = await request(fast.baseUrl, 'POST', `/v1/orgs/${org.id}/domains/${view.id}/verify`, {
      token: org.key,
    });
    expect(res.status).toBe(202);
    await untilStatus(fast, org.key, org.id, view.id, 'verified');
    await eventually(
      async () =>
        (await findConnectorForDomain(fast.services.c, view.domain))?._id === connectorId ? true : undefined,
      'SSO routing to resume',
    );
    expect(
      await fast.services.c.auditEvents.countDocuments({ type: 'domain.verified', subjectId: view.id }),
    ).toBe(2);
  });

  it('takes over a tie left behind by an organization whose domain lapsed before ties were released', async () => {
    const owner = await createOrgWithKey(fast.baseUrl);
    const domain = uniqueDomain('stale');
    await fast.services.c.connectorDomains.insertOne({
      _id: domain,
      connectorId: 'con_00000000000000000000000000000000' as never,
      orgId: 'org_00000000000000000000000000000000' as never,
    });
    await verifiedDomain(owner, domain);
    const theirs = await connectionFor(owner, domain);
    expect((await findConnectorForDomain(fast.services.c, domain))?._id).toBe(theirs);
  });
});

describe('deleting a domain', () => {
  it('removes the domain and stops its workflow', async () => {
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, org.key, org.id);
    const res = await request(fast.baseUrl, 'DELETE', `/v1/orgs/${org.id}/domains/${view.id}`, {
      token: org.key,
    });
    expect(res.status).toBe(204);
    expect(
      (await request(fast.baseUrl, 'GET', `/v1/orgs/${org.id}/domains/${view.id}`, { token: org.key }))
        .status,
    ).toBe(404);
    const description = await fast.services.temporal.workflow
      .getHandle(domainVerificationWorkflowId(view.id))
      .describe();
    expect(description.status.name).toBe('TERMINATED');
  });
});
