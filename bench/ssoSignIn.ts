// A whole SAML callback on the real stack: the ACS validates the response, stores the sign-in
// attempt, runs the ssoSignIn workflow on a real worker and Temporal dev server, and starts a
// session. Returning identities and first sign-ins (JIT child workflow) are measured against the
// login redirect, which shares the HTTP stack, node-saml and one MongoDB write but no workflow:
// the difference is what durability through Temporal costs per sign-in.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { loadConfig } from '../config';
import { newDomainDoc } from '../db/domains';
import { newId } from '../db/ids';
import { insertOrg } from '../db/orgs';
import type { DomainId } from '../domain/ids';
import { createLogger } from '../logger';
import { runApi } from '../runtime/runApi';
import { runWorker } from '../runtime/runWorker';
import { openServices } from '../runtime/services';
import { startServers } from '../servers';
import { spUrls } from '../sso/connectorUrls';
import { buildSamlResponse, idpMetadataXml } from '../test/helpers/samlIdp';
import { inputsNeeded, measure, printJsonLine, printTable, ratioNote, type MeasureOptions } from './harness';

const OPTIONS: MeasureOptions = { warmup: 5, iterations: 60, rounds: 4 };
const DOMAIN = 'bench.example.com';
const RETURN_TO = 'https://app.example.test/';

export async function runSsoSignInBench(): Promise<void> {
  const setupStart = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'sso-bench-'));
  const servers = await startServers({ dataDir: join(dir, 'servers'), headless: true });
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      PORT: '0',
      LOG_LEVEL: 'silent',
      ADMIN_TOKEN: 'bench-operator-token',
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      ALLOWED_RETURN_ORIGINS: RETURN_TO,
      // Every sign-in comes from 127.0.0.1 through one connection: limits far above the run's
      // request count keep the limiter's cost in the figures without refusing anything.
      RATE_LIMIT_PER_IP: process.env.RATE_LIMIT_PER_IP ?? '1000000',
      RATE_LIMIT_PER_ACCOUNT: process.env.RATE_LIMIT_PER_ACCOUNT ?? '1000000',
      RATE_LIMIT_PER_CONNECTION: process.env.RATE_LIMIT_PER_CONNECTION ?? '1000000',
    },
    { developmentDefaults: true },
  );
  const services = await openServices(
    config,
    { mongodbUri: servers.mongoUri, temporalAddress: servers.temporalAddress },
    createLogger('silent'),
  );
  const worker = await runWorker(services);
  const api = await runApi(services, 0);
  try {
    // An organization with a verified domain and a SAML connection, set up directly: verification
    // has its own tests, and waiting for it here would only slow the benchmark down.
    const now = new Date();
    const org = await insertOrg(services.c, 'Bench', 'business', now);
    const domain = {
      ...newDomainDoc(newId<DomainId>('dom'), { orgId: org._id, domain: DOMAIN, token: 't' }, now),
    };
    await services.c.domains.insertOne({ ...domain, status: 'verified', verifiedAt: now });
    await services.c.domainClaims.insertOne({
      _id: DOMAIN,
      orgId: org._id,
      domainId: domain._id,
      claimedAt: now,
    });
    const created = await fetch(`${api.url}/v1/orgs/${org._id}/connectors`, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'saml',
        name: 'Bench IdP',
        domains: [DOMAIN],
        saml: { metadataXml: idpMetadataXml() },
      }),
    });
    if (created.status !== 201) throw new Error(`creating the connection answered ${created.status}`);
    const connectorId = ((await created.json()) as { id: string }).id;
    const sp = spUrls(config.publicUrl, connectorId);

    const startLogin = async () => {
      const res = await fetch(
        `${api.url}/v1/sso/${connectorId}/login?returnTo=${encodeURIComponent(RETURN_TO)}`,
        {
          redirect: 'manual',
        },
      );
      const location = new URL(res.headers.get('location') ?? '');
      const request = inflateRawSync(
        Buffer.from(location.searchParams.get('SAMLRequest') ?? '', 'base64'),
      ).toString();
      return {
        requestId: /\sID="([^"]+)"/.exec(request)?.[1] ?? '',
        relayState: location.searchParams.get('RelayState') ?? '',
      };
    };
    const callback = async (email: string) => {
      const login = await startLogin();
      const SAMLResponse = buildSamlResponse({
        inResponseTo: login.requestId,
        destination: sp.acsUrl,
        recipient: sp.acsUrl,
        audience: sp.entityId,
        nameId: email,
        attributes: { email, displayName: 'Bench User', department: 'Performance' },
      });
      return new URLSearchParams({ SAMLResponse, RelayState: login.relayState }).toString();
    };
    const postAcs = async (body: string) => {
      const res = await fetch(`${api.url}/v1/sso/${connectorId}/acs`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'manual',
      });
      await res.arrayBuffer();
      // A refusal would be fast and meaningless: anything but the redirect stops the run.
      if (res.status !== 303) throw new Error(`ACS answered ${res.status}`);
    };

    // Inputs are built before timing: each response answers its own request (single use).
    const count = inputsNeeded(OPTIONS);
    const returning = Array.from({ length: count }, (_, i) => `returning${i}@${DOMAIN}`);
    for (const email of returning) await postAcs(await callback(email));
    const returningBodies = await Promise.all(returning.map(callback));
    const newBodies = await Promise.all(
      Array.from({ length: count }, (_, i) => callback(`new${i}@${DOMAIN}`)),
    );
    const setupMs = performance.now() - setupStart;

    const [jit, back, login] = await measure(
      [
        { name: 'ACS, first sign-in (JIT child workflow)', run: (index) => postAcs(newBodies[index] ?? '') },
        { name: 'ACS, returning identity', run: (index) => postAcs(returningBodies[index] ?? '') },
        {
          name: 'login redirect (no workflow)',
          async run() {
            await startLogin();
          },
        },
      ],
      OPTIONS,
    );
    if (!jit || !back || !login) throw new Error('measure returned too few results');
    printTable(
      `sso-sign-in: one SAML callback at a time through the API, Temporal (${servers.mongoKind === 'mongod' ? 'mongod' : 'FerretDB'}) and a real worker`,
      [jit, back, login],
      [
        ratioNote(back, login),
        ratioNote(jit, login),
        `servers: Temporal dev server (SQLite) and ${servers.mongoKind} on this machine; one worker, one API process`,
        `setup (servers, connection, ${count * 3} logins and signed responses, ${count} first sign-ins) ${(setupMs / 1000).toFixed(1)} s, not timed`,
      ],
    );
    printJsonLine('sso-sign-in', back, login, {
      jit: { ops_per_s: jit.opsPerSecond, p50_ms: jit.p50Ms, p99_ms: jit.p99Ms },
      mongo: servers.mongoKind,
    });
  } finally {
    await api.close();
    await worker.shutdown();
    await services.close();
    await servers.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
