// The daily IdP certificate check through the real stack: the worker's Temporal Schedule is
// triggered by hand (a run a day, without waiting days) while a test clock moves the activities
// and the API forward. Notices go by real email (SMTP server on 127.0.0.1) to the org's admins and
// into the audit log, once per threshold however often the check runs; a connection made from a
// metadata URL (served on 127.0.0.1) follows the IdP's certificate rotation by itself.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expiryAuditEventId } from '../../activities/certificates';
import { spUrls } from '../../sso/connectorUrls';
import { certificateFacts } from '../../sso/certificates';
import { ensureCertificateCheckSchedule } from '../../temporal/schedules';
import { certificateCheckScheduleId, type CertificateCheckTotals } from '../../workflows/shared';
import { createOrgWithKey, type OrgFixture } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { TEST_IDP, idpMetadataXml, testIdpKey, type TestIdpKey } from '../helpers/samlIdp';
import { postConnector, signIn, verifyDomain, type SsoFixture } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let dns: TestDnsServer;
let mailbox: TestMailbox;
let stack: TestStack;
let metadataServer: Server;
let metadataUrl: string;
/** What the metadata URL serves now: a document, or an HTTP error. */
let served: { keys: TestIdpKey[]; entityId?: string } | 'error' = 'error';
/** How far the test clock is ahead of the real time. */
let clockOffsetMs = 0;

beforeAll(async () => {
  dns = await startDnsServer();
  mailbox = await startMailbox();
  metadataServer = createServer((_req, res) => {
    if (served === 'error') res.writeHead(500).end();
    else
      res.end(
        idpMetadataXml({ keys: served.keys, ...(served.entityId ? { entityId: served.entityId } : {}) }),
      );
  });
  await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
  metadataUrl = `http://127.0.0.1:${(metadataServer.address() as AddressInfo).port}/metadata.xml`;
  stack = await startTestStack(
    {
      SMTP_URL: mailbox.url,
      DNS_SERVERS: dns.address,
      DNS_TIMEOUT: '300ms',
      DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
      DOMAIN_VERIFICATION_MAX_INTERVAL: '1s',
      ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
      IDP_FETCH_ALLOWED_NETWORKS: '127.0.0.0/8',
      SIGN_IN_WAIT: '5s',
    },
    { clock: () => new Date(Date.now() + clockOffsetMs) },
  );
});

afterAll(async () => {
  await stack?.stop();
  await dns?.stop();
  await mailbox?.stop();
  await new Promise((resolve) => metadataServer?.close(resolve));
});

beforeEach(() => {
  clockOffsetMs = 0;
});

/** Triggers the worker's schedule, as its daily interval would, and waits for that run's totals. */
async function runCheck(): Promise<CertificateCheckTotals> {
  const schedule = stack.services.temporal.schedule.getHandle(
    certificateCheckScheduleId(stack.config.temporalTaskQueue),
  );
  const before = (await schedule.describe()).info.numActionsTaken;
  await schedule.trigger();
  const action = await eventually(async () => {
    const { info } = await schedule.describe();
    return info.numActionsTaken > before ? info.recentActions.at(-1)?.action : undefined;
  }, 'the triggered certificate check');
  return stack.services.temporal.workflow
    .getHandle<() => Promise<CertificateCheckTotals>>(action.workflow.workflowId)
    .result();
}

/** Waits until every email enqueued so far has been delivered (or ended), so counts are final. */
async function deliveriesSettled(): Promise<void> {
  await eventually(
    async () =>
      (await stack.services.c.outbox.countDocuments({ status: 'pending' })) === 0 ? true : undefined,
    'every email delivered',
  );
}

interface CertificateView {
  sha256: string | null;
  notAfter: string | null;
  daysLeft: number | null;
}

async function certificatesOf(org: OrgFixture, connectorId: string): Promise<CertificateView[]> {
  const res = await request<{ saml: { certificates: CertificateView[] } }>(
    stack.baseUrl,
    'GET',
    `/v1/orgs/${org.id}/connectors/${connectorId}`,
    { token: org.key },
  );
  expect(res.status).toBe(200);
  return res.body.saml.certificates;
}

async function samlConnection(saml: Record<string, unknown>, defaultRole = 'admin'): Promise<SsoFixture> {
  const org = await createOrgWithKey(stack.baseUrl);
  const domain = await verifyDomain(stack, dns, org);
  const res = await postConnector(stack, org, {
    name: 'Okta',
    domains: [domain],
    saml,
    jit: { enabled: true, defaultRole },
  });
  expect(res.status).toBe(201);
  const sp = spUrls(stack.config.publicUrl, res.body.id);
  return { org, domain, connectorId: res.body.id, acsUrl: sp.acsUrl, spEntityId: sp.entityId };
}

