// Deleting a connection (docs/rules.md, rule 10) on the real servers: the teardown workflow waits
// its grace period (restorable), then removes a few hundred identities in batches (continuing as
// new), keeps every user, mails a one-time setup link (through a real SMTP server) to exactly
// those left with no way in, and deletes the connection; the users then get in with a password.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../security/passwords';
import { connectorTeardownWorkflowId } from '../../workflows/shared';
import { createOrgWithKey } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { startMailbox, type TestMailbox } from '../helpers/mailbox';
import { idpMetadataXml } from '../helpers/samlIdp';
import { createSamlConnection, postConnector, signIn, type SsoFixture } from '../helpers/sso';
import { OPERATOR_TOKEN, startTestStack, type TestStack } from '../helpers/stack';
import {
  getTeardown,
  linkIdentity,
  seedLinkedUsers,
  teardownDone,
  type TeardownView,
} from '../helpers/teardown';
import { eventually } from '../helpers/wait';

const PASSWORD = 'correct horse battery staple';
let dns: TestDnsServer;
let mailbox: TestMailbox;
let stack: TestStack;
let passwordHash: string;

beforeAll(async () => {
  dns = await startDnsServer();
  mailbox = await startMailbox();
  stack = await startTestStack({
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
    SMTP_URL: mailbox.url,
    ALLOWED_RETURN_ORIGINS: 'https://app.example.test',
    // Long enough to restore; removal tests end it early through the operator route.
    CONNECTOR_DELETE_GRACE: '1h',
    TEARDOWN_BATCH_SIZE: '40',
    TEARDOWN_BATCHES_PER_RUN: '3',
  });
  passwordHash = await hashPassword(PASSWORD);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await mailbox?.stop();
  await dns?.stop();
});

const api = (method: string, path: string, token?: string, body?: unknown) =>
  request<Record<string, unknown>>(stack.baseUrl, method, path, {
    ...(token ? { token } : {}),
    ...(body !== undefined ? { body } : {}),
  });

function deleteConnection(fixture: SsoFixture) {
  return request<TeardownView>(
    stack.baseUrl,
    'DELETE',
    `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`,
    { token: fixture.org.key },
  );
}

function expedite(fixture: SsoFixture) {
  return request<TeardownView>(
    stack.baseUrl,
    'POST',
    `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}/teardown/expedite`,
    { token: OPERATOR_TOKEN },
  );
}

const passwordSignIn = (email: string, password = PASSWORD) =>
  api('POST', '/v1/auth/password', undefined, { email, password });

/** The token in the setup link of the last email to `address`. */
function setupTokenIn(text: string): string {
  const token = /password-setup\?token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
  if (!token) throw new Error('no setup link in the email');
  return token;
}

