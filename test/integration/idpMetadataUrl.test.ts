// Connections from an IdP metadata URL: the fetch runs as a workflow activity on the worker,
// with time and size limits, against a real HTTP server on 127.0.0.1.
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
let stack: TestStack;
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/metadata.xml') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(idpMetadataXml());
    } else if (req.url === '/huge.xml') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(`<x>${'a'.repeat(2 * 1024 * 1024)}</x>`);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dns = await startDnsServer();
  stack = await startTestStack({
    DNS_SERVERS: dns.address,
    DNS_TIMEOUT: '300ms',
    DOMAIN_VERIFICATION_INITIAL_INTERVAL: '200ms',
  });
});

afterAll(async () => {
  await stack?.stop();
  await dns?.stop();
  await new Promise((resolve) => server?.close(resolve));
});

async function create(metadataUrl: string) {
  const org = await createOrgWithKey(stack.baseUrl);
  const domain = await verifyDomain(stack, dns, org);
  return request<{ saml: { entityId: string; ssoUrl: string; metadataUrl: string } }>(
    stack.baseUrl,
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

  it('refuses a URL that answers an error', async () => {
    expect(await create(`${base}/missing.xml`)).toMatchObject({
      status: 422,
      body: { code: 'idp_metadata_invalid' },
    });
  });

  it('refuses a document over the size limit', async () => {
    expect(await create(`${base}/huge.xml`)).toMatchObject({
      status: 422,
      body: { code: 'idp_metadata_invalid' },
    });
  });

  it('reports an unreachable URL as the IdP being unavailable', async () => {
    expect(await create('http://127.0.0.1:9/metadata.xml')).toMatchObject({
      status: 502,
      body: { code: 'idp_unavailable' },
    });
  });
});
