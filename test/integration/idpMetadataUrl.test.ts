// Connections from an IdP metadata URL: the fetch runs as a workflow activity on the worker, with
// time and size limits. By default it reaches public addresses only (no loopback, private or
// link-local ones, whatever the URL says), so the test server on 127.0.0.1 is reached by a stack
// that allows 127.0.0.0/8 explicitly, and a stack with the default refuses it; every failure to
// get a document answers alike.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrgWithKey } from '../helpers/admin';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';
import { request } from '../helpers/http';
import { TEST_IDP, idpMetadataXml } from '../helpers/samlIdp';
import { verifyDomain } from '../helpers/sso';
import { startTestStack, type TestStack } from '../helpers/stack';

let dns: TestDnsServer;
/** Allows 127.0.0.0/8, where the test metadata server listens. */
let stack: TestStack;
/** The default policy: public addresses only. */
let strictStack: TestStack;
let server: Server;
let port: number;
let base: string;
const requestsServed: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requestsServed.push(req.url ?? '');
    if (req.url === '/metadata.xml') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(idpMetadataXml());
    } else if (req.url === '/huge.xml') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(`<x>${'a'.repeat(2 * 1024 * 1024)}</x>`);
    } else if (req.url === '/redirect.xml') {
      res.writeHead(302, { location: '/metadata.xml' }).end();
    } else if (req.url === '/not-metadata.xml') {
      res.writeHead(200, { 'content-type': 'application/xml' }).end('<html/>');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  dns = await startDnsServer();
  const env = {
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
  };
  [stack, strictStack] = await Promise.all([
    startTestStack({ ...env, IDP_FETCH_ALLOWED_NETWORKS: '127.0.0.0/8' }),
    startTestStack(env),
  ]);
});

afterAll(async () => {
  await stack?.stop();
  await strictStack?.stop();
  await dns?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

async function create(metadataUrl: string, on: TestStack = stack) {
  const org = await createOrgWithKey(on.baseUrl);
  const domain = await verifyDomain(on, dns, org);
  return request<{ saml: { entityId: string; ssoUrl: string; metadataUrl: string } }>(
    on.baseUrl,
    'POST',
    `/v1/orgs/${org.id}/connectors`,
    {
      token: org.key,
      body: { type: 'saml', name: 'from url', domains: [domain], saml: { metadataUrl } },
    },
  );
}

describe('IdP metadata from a URL', () => {
  it('reads the IdP settings from the document', async () => {
    const res = await create(`${base}/metadata.xml`);
    expect(res).toMatchObject({
      status: 201,
      body: {
        saml: { entityId: TEST_IDP.entityId, ssoUrl: TEST_IDP.ssoUrl, metadataUrl: `${base}/metadata.xml` },
      },
    });
  });

  it('refuses a document over the size limit', async () => {
    expect(await create(`${base}/huge.xml`)).toMatchObject({
      status: 422,
      body: { code: 'idp_metadata_invalid' },
    });
  });

  it('refuses a document that is not IdP metadata', async () => {
    expect(await create(`${base}/not-metadata.xml`)).toMatchObject({
      status: 422,
      body: { code: 'idp_metadata_invalid' },
    });
  });
});

describe('the metadata fetch cannot be aimed at internal addresses', () => {
  it('refuses loopback, private, link-local and cloud-metadata addresses by default, before connecting', async () => {
    const served = requestsServed.length;
    const refused = await Promise.all(
      [
        `${base}/metadata.xml`,
        `http://localhost:${port}/metadata.xml`,
        `http://[::1]:${port}/metadata.xml`,
        `http://0x7f.1:${port}/metadata.xml`,
        `http://[::ffff:127.0.0.1]:${port}/metadata.xml`,
        'http://10.0.0.1/metadata.xml',
        'http://169.254.169.254/latest/meta-data/',
      ].map((url) => create(url, strictStack)),
    );
    for (const res of refused) expect(res).toMatchObject({ status: 502, body: { code: 'idp_unavailable' } });
    expect(requestsServed.length).toBe(served);
  });

  it('answers every unreachable case with the same code and message (no port scanner)', async () => {
    const answers = await Promise.all([
      create(`${base}/metadata.xml`, strictStack),
      create('http://127.0.0.1:9/metadata.xml'),
      create(`${base}/missing.xml`),
      create(`${base}/redirect.xml`),
    ]);
    // Everything but the request ID (`instance`) must be the same.
    const [first, ...others] = answers.map((res) => {
      const { instance: _instance, ...body } = res.body as Record<string, unknown>;
      return { status: res.status, body };
    });
    expect(first).toMatchObject({ status: 502, body: { code: 'idp_unavailable' } });
    for (const other of others) expect(other).toEqual(first);
  });
});
