// Sign-in diagnostics through the real ACS, workflows and database: every SAML sign-in attempt is
// recorded per connection with its outcome, refusals with a hint built from what the IdP sent
// (never a person's data), listed newest first in cursor pages; and rule 11, ambiguous identities
// refused with their own code. OIDC attempts are covered in oidcSignIn.test.ts.
import { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../api/app';
import type { ApiDeps } from '../../api/context';
import { request } from '../helpers/http';
import { testIdpKey } from '../helpers/samlIdp';
import {
  createSamlConnection,
  postAcs,
  responseFor,
  signIn,
  startLogin,
  type SsoFixture,
  startSsoStack,
  type SsoStack,
} from '../helpers/sso';
import type { TestStack } from '../helpers/stack';

let sso: SsoStack;
let stack: TestStack;
let fixture: SsoFixture;

beforeAll(async () => {
  sso = await startSsoStack({ SIGN_IN_WAIT: '5s' });
  ({ stack, fixture } = sso);
});

afterAll(async () => {
  await sso?.stop();
});

interface Attempt {
  id: string;
  connectorId: string;
  protocol: string;
  outcome: 'succeeded' | 'failed';
  path: string | null;
  userId: string | null;
  code: string | null;
  hint: string | null;
  details: Record<string, unknown> | null;
  at: string;
}

const person = (domain: string) => `p${Math.random().toString(36).slice(2, 9)}@${domain}`;

async function attempts(of: SsoFixture, query = '') {
  const res = await request<{ attempts: Attempt[]; nextCursor: string | null }>(
    stack.baseUrl,
    'GET',
    `/v1/orgs/${of.org.id}/connectors/${of.connectorId}/sign-in-attempts${query}`,
    { token: of.org.key },
  );
  expect(res.status).toBe(200);
  return res.body;
}

/** The connection's newest attempt (tests in a file run one after another). */
async function latest(of: SsoFixture = fixture): Promise<Attempt> {
  const [newest] = (await attempts(of, '?limit=1')).attempts;
  expect(newest).toBeDefined();
  return newest as Attempt;
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('refusals carry a hint built from what the IdP sent', () => {
  it('audience: the audience sent and the one expected', async () => {
    const email = person(fixture.domain);
    const res = await signIn(stack, fixture, {
      nameId: email,
      attributes: { email },
      audience: 'https://x.example',
    });
    expect(res).toMatchObject({ status: 400, body: { code: 'saml_audience_mismatch' } });
    expect(await latest()).toMatchObject({
      connectorId: fixture.connectorId,
      protocol: 'saml',
      outcome: 'failed',
      code: 'saml_audience_mismatch',
      path: null,
      userId: null,
      hint: `audience mismatch: the IdP sent "https://x.example", this connection expects "${fixture.spEntityId}" (the SP entity ID)`,
      details: { expectedAudience: fixture.spEntityId, receivedAudiences: ['https://x.example'] },
    });
  });

  it('issuer: the issuer sent and the IdP entity ID expected', async () => {
    const res = await signIn(stack, fixture, { issuer: 'https://other-idp.example/saml' });
    expect(res).toMatchObject({ status: 400, body: { code: 'saml_issuer_mismatch' } });
    const attempt = await latest();
    expect(attempt).toMatchObject({ code: 'saml_issuer_mismatch' });
    expect(attempt.hint).toContain('the IdP sent "https://other-idp.example/saml"');
    expect(attempt.hint).toContain('this connection expects "https://idp.example.test/saml/metadata"');
  });

  it('certificate: the fingerprint of the certificate the connection does not trust', async () => {
    const res = await signIn(stack, fixture, { signWith: testIdpKey('rotated') });
    expect(res).toMatchObject({ status: 400, body: { code: 'saml_signature_invalid' } });
    const attempt = await latest();
    expect(attempt.code).toBe('saml_signature_invalid');
    expect(attempt.hint).toContain(
      `signed with a certificate this connection does not trust (SHA-256 fingerprint ${fingerprint(testIdpKey('rotated').certificatePem)})`,
    );
    expect(attempt.details).toMatchObject({
      trustedCertificatesSha256: [fingerprint(testIdpKey().certificatePem)],
    });
  });

  it('expiry: when the assertion stopped being valid and when it was checked', async () => {
    const notOnOrAfter = new Date(Date.now() - 5 * 60_000);
    const res = await signIn(stack, fixture, {
      issueInstant: new Date(Date.now() - 30 * 60_000),
      notOnOrAfter,
    });
    expect(res).toMatchObject({ status: 400, body: { code: 'saml_assertion_expired' } });
    const attempt = await latest();
    expect(attempt).toMatchObject({
      code: 'saml_assertion_expired',
      details: { notOnOrAfter: notOnOrAfter.toISOString(), clockSkewSeconds: 60 },
    });
    expect(attempt.hint).toContain(`valid until ${notOnOrAfter.toISOString()} (NotOnOrAfter)`);
  });

  it('no email: the attribute names the IdP sent, without their values', async () => {
    const res = await signIn(stack, fixture, {
      nameId: 'opaque-subject-4711',
      nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      attributes: { uid: 'ada.lovelace', displayName: 'Ada Lovelace' },
    });
    expect(res).toMatchObject({ status: 422, body: { code: 'email_missing' } });
    const attempt = await latest();
    expect(attempt).toMatchObject({
      code: 'email_missing',
      details: { attributeNames: ['uid', 'displayName'] },
    });
    expect(attempt.hint).toContain('the IdP sent these attribute names: "uid", "displayName"');
    expect(JSON.stringify(attempt)).not.toMatch(/ada\.lovelace|Ada Lovelace|opaque-subject-4711/);
  });

  it("outside domain: the email's domain and the connection's domains, never the address", async () => {
    const email = person('elsewhere.example');
    const res = await signIn(stack, fixture, { nameId: email, attributes: { email } });
    expect(res).toMatchObject({ status: 403, body: { code: 'email_domain_not_allowed' } });
    const attempt = await latest();
    expect(attempt).toMatchObject({
      code: 'email_domain_not_allowed',
      details: { emailDomain: 'elsewhere.example', allowedDomains: [fixture.domain] },
    });
    expect(JSON.stringify(attempt)).not.toContain(email);
  });

  it('keeps no personal data in any record', async () => {
    const docs = await stack.services.c.signInDiagnostics
      .find({ connectorId: fixture.connectorId as never })
      .toArray();
    expect(docs.length).toBeGreaterThan(5);
    const text = JSON.stringify(docs);
    expect(text).not.toMatch(/p[a-z0-9]{7}@/);
    expect(text).not.toContain('Ada Lovelace');
  });
});

describe('ambiguous identities are refused (rule 11)', () => {
  async function refusedAndNothingCreated(options: Parameters<typeof signIn>[2]) {
    const users = await stack.services.c.users.countDocuments();
    const res = await signIn(stack, fixture, options);
    expect(res).toMatchObject({ status: 422, body: { code: 'sso_ambiguous_identity' } });
    expect(res.sessionToken).toBeUndefined();
    expect(await stack.services.c.users.countDocuments()).toBe(users);
    return latest();
  }

  it('refuses two email attributes with different values in the signed assertion', async () => {
    const [ada, eve] = [person(fixture.domain), person(fixture.domain)];
    const attempt = await refusedAndNothingCreated({
      nameId: ada,
      attributeList: [
        ['email', ada],
        ['email', eve],
      ],
    });
    expect(attempt).toMatchObject({
      code: 'sso_ambiguous_identity',
      details: { ambiguous: { source: 'email', names: ['email'], distinctValues: 2 } },
      hint: 'ambiguous email: the IdP sent 2 different email addresses in "email"; it must send exactly one',
    });
  });

  it('refuses two mapped email attributes that disagree', async () => {
    const [ada, eve] = [person(fixture.domain), person(fixture.domain)];
    const attempt = await refusedAndNothingCreated({ nameId: ada, attributes: { email: ada, mail: eve } });
    expect(attempt.details).toMatchObject({ ambiguous: { names: ['email', 'mail'] } });
  });

  it('refuses an assertion with two NameIDs', async () => {
    const attempt = await refusedAndNothingCreated({
      nameId: person(fixture.domain),
      extraNameIds: [person(fixture.domain)],
    });
    expect(attempt.details).toMatchObject({ ambiguous: { source: 'subject', distinctValues: 2 } });
  });

  it('signs in when the same email is repeated: one value is not ambiguous', async () => {
    const email = person(fixture.domain);
    const res = await signIn(stack, fixture, {
      nameId: email,
      attributeList: [
        ['email', email],
        ['email', email.toUpperCase()],
        ['mail', email],
      ],
    });
    expect(res.status).toBe(303);
  });
});

describe('successes and paging', () => {
  it('records a success with the way the person got in and their user ID', async () => {
    const own = await createSamlConnection(stack, sso.dns);
    const email = person(own.domain);
    const first = await signIn(stack, own, { nameId: email, attributes: { email } });
    expect(first.status).toBe(303);
    const jit = await latest(own);
    expect(jit).toMatchObject({ outcome: 'succeeded', path: 'jit', code: null, hint: null, details: null });
    expect(jit.userId).toMatch(/^usr_/);
    expect(await signIn(stack, own, { nameId: email, attributes: { email } })).toMatchObject({ status: 303 });
    expect(await latest(own)).toMatchObject({ outcome: 'succeeded', path: 'returning', userId: jit.userId });
  });

  it('pages newest first with a cursor, filters by outcome, and hides expired records', async () => {
    const own = await createSamlConnection(stack, sso.dns);
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const email = person(own.domain);
      const fail = i % 2 === 0;
      const res = await signIn(stack, own, {
        nameId: email,
        attributes: { email },
        ...(fail ? { audience: 'https://x.example' } : {}),
      });
      expect(res.status).toBe(fail ? 400 : 303);
      outcomes.push(fail ? 'failed' : 'succeeded');
    }
    const seen: Attempt[] = [];
    let cursor: string | null = null;
    do {
      const page: { attempts: Attempt[]; nextCursor: string | null } = await attempts(
        own,
        `?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.attempts.length).toBeLessThanOrEqual(2);
      seen.push(...page.attempts);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((attempt) => attempt.outcome)).toEqual([...outcomes].reverse());
    expect(new Set(seen.map((attempt) => attempt.id)).size).toBe(5);
    const times = seen.map((attempt) => Date.parse(attempt.at));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const failed = await attempts(own, '?outcome=failed');
    expect(failed.attempts.map((attempt) => attempt.code)).toEqual(Array(3).fill('saml_audience_mismatch'));
    expect((await attempts(own, '?outcome=succeeded')).attempts).toHaveLength(2);

    // FerretDB keeps expired documents (no TTL index): reads must skip them.
    await stack.services.c.signInDiagnostics.updateOne(
      { _id: seen[0]?.id ?? '' },
      { $set: { expiresAt: new Date(Date.now() - 1000) } },
    );
    const fresh = await attempts(own);
    expect(fresh.attempts.map((attempt) => attempt.id)).toEqual(seen.slice(1).map((attempt) => attempt.id));

    const bad = await request(
      stack.baseUrl,
      'GET',
      `/v1/orgs/${own.org.id}/connectors/${own.connectorId}/sign-in-attempts?cursor=not-ours`,
      { token: own.org.key },
    );
    expect(bad).toMatchObject({ status: 400, body: { code: 'validation_failed' } });
  });

  it("shows a connection's attempts only to its own organization", async () => {
    const other = await createSamlConnection(stack, sso.dns);
    const res = await request(
      stack.baseUrl,
      'GET',
      `/v1/orgs/${other.org.id}/connectors/${fixture.connectorId}/sign-in-attempts`,
      { token: other.org.key },
    );
    expect(res).toMatchObject({ status: 404, body: { code: 'not_found' } });
  });
});

describe('recording never changes the answer', () => {
  it('signs in when the diagnostic cannot be written, and logs no personal data', async () => {
    // A real collection over a client that is closed: every write fails as it would with the
    // database gone, while the rest of the sign-in uses the working connection.
    const logLines: string[] = [];
    const closed = new MongoClient(inject('mongoUri'));
    await closed.connect();
    await closed.close();
    const deps: ApiDeps = {
      config: stack.config,
      db: stack.services.mongo.db,
      c: {
        ...stack.services.c,
        signInDiagnostics: closed.db(stack.config.mongodbDb).collection('sign_in_diagnostics'),
      },
      temporal: stack.services.temporal,
      logger: pino(
        { level: 'info' },
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            logLines.push(chunk.toString('utf8'));
            done();
          },
        }),
      ),
      clock: stack.services.clock,
      keys: stack.services.keys,
    };
    const handle = createApp(deps).callback();
    const server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const email = person(fixture.domain);
      const login = await startLogin({ ...stack, baseUrl }, fixture.connectorId);
      const res = await postAcs(
        { ...stack, baseUrl },
        fixture.connectorId,
        {
          SAMLResponse: responseFor(fixture, login, { nameId: email, attributes: { email } }),
          RelayState: login.relayState,
        },
        login.bindingCookie,
      );
      expect(res.status).toBe(303);
      expect(res.sessionToken).toBeDefined();
      expect(logLines.some((line) => line.includes('sign-in diagnostic not recorded'))).toBe(true);
      expect(logLines.join('\n')).not.toContain(email);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
