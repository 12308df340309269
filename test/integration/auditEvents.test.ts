// The audit log through the real API, worker and servers: admin actions and every sign-in outcome
// land as events of the organization concerned, with who acted and on what, never the email or
// what the IdP sent; filters and cursor pages that neither skip nor repeat under new writes. Also
// the one-line summaries of the runs those actions start, read back from Temporal.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuditEvent } from '../../db/audit';
import type { ConnectorId, OrgId } from '../../domain/ids';
import { connectorTeardownWorkflowId } from '../../workflows/shared';
import { request } from '../helpers/http';
import { createSamlConnection, signIn, type SsoFixture, startSsoStack, type SsoStack } from '../helpers/sso';
import type { TestStack } from '../helpers/stack';
import { eventually } from '../helpers/wait';

let sso: SsoStack;
let stack: TestStack;
let fixture: SsoFixture;

beforeAll(async () => {
  sso = await startSsoStack(
    { DOMAIN_VERIFICATION_MAX_INTERVAL: '1s', SIGN_IN_WAIT: '5s' },
    { jit: { enabled: true, defaultRole: 'member' } },
  );
  ({ stack, fixture } = sso);
});

afterAll(async () => {
  await sso?.stop();
});

interface AuditEventView {
  id: string;
  action: string;
  at: string;
  actor: string | null;
  target: { type: string; id: string } | null;
  data: Record<string, unknown>;
}
interface AuditPage {
  events: AuditEventView[];
  nextCursor: string | null;
}

async function auditEvents(orgId: string, key: string, query: Record<string, string> = {}) {
  const res = await request<AuditPage>(
    stack.baseUrl,
    'GET',
    `/v1/orgs/${orgId}/audit-events?${new URLSearchParams(query).toString()}`,
    { token: key },
  );
  expect(res.status).toBe(200);
  return res.body;
}

const person = () => `p${randomUUID().slice(0, 8)}@${fixture.domain}`;

describe('sign-in outcomes', () => {
  it('records a successful SSO sign-in as the user, with no email or IdP attribute', async () => {
    const email = person();
    const res = await signIn(stack, fixture, {
      nameId: `subject-${email}`,
      attributes: { email, displayName: 'Grace Hopper', department: 'Compilers' },
    });
    expect(res.status).toBe(303);
    const user = await stack.services.c.users.findOne({ email });
    const userId = user!._id;

    const page = await auditEvents(fixture.org.id, fixture.org.key, { action: 'sign_in.succeeded' });
    const event = page.events.find((candidate) => candidate.target?.id === userId);
    expect(event).toMatchObject({
      actor: `user:${userId}`,
      target: { type: 'user', id: userId },
      data: { protocol: 'saml', connectorId: fixture.connectorId, userId },
    });
    const everything = JSON.stringify(await auditEvents(fixture.org.id, fixture.org.key, { limit: '200' }));
    for (const secret of [email, email.split('@')[0]!, 'Grace Hopper', 'Compilers', 'subject-'])
      expect(everything).not.toContain(secret);

    // Filter by actor: only what this user did.
    const byActor = await auditEvents(fixture.org.id, fixture.org.key, { actor: `user:${userId}` });
    expect(byActor.events.length).toBeGreaterThan(0);
    expect(byActor.events.every((candidate) => candidate.actor === `user:${userId}`)).toBe(true);
  });

  it('records a refused SSO sign-in with its code against the connection', async () => {
    const res = await signIn(stack, fixture, {
      nameId: 'someone',
      attributes: { email: person() },
      audience: 'https://somebody-else.example.test/sp',
    });
    expect(res.status).toBe(400);
    const page = await auditEvents(fixture.org.id, fixture.org.key, {
      action: 'sign_in.failed',
      target: fixture.connectorId,
    });
    expect(page.events[0]).toMatchObject({
      actor: 'anonymous',
      target: { type: 'connection', id: fixture.connectorId },
      data: { protocol: 'saml', code: 'saml_audience_mismatch', connectorId: fixture.connectorId },
    });
  });

  it('records a refused password sign-in for the organization that verified the domain', async () => {
    const email = person();
    const res = await request(stack.baseUrl, 'POST', '/v1/auth/password', {
      body: { email, password: 'not the password' },
    });
    expect(res.status).toBe(401);
    const page = await auditEvents(fixture.org.id, fixture.org.key, { action: 'sign_in.failed' });
    expect(page.events.some((event) => event.data.protocol === 'password')).toBe(true);
    const event = page.events.find((candidate) => candidate.data.protocol === 'password');
    expect(event).toMatchObject({ actor: 'anonymous', data: { code: 'invalid_credentials' } });
    expect(JSON.stringify(page)).not.toContain(email);
  });
});

