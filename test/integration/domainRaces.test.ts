// Domain verification when things happen at the worst moment: a domain deleted while its check
// runs, a worker that dies between a status change and what must follow it, a deadline write
// during a database outage, a "check now" while the last run is still finishing. Each test runs
// the real workflow on the real servers with a worker whose activities are the real ones over
// dependencies that block or throw at the point the test names.
import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDnsActivities } from '../../activities/dns';
import { createDomainActivities } from '../../activities/domains';
import type { Collections } from '../../db/collections';
import type { RunningWorker } from '../../runtime/runWorker';
import { domainVerificationWorkflowId } from '../../workflows/shared';
import { createOrgWithKey, uniqueDomain, type OrgFixture } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { failingFirst, gate, startWorkerWith } from '../helpers/injectedWorker';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

interface DomainView {
  id: string;
  domain: string;
  status: string;
  txtRecord: { name: string; value: string };
}

let dns: TestDnsServer;
/** Polls every few hundred milliseconds; a vanished record unverifies after one second. */
let fast: TestStack;
/** Checks once, then only at the two-second deadline (or on "check now"). */
let deadline: TestStack;
let worker: RunningWorker | undefined;

beforeAll(async () => {
  dns = await startDnsServer();
  const common = { DNS_SERVERS: dns.address, DNS_TIMEOUT: '300ms' };
  [fast, deadline] = await Promise.all([
    startTestStack(
      {
        ...common,
        DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
        DOMAIN_VERIFICATION_MAX_INTERVAL: '500ms',
        DOMAIN_VERIFICATION_DEADLINE: '10m',
        DOMAIN_REVERIFICATION_INTERVAL: '300ms',
        DOMAIN_REVERIFICATION_GRACE: '1s',
      },
      { worker: false },
    ),
    startTestStack(
      {
        ...common,
        DOMAIN_VERIFICATION_INITIAL_INTERVAL: '1h',
        DOMAIN_VERIFICATION_MAX_INTERVAL: '1h',
        DOMAIN_VERIFICATION_DEADLINE: '2s',
      },
      { worker: false },
    ),
  ]);
});

afterEach(async () => {
  await worker?.shutdown();
  worker = undefined;
});

afterAll(async () => {
  await Promise.all([fast?.stop(), deadline?.stop()]);
  await dns?.stop();
});

/** The real domain activities over the stack's database (or a wrapped one) and resolver. */
function domainActivities(stack: TestStack, deps: { c?: Collections; lookupTxt?: LookupTxt } = {}) {
  return createDomainActivities({
    c: deps.c ?? stack.services.c,
    clock: () => new Date(),
    lookupTxt: deps.lookupTxt ?? realLookup(),
  });
}

type LookupTxt = ReturnType<typeof createDnsActivities>['lookupTxt'];
const realLookup = (): LookupTxt => createDnsActivities({ servers: [dns.address], timeoutMs: 300 }).lookupTxt;

async function addDomain(stack: TestStack, org: OrgFixture, domain = uniqueDomain()) {
  const res = await request<DomainView>(stack.baseUrl, 'POST', `/v1/orgs/${org.id}/domains`, {
    token: org.key,
    body: { domain },
  });
  expect(res.status).toBe(201);
  return res.body;
}

const domainDoc = (stack: TestStack, id: string) => stack.services.c.domains.findOne({ _id: id as never });

const untilStatus = (stack: TestStack, id: string, status: string, timeoutMs?: number) =>
  eventually(
    async () => ((await domainDoc(stack, id))?.status === status ? true : undefined),
    `domain ${id} to be ${status}`,
    timeoutMs,
  );

const auditCount = (stack: TestStack, type: string, subjectId: string) =>
  stack.services.c.auditEvents.countDocuments({ type, subjectId });

describe('a domain deleted while its DNS check runs', () => {
  it('leaves no claim on the name, so another organization can add and verify it', async () => {
    const name = uniqueDomain('deleted');
    const recordName = `_sso-verification.${name}`;
    const lookup = gate();
    let lookups = 0;
    let blocked: Promise<unknown> | undefined;
    worker = await startWorkerWith(fast, () => {
      const domains = domainActivities(fast, {
        lookupTxt: async (queried) => {
          if (queried === recordName && lookups++ === 0) await lookup.wait();
          return realLookup()(queried);
        },
      });
      return {
        checkDomainRecord: (input) => {
          const check = domains.checkDomainRecord(input);
          if (!blocked) blocked = check.catch(() => undefined);
          return check;
        },
      };
    });
    const owner = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, owner, name);
    await lookup.reached;
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);

    const deleted = await request(fast.baseUrl, 'DELETE', `/v1/orgs/${owner.id}/domains/${view.id}`, {
      token: owner.key,
    });
    expect(deleted.status).toBe(204);
    // Terminating the workflow does not stop its activity: the check goes on and finds the record.
    lookup.open();
    await blocked;

    expect(await fast.services.c.domainClaims.findOne({ _id: name })).toBeNull();
    expect(await auditCount(fast, 'domain.verified', view.id)).toBe(0);
    const other = await createOrgWithKey(fast.baseUrl);
    const theirs = await addDomain(fast, other, name);
    dns.setTxt(theirs.txtRecord.name, [theirs.txtRecord.value]);
    await untilStatus(fast, theirs.id, 'verified');
    expect(await fast.services.c.domainClaims.findOne({ _id: name })).toMatchObject({ orgId: other.id });
  });
});