/** A member of the org, made the way members are made: a JIT sign-in with the connection's default role. */
async function member(fixture: SsoFixture, local: string, key: TestIdpKey): Promise<string> {
  const email = `${local}@${fixture.domain}`;
  const res = await signIn(stack, fixture, { nameId: email, attributes: { email }, signWith: key });
  expect(res.status).toBe(303);
  return email;
}

const sha256Of = (key: TestIdpKey) => certificateFacts(key.certificatePem)!.sha256;

describe('certificate expiry notices', () => {
  it('sends the 14-day, then the 7-day, then the expired notice once each, to the admins only', async () => {
    const expiring = testIdpKey('expires-in-10-days', { notAfter: new Date(Date.now() + 10 * DAY + HOUR) });
    const fixture = await samlConnection({
      entityId: TEST_IDP.entityId,
      ssoUrl: TEST_IDP.ssoUrl,
      certificates: [expiring.certificatePem],
    });
    const admin = await member(fixture, 'admin', expiring);
    const patched = await request(
      stack.baseUrl,
      'PATCH',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`,
      { token: fixture.org.key, body: { jit: { enabled: true, defaultRole: 'member' } } },
    );
    expect(patched.status).toBe(200);
    const employee = await member(fixture, 'employee', expiring);
    const sha256 = sha256Of(expiring);

    expect(await certificatesOf(fixture.org, fixture.connectorId)).toEqual([
      {
        sha256,
        notAfter: certificateFacts(expiring.certificatePem)!.notAfter.toISOString(),
        daysLeft: 10,
      },
    ]);

    const audit = stack.services.c.auditEvents;
    const noticesOf = () =>
      audit
        .find({ subjectId: fixture.connectorId, type: /^connector\.certificate_expir/ })
        .sort({ at: 1 })
        .toArray();

    // Day 0: 10 days left, so the 14-day notice (and no late 30-day one); twice, still one notice.
    expect((await runCheck()).notices).toBeGreaterThanOrEqual(1);
    await runCheck();
    await deliveriesSettled();
    expect((await noticesOf()).map((event) => event._id)).toEqual([
      expiryAuditEventId(fixture.connectorId, sha256, 14),
    ]);
    expect(mailbox.to(admin).map((email) => email.subject)).toEqual([
      'Single sign-on certificate expires in 10 days: Okta',
    ]);
    expect(mailbox.to(admin)[0]?.text).toContain(sha256);

    // Four days later: 6 days left, the 7-day notice; the API counts the same days.
    clockOffsetMs = 4 * DAY;
    expect((await certificatesOf(fixture.org, fixture.connectorId))[0]?.daysLeft).toBe(6);
    await runCheck();
    await runCheck();
    // After its end: the expired notice.
    clockOffsetMs = 11 * DAY;
    await runCheck();
    await runCheck();
    await deliveriesSettled();

    const notices = await noticesOf();
    expect(notices.map((event) => [event._id, event.type, event.orgId])).toEqual([
      [expiryAuditEventId(fixture.connectorId, sha256, 14), 'connector.certificate_expiring', fixture.org.id],
      [expiryAuditEventId(fixture.connectorId, sha256, 7), 'connector.certificate_expiring', fixture.org.id],
      [
        expiryAuditEventId(fixture.connectorId, sha256, 'expired'),
        'connector.certificate_expired',
        fixture.org.id,
      ],
    ]);
    expect(notices.map((event) => event.data)).toEqual([
      expect.objectContaining({ threshold: 14, daysLeft: 10, notified: 1, sha256 }),
      expect.objectContaining({ threshold: 7, daysLeft: 6, notified: 1, sha256 }),
      expect.objectContaining({ threshold: 'expired', daysLeft: -1, notified: 1, sha256 }),
    ]);
    expect(mailbox.to(admin).map((email) => email.subject)).toEqual([
      'Single sign-on certificate expires in 10 days: Okta',
      'Single sign-on certificate expires in 6 days: Okta',
      'Single sign-on certificate expired: Okta',
    ]);
    expect(new Set(mailbox.to(admin).map((email) => email.messageId)).size).toBe(3);
    expect(mailbox.to(employee)).toEqual([]);
  });

  it('says nothing about a certificate with more than 30 days left', async () => {
    const fixture = await samlConnection({
      entityId: TEST_IDP.entityId,
      ssoUrl: TEST_IDP.ssoUrl,
      certificates: [testIdpKey().certificatePem],
    });
    const admin = await member(fixture, 'quiet-admin', testIdpKey());
    await runCheck();
    expect(
      await stack.services.c.auditEvents.countDocuments({
        subjectId: fixture.connectorId,
        type: /^connector\.certificate_expir/,
      }),
    ).toBe(0);
    // 340 days on, the year-long certificate is inside its 30 days.
    clockOffsetMs = 340 * DAY;
    await runCheck();
    await deliveriesSettled();
    expect(mailbox.to(admin).map((email) => email.subject)).toEqual([
      expect.stringMatching(/^Single sign-on certificate expires in 2\d days: Okta$/),
    ]);
  });
});

describe('connections from a metadata URL follow the IdP certificate rotation', () => {
  it('adds a newly listed certificate, keeps the old one while it is listed, drops it once it is not', async () => {
    const [a, b] = [testIdpKey(), testIdpKey('rotated')];
    served = { keys: [a] };
    const fixture = await samlConnection({ metadataUrl });
    const fingerprints = async () =>
      (await certificatesOf(fixture.org, fixture.connectorId)).map((certificate) => certificate.sha256);
    expect(await fingerprints()).toEqual([sha256Of(a)]);

    // The IdP publishes its next certificate beside the current one: both are trusted.
    served = { keys: [a, b] };
    await runCheck();
    expect(await fingerprints()).toEqual([sha256Of(a), sha256Of(b)]);
    await member(fixture, 'signs-with-old', a);
    await member(fixture, 'signs-with-new', b);
    const refreshed = await stack.services.c.auditEvents
      .find({ subjectId: fixture.connectorId, type: 'connector.certificates_refreshed' })
      .toArray();
    expect(refreshed.map((event) => event.data)).toEqual([
      { connectorId: fixture.connectorId, added: [sha256Of(b)], removed: [] },
    ]);

    // An unreadable document, or one describing another IdP, changes nothing.
    served = 'error';
    expect((await runCheck()).refreshFailures).toBeGreaterThanOrEqual(1);
    served = { keys: [testIdpKey('someone-else')], entityId: 'https://other-idp.example.test' };
    await runCheck();
    expect(await fingerprints()).toEqual([sha256Of(a), sha256Of(b)]);

    // The IdP stops listing the old one: it is no longer trusted.
    served = { keys: [b] };
    await runCheck();
    expect(await fingerprints()).toEqual([sha256Of(b)]);
    await member(fixture, 'still-signs-with-new', b);
    const email = `late-old@${fixture.domain}`;
    const refused = await signIn(stack, fixture, { nameId: email, attributes: { email }, signWith: a });
    expect(refused.status).toBeGreaterThanOrEqual(400);
  });
});

describe('the check run', () => {
  it('goes through every active SAML connection a page at a time, continuing as new', async () => {
    const connections = await stack.services.c.connectors.countDocuments({ type: 'saml', status: 'active' });
    expect(connections).toBeGreaterThanOrEqual(3);
    const client = stack.services.temporal;
    const handle = await client.workflow.start('certificateCheck', {
      taskQueue: stack.config.temporalTaskQueue,
      workflowId: `certificate-check-paged-${Date.now()}`,
      args: [{ pageSize: 1, pagesPerRun: 2 }],
    });
    const totals = (await handle.result()) as CertificateCheckTotals;
    expect(totals).toMatchObject({ connections, failed: 0 });
    const first = await client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
  });
});

describe('the schedule', () => {
  it('is created once by workers starting together, with the configured interval and no overlap', async () => {
    const settings = { taskQueue: `${stack.config.temporalTaskQueue}-replicas`, intervalMs: DAY };
    const client = stack.services.temporal;
    await Promise.all([
      ensureCertificateCheckSchedule(client, settings, stack.services.logger),
      ensureCertificateCheckSchedule(client, settings, stack.services.logger),
      ensureCertificateCheckSchedule(client, settings, stack.services.logger),
    ]);
    const handle = client.schedule.getHandle(certificateCheckScheduleId(settings.taskQueue));
    try {
      const described = await handle.describe();
      expect(described.spec.intervals?.map((interval) => interval.every)).toEqual([DAY]);
      expect(described.policies.overlap).toBe('SKIP');
      expect(described.action).toMatchObject({
        workflowType: 'certificateCheck',
        taskQueue: settings.taskQueue,
      });

      // A new interval in the configuration reaches the existing schedule at the next start.
      await ensureCertificateCheckSchedule(
        client,
        { ...settings, intervalMs: 12 * HOUR },
        stack.services.logger,
      );
      expect((await handle.describe()).spec.intervals?.map((interval) => interval.every)).toEqual([
        12 * HOUR,
      ]);
    } finally {
      await handle.delete();
    }
  });
});