describe('filters and pages', () => {
  const OPERATOR = 'test-operator-token';
  const newEventId = () => `evt_${randomUUID().replaceAll('-', '')}`;

  /** A fresh organization whose log holds `count` events at the times `at` gives. */
  async function seededOrg(count: number, at: (index: number) => Date): Promise<OrgId> {
    const org = await request<{ id: string }>(stack.baseUrl, 'POST', '/v1/orgs', {
      token: OPERATOR,
      body: { name: 'Paging org', plan: 'business' },
    });
    expect(org.status).toBe(201);
    const orgId = org.body.id as OrgId;
    for (let index = 0; index < count; index++)
      await recordAuditEvent(
        stack.services.c,
        {
          eventId: newEventId(),
          type: index % 2 ? 'domain.verified' : 'connector.deleted',
          orgId,
          subjectId: `dom_${String(index).padStart(32, '0')}`,
          data: { index },
        },
        at(index),
      );
    return orgId;
  }

  it('walks every event once, newest first, while new events are written between pages', async () => {
    const base = Date.now() - 3_600_000;
    // Groups of five events share a timestamp, so the order within a time rests on the ID.
    const orgId = await seededOrg(23, (index) => new Date(base + Math.floor(index / 5) * 1000));
    const seen: AuditEventView[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: AuditPage = await auditEvents(orgId, OPERATOR, {
        limit: '5',
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.events);
      cursor = page.nextCursor;
      pages += 1;
      // Newer events arrive meanwhile: they sort before the cursor and never show up on later pages.
      await recordAuditEvent(
        stack.services.c,
        { eventId: newEventId(), type: 'domain.verified', orgId, subjectId: null },
        new Date(),
      );
    } while (cursor && pages < 20);
    // The 23 seeded events and the organization's own org.created, never one written meanwhile.
    expect(pages).toBe(5);
    expect(seen).toHaveLength(24);
    expect(seen[0]?.action).toBe('org.created');
    expect(new Set(seen.slice(1).map((event) => event.data.index))).toEqual(
      new Set(Array.from({ length: 23 }, (_, i) => i)),
    );
    const order = seen.map((event) => [Date.parse(event.at), event.id] as const);
    const sorted = [...order].sort(
      ([atA, idA], [atB, idB]) => atB - atA || (idB < idA ? -1 : idB > idA ? 1 : 0),
    );
    expect(order).toEqual(sorted);
  });

  it('filters by action, target and time range', async () => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    const orgId = await seededOrg(10, (index) => new Date(base + index * 60_000));
    const read = (query: Record<string, string>) => auditEvents(orgId, OPERATOR, query);

    const deleted = await read({ action: 'connector.deleted' });
    expect(deleted.events.map((event) => event.data.index)).toEqual([8, 6, 4, 2, 0]);
    const one = await read({ target: `dom_${String(3).padStart(32, '0')}` });
    expect(one.events).toHaveLength(1);
    expect(one.events[0]).toMatchObject({ target: { type: 'domain' }, actor: null, data: { index: 3 } });
    const window = await read({
      from: new Date(base + 2 * 60_000).toISOString(),
      to: new Date(base + 5 * 60_000).toISOString(),
    });
    expect(window.events.map((event) => event.data.index)).toEqual([4, 3, 2]);
    expect(window.nextCursor).toBeNull();
  });

  it("does not show one organization's events to another's key", async () => {
    const page = await auditEvents(fixture.org.id, fixture.org.key, { limit: '200' });
    expect(page.events.every((event) => event.data.index === undefined)).toBe(true);
  });
});