describe('a worker that dies between a status change and what follows it', () => {
  it('still records the verification when the audit write failed after the status was set', async () => {
    const auditEvents = failingFirst(fast.services.c.auditEvents, 'insertMany', 1);
    worker = await startWorkerWith(fast, () =>
      domainActivities(fast, { c: { ...fast.services.c, auditEvents: auditEvents.target } }),
    );
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, org);
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);

    await untilStatus(fast, view.id, 'verified');
    await eventually(
      async () => ((await auditCount(fast, 'domain.verified', view.id)) === 1 ? true : undefined),
      'the verification to be recorded by the retried check',
      15_000,
    );
    expect(auditEvents.failures()).toBe(1);
  });

  it('still releases the claim and records the lapse when the release failed after the status was set', async () => {
    const domainClaims = failingFirst(fast.services.c.domainClaims, 'deleteOne', 1);
    worker = await startWorkerWith(fast, () =>
      domainActivities(fast, { c: { ...fast.services.c, domainClaims: domainClaims.target } }),
    );
    const org = await createOrgWithKey(fast.baseUrl);
    const view = await addDomain(fast, org);
    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    await untilStatus(fast, view.id, 'verified');

    dns.removeTxt(view.txtRecord.name);
    await untilStatus(fast, view.id, 'unverified');
    await eventually(
      async () => ((await fast.services.c.domainClaims.findOne({ _id: view.domain })) ? undefined : true),
      'the claim to be released by the retried re-check',
      15_000,
    );
    expect(domainClaims.failures()).toBe(1);
    await eventually(
      async () => ((await auditCount(fast, 'domain.unverified', view.id)) === 1 ? true : undefined),
      'the lapse to be recorded',
      15_000,
    );
    // The name is free again for whoever proves it next.
    const other = await createOrgWithKey(fast.baseUrl);
    await addDomain(fast, other, view.domain);
  });
});

describe('the deadline', () => {
  it('fails the domain even when the database is down for several retries of that write', async () => {
    let failures = 5;
    worker = await startWorkerWith(deadline, (real) => ({
      markDomainFailed: (input) => {
        if (failures-- > 0)
          return Promise.reject(ApplicationFailure.retryable('database unavailable (injected)'));
        return real.markDomainFailed(input);
      },
    }));
    const org = await createOrgWithKey(deadline.baseUrl);
    const view = await addDomain(deadline, org);

    // Five failed attempts back off 1+2+4+8 s; the sixth, 16 s later, succeeds.
    await untilStatus(deadline, view.id, 'failed', 60_000);
    expect(failures).toBeLessThan(0);
    const handle = deadline.services.temporal.workflow.getHandle(domainVerificationWorkflowId(view.id));
    expect(await handle.result()).toBe('failed');
  }, 90_000);

  it('lets "check now" start a fresh run while the failed run is still finishing', async () => {
    const finishing = gate();
    worker = await startWorkerWith(deadline, (real) => ({
      markDomainFailed: async (input) => {
        const end = await real.markDomainFailed(input);
        await finishing.wait();
        return end;
      },
    }));
    const org = await createOrgWithKey(deadline.baseUrl);
    const view = await addDomain(deadline, org);
    await finishing.reached;
    expect((await domainDoc(deadline, view.id))?.status).toBe('failed');

    dns.setTxt(view.txtRecord.name, [view.txtRecord.value]);
    const res = await request(deadline.baseUrl, 'POST', `/v1/orgs/${org.id}/domains/${view.id}/verify`, {
      token: org.key,
    });
    expect(res).toMatchObject({ status: 202, body: { status: 'pending' } });
    await untilStatus(deadline, view.id, 'verified');
    finishing.open();
    const run = await deadline.services.temporal.workflow
      .getHandle(domainVerificationWorkflowId(view.id))
      .describe();
    expect(run.status.name).toBe('RUNNING');
    expect((await domainDoc(deadline, view.id))?.status).toBe('verified');
  });
});