describe('a teardown of a few hundred identities', () => {
  it('keeps every user, guides those left with no way in, and deletes the connection', async () => {
    const a = await createSamlConnection(stack, dns);
    const b = await createSamlConnection(stack, dns);
    // A real SSO user, provisioned just in time (no password).
    const first = await signIn(stack, a, {
      nameId: `alice@${a.domain}`,
      attributes: { email: `alice@${a.domain}`, name: 'Alice' },
    });
    expect(first.status).toBe(303);
    const alice = await stack.services.c.users.findOne({ email: `alice@${a.domain}` });
    expect(alice).not.toBeNull();
    // 300 linked users, half of them with a password.
    const seeded = await seedLinkedUsers(
      stack.services.c,
      { connectorId: a.connectorId, orgId: a.org.id, domain: a.domain },
      300,
      { prefix: 'tda', withPassword: (i) => i % 2 === 0, passwordHash },
    );
    // Bob has no password but keeps a second connection (another organization's): that link stays.
    const [bob] = await seedLinkedUsers(
      stack.services.c,
      { connectorId: a.connectorId, orgId: a.org.id, domain: a.domain },
      1,
      { prefix: 'tdbob', withPassword: () => false, passwordHash },
    );
    await linkIdentity(stack.services.c, { connectorId: b.connectorId, orgId: b.org.id }, bob!);
    // A member of the other organization only: untouched.
    const [carol] = await seedLinkedUsers(
      stack.services.c,
      { connectorId: b.connectorId, orgId: b.org.id, domain: b.domain },
      1,
      { prefix: 'tdcarol', withPassword: () => false, passwordHash },
    );
    const withPassword = seeded.filter((user) => user.hasPassword);
    const withoutPassword = seeded.filter((user) => !user.hasPassword);

    // Enforced: password sign-in is refused until the deletion starts.
    const enforce = await api('PATCH', `/v1/orgs/${a.org.id}/connectors/${a.connectorId}`, a.org.key, {
      enforced: true,
    });
    expect(enforce.status).toBe(200);
    expect((await passwordSignIn(withPassword[0]!.email)).body.code).toBe('sso_required');

    const deleted = await deleteConnection(a);
    expect(deleted.status).toBe(202);
    expect(deleted.body.phase).toBe('waiting');
    expect(Date.parse(deleted.body.deleteAfter) - Date.now()).toBeGreaterThan(50 * 60_000);
    // A second DELETE answers the same teardown.
    const again = await deleteConnection(a);
    expect(again).toMatchObject({ status: 202, body: { id: deleted.body.id } });

    // From now on: no SSO through it, no routing to it, no enforcement (rule 10).
    const read = await api('GET', `/v1/orgs/${a.org.id}/connectors/${a.connectorId}`, a.org.key);
    expect(read.body).toMatchObject({
      status: 'deleting',
      teardown: { id: deleted.body.id, phase: 'waiting' },
    });
    const login = await api('GET', `/v1/sso/${a.connectorId}/login?returnTo=https://app.example.test/`);
    expect(login).toMatchObject({ status: 409, body: { code: 'connector_deleting' } });
    expect((await api('POST', '/v1/auth/identify', undefined, { email: `alice@${a.domain}` })).body).toEqual({
      method: 'password',
    });
    expect((await passwordSignIn(withPassword[0]!.email)).status).toBe(200);
    const progress = await stack.services.temporal.workflow
      .getHandle(connectorTeardownWorkflowId(deleted.body.id))
      .query<{ phase: string }>('progress');
    expect(progress.phase).toBe('waiting');

    // The operator ends the grace period; from then on there is no way back.
    const expedited = await expedite(a);
    expect(expedited).toMatchObject({ status: 202, body: { id: deleted.body.id, phase: 'removing' } });
    const late = await api('POST', `/v1/orgs/${a.org.id}/connectors/${a.connectorId}/restore`, a.org.key);
    expect(late).toMatchObject({ status: 409, body: { code: 'connector_teardown_started' } });

    const done = await teardownDone(stack, a.org, a.connectorId);
    // Eight batches of 40, three per run: the teardown continued as new twice.
    const runs = await eventually(async () => {
      let count = 0;
      for await (const run of stack.services.temporal.workflow.list({
        query: `WorkflowId = '${connectorTeardownWorkflowId(deleted.body.id)}'`,
      }))
        if (run.type === 'connectorTeardown') count++;
      return count >= 3 ? count : undefined;
    }, 'three runs of the teardown');
    expect(runs).toBe(3);
    // 300 seeded, Alice and Bob; setup links for the 150 without a password, and Alice.
    expect(done).toMatchObject({ processed: 302, total: 302, passwordSetups: 151 });
    const c = stack.services.c;
    expect(await c.ssoIdentities.countDocuments({ connectorId: a.connectorId as never })).toBe(0);
    expect(await c.connectors.countDocuments({ _id: a.connectorId as never })).toBe(0);
    expect(await c.connectorDomains.countDocuments({ _id: a.domain })).toBe(0);
    expect(await c.domains.findOne({ domain: a.domain })).toMatchObject({ status: 'verified' });
    expect((await api('GET', `/v1/orgs/${a.org.id}/connectors/${a.connectorId}`, a.org.key)).status).toBe(
      404,
    );
    // Every user and membership is kept.
    const ids = [...seeded.map((user) => user.userId), bob!.userId, alice!._id];
    expect(await c.users.countDocuments({ _id: { $in: ids as never[] } })).toBe(302);
    expect(await c.memberships.countDocuments({ orgId: a.org.id as never })).toBe(302);
    // Only those left with no way in need a password.
    const needing = await c.users
      .find({ _id: { $in: ids as never[] }, needsPasswordSetup: true }, { projection: { _id: 1 } })
      .toArray();
    expect(needing.map((user) => user._id).sort()).toEqual(
      [...withoutPassword.map((user) => user.userId), alice!._id].sort(),
    );
    // Bob's other link and Carol's are untouched.
    expect(await c.ssoIdentities.countDocuments({ userId: bob!.userId as never })).toBe(1);
    expect(await c.ssoIdentities.countDocuments({ userId: carol!.userId as never })).toBe(1);
    expect(await c.users.findOne({ _id: carol!.userId as never })).toMatchObject({
      needsPasswordSetup: false,
    });
    // The audit event: who and how many (IDs and counts only).
    const events = await c.auditEvents
      .find({ type: 'connector.deleted', subjectId: a.connectorId })
      .toArray();
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({
      requestedBy: 'api-key',
      identitiesRemoved: 302,
      usersAffected: 302,
      passwordSetups: 151,
    });

    // One email to each user without a way in, none to anyone else.
    await eventually(
      () =>
        Promise.resolve(
          mailbox.received.filter((m) => m.to[0]?.endsWith(`@${a.domain}`)).length >= 151 ? true : undefined,
        ),
      '151 setup emails',
      90_000,
    );
    for (const user of withoutPassword) expect(mailbox.to(user.email)).toHaveLength(1);
    for (const user of withPassword.slice(0, 20)) expect(mailbox.to(user.email)).toHaveLength(0);
    expect(mailbox.to(bob!.email)).toHaveLength(0);
    expect(mailbox.to(`alice@${a.domain}`)).toHaveLength(1);

    // Alice's next sign-in: identify says password, password says "set one up" and where.
    expect((await api('POST', '/v1/auth/identify', undefined, { email: `alice@${a.domain}` })).body).toEqual({
      method: 'password',
    });
    expect((await passwordSignIn(`alice@${a.domain}`)).body).toMatchObject({
      code: 'password_setup_required',
      setupStart: '/v1/auth/password/setup/start',
    });
    const token = setupTokenIn(mailbox.to(`alice@${a.domain}`)[0]!.text);
    expect(
      (await api('POST', '/v1/auth/password/setup', undefined, { token, password: PASSWORD })).status,
    ).toBe(200);
    const reused = await api('POST', '/v1/auth/password/setup', undefined, {
      token,
      password: 'another password',
    });
    expect(reused).toMatchObject({ status: 400, body: { code: 'setup_token_invalid' } });
    expect((await passwordSignIn(`alice@${a.domain}`)).status).toBe(200);

    // A user who lost the email asks for a fresh link: it replaces the old one.
    const lost = withoutPassword[0]!;
    const oldToken = setupTokenIn(mailbox.to(lost.email)[0]!.text);
    const started = await api('POST', '/v1/auth/password/setup/start', undefined, { email: lost.email });
    expect(started).toMatchObject({ status: 202, body: { status: 'link_sent' } });
    const fresh = setupTokenIn((await mailbox.next(lost.email, 1)).text);
    expect(
      (await api('POST', '/v1/auth/password/setup', undefined, { token: oldToken, password: PASSWORD })).body
        .code,
    ).toBe('setup_token_invalid');
    expect(
      (await api('POST', '/v1/auth/password/setup', undefined, { token: fresh, password: PASSWORD })).status,
    ).toBe(200);
    expect((await passwordSignIn(lost.email)).status).toBe(200);
    // No enumeration: unknown addresses and accounts with a password hear the same, and get nothing.
    for (const email of [`nobody@${a.domain}`, withPassword[1]!.email]) {
      expect(await api('POST', '/v1/auth/password/setup/start', undefined, { email })).toMatchObject({
        status: 202,
        body: { status: 'link_sent' },
      });
    }
    expect(mailbox.to(withPassword[1]!.email)).toHaveLength(0);

    // A new connection for the same domain links the same user again.
    const renewed = await postConnector(stack, a.org, {
      name: 'New IdP',
      domains: [a.domain],
      saml: { metadataXml: idpMetadataXml() },
    });
    expect(renewed.status).toBe(201);
    const second = await signIn(
      stack,
      {
        ...a,
        connectorId: renewed.body.id,
        acsUrl: renewed.body.sp.acsUrl,
        spEntityId: renewed.body.sp.entityId,
      },
      { nameId: `alice@${a.domain}`, attributes: { email: `alice@${a.domain}` } },
    );
    expect(second.status).toBe(303);
    const relinked = await c.ssoIdentities.findOne({ connectorId: renewed.body.id as never });
    expect(relinked?.userId).toBe(alice!._id);
  }, 240_000);
});