describe('admin actions and run summaries', () => {
  it('records who created the organization, its key, domain and connection', async () => {
    const page = await auditEvents(fixture.org.id, fixture.org.key, { limit: '200' });
    const first = (action: string) => page.events.filter((event) => event.action === action).at(-1);
    expect(first('org.created')).toMatchObject({
      actor: 'operator',
      target: { type: 'organization', id: fixture.org.id },
      data: { plan: 'business' },
    });
    expect(first('api_key.created')).toMatchObject({ actor: 'operator' });
    expect(first('domain.added')).toMatchObject({
      actor: 'api-key',
      target: { type: 'domain' },
      data: { domain: fixture.domain },
    });
    expect(first('domain.verified')).toMatchObject({ actor: null, target: { type: 'domain' } });
    expect(first('connector.created')).toMatchObject({
      actor: 'api-key',
      target: { type: 'connection', id: fixture.connectorId },
      data: { type: 'saml', domains: 1 },
    });
  });

  it('records which fields a connection change touched, never their values', async () => {
    const other = await createSamlConnection(stack, sso.dns);
    const res = await request(
      stack.baseUrl,
      'PATCH',
      `/v1/orgs/${other.org.id}/connectors/${other.connectorId}`,
      {
        token: other.org.key,
        body: { jit: { enabled: false } },
      },
    );
    expect(res.status).toBe(200);
    const page = await auditEvents(other.org.id, other.org.key, { action: 'connector.updated' });
    expect(page.events).toHaveLength(1);
    expect(page.events[0]).toMatchObject({ actor: 'api-key', data: { fields: ['jit'] } });
  });

  it('records who deleted a connection and names the teardown run after the connection and org', async () => {
    const other = await createSamlConnection(stack, sso.dns);
    const deleted = await request<{ id: string }>(
      stack.baseUrl,
      'DELETE',
      `/v1/orgs/${other.org.id}/connectors/${other.connectorId}`,
      { token: other.org.key },
    );
    expect(deleted.status).toBe(202);
    const page = await auditEvents(other.org.id, other.org.key, { action: 'connector.deletion_requested' });
    expect(page.events[0]).toMatchObject({
      actor: 'api-key',
      target: { type: 'connection', id: other.connectorId },
    });
    const teardown = await stack.services.c.teardowns.findOne({ _id: other.connectorId as ConnectorId });
    const description = await stack.services.temporal.workflow
      .getHandle(connectorTeardownWorkflowId(teardown!.teardownId))
      .describe();
    expect(await description.staticSummary()).toBe('teardown of connection Test IdP (Test org)');
  });

  it('names sign-in and verification runs after the connection, domain and org, never the person', async () => {
    const email = person();
    expect((await signIn(stack, fixture, { nameId: email, attributes: { email } })).status).toBe(303);
    const summaries: string[] = [];
    await eventually(async () => {
      summaries.length = 0;
      for await (const info of stack.services.temporal.workflow.list({
        query: `OrgId = '${fixture.org.id}'`,
      })) {
        const summary = await stack.services.temporal.workflow
          .getHandle(info.workflowId, info.runId)
          .describe();
        summaries.push(`${info.type}: ${(await summary.staticSummary()) ?? ''}`);
      }
      return summaries.some((line) => line.startsWith('jitProvisioning')) ? true : undefined;
    }, 'the first sign-in run to be listed');
    expect(summaries).toContain(`domainVerification: verify ${fixture.domain} for org Test org`);
    expect(summaries).toContain(
      'jitProvisioning: first sign-in (JIT) through connection Test IdP (Test org)',
    );
    expect(summaries.join('\n')).not.toContain(email.split('@')[0]!);
  });
});