describe('restore', () => {
  it('brings the connection back exactly as it was during the grace period', async () => {
    const fixture = await createSamlConnection(stack, dns);
    const users = await seedLinkedUsers(
      stack.services.c,
      { connectorId: fixture.connectorId, orgId: fixture.org.id, domain: fixture.domain },
      50,
      { prefix: 'tdr', withPassword: () => false, passwordHash },
    );
    const before = await api(
      'GET',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}`,
      fixture.org.key,
    );
    const deleted = await deleteConnection(fixture);
    expect(deleted.status).toBe(202);

    const restored = await api(
      'POST',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}/restore`,
      fixture.org.key,
    );
    expect(restored.status).toBe(200);
    expect(restored.body).toEqual(before.body);
    expect(restored.body).toMatchObject({ status: 'active', teardown: null });
    expect(
      await stack.services.c.ssoIdentities.countDocuments({ connectorId: fixture.connectorId as never }),
    ).toBe(50);
    expect(
      await stack.services.c.users.countDocuments({
        _id: { $in: users.map((user) => user.userId) as never[] },
        needsPasswordSetup: false,
      }),
    ).toBe(50);
    const run = stack.services.temporal.workflow.getHandle(connectorTeardownWorkflowId(deleted.body.id));
    expect(await run.result()).toBe('restored');
    // Same entity ID and ACS URL: the IdP side needs no change, and sign-in works at once.
    const signedIn = await signIn(stack, fixture, {
      nameId: `dora@${fixture.domain}`,
      attributes: { email: `dora@${fixture.domain}` },
    });
    expect(signedIn.status).toBe(303);
    expect((await getTeardown(stack, fixture.org, fixture.connectorId)).status).toBe(404);
    // Restoring an active connection changes nothing; a new DELETE is a new teardown.
    const twice = await api(
      'POST',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}/restore`,
      fixture.org.key,
    );
    expect(twice.status).toBe(200);
    const redeleted = await deleteConnection(fixture);
    expect(redeleted.status).toBe(202);
    expect(redeleted.body.id).not.toBe(deleted.body.id);
    // A teardown whose run is gone (the DELETE met a Temporal outage) is restored all the same.
    await stack.services.temporal.workflow
      .getHandle(connectorTeardownWorkflowId(redeleted.body.id))
      .terminate('simulating a run that never started');
    const noRun = await api(
      'POST',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}/restore`,
      fixture.org.key,
    );
    expect(noRun).toMatchObject({ status: 200, body: { status: 'active', teardown: null } });
    expect(
      await stack.services.c.auditEvents.countDocuments({
        type: 'connector.restored',
        subjectId: fixture.connectorId,
      }),
    ).toBe(2);
    expect(
      await stack.services.c.ssoIdentities.countDocuments({ connectorId: fixture.connectorId as never }),
    ).toBe(51);
  }, 120_000);

  it('expedite is for the operator only; the domain is free for a new connection afterwards', async () => {
    const fixture = await createSamlConnection(stack, dns);
    await deleteConnection(fixture);
    const byKey = await request(
      stack.baseUrl,
      'POST',
      `/v1/orgs/${fixture.org.id}/connectors/${fixture.connectorId}/teardown/expedite`,
      { token: fixture.org.key },
    );
    expect(byKey.status).toBe(403);
    const other = await createOrgWithKey(stack.baseUrl);
    const foreign = await request(
      stack.baseUrl,
      'DELETE',
      `/v1/orgs/${other.id}/connectors/${fixture.connectorId}`,
      { token: other.key },
    );
    expect(foreign.status).toBe(404);
    // While it is being deleted, its domain stays tied to it (a restore must find it as it was).
    const blocked = await postConnector(stack, fixture.org, {
      name: 'Replacement',
      domains: [fixture.domain],
      saml: { metadataXml: idpMetadataXml() },
    });
    expect(blocked).toMatchObject({ status: 409, body: { code: 'domain_in_use' } });
    expect((await expedite(fixture)).status).toBe(202);
    await teardownDone(stack, fixture.org, fixture.connectorId);
    const replacement = await postConnector(stack, fixture.org, {
      name: 'Replacement',
      domains: [fixture.domain],
      saml: { metadataXml: idpMetadataXml() },
    });
    expect(replacement.status).toBe(201);
  }, 120_000);
});
