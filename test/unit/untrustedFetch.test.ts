import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config';

const DEV = { developmentDefaults: true };
import {
  ResponseTooLargeError,
  UrlUnreachableError,
  fetchUntrustedUrl,
  isAllowedAddress,
  isPublicAddress,
  type UntrustedFetchOptions,
} from '../../security/untrustedFetch';

describe('public addresses', () => {
  it.each([
    '0.0.0.0',
    '0.1.2.3',
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.169.254',
    '224.0.0.1',
    '255.255.255.255',
    '192.0.2.10',
    '198.18.0.1',
    '240.0.0.1',
    '::',
    '::1',
    '::2',
    'fe80::1',
    'fc00::1',
    'fd00:ec2::254',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '64:ff9b::a00:1',
    '2002:a00:1::',
    '2001:db8::1',
    'fec0::1',
    'not an address',
  ])('refuses %s', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['8.8.8.8', '1.1.1.1', '203.0.114.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'accepts %s',
    (address) => {
      expect(isPublicAddress(address)).toBe(true);
    },
  );

  it('also accepts addresses inside the networks the operator allowed, and only those', () => {
    const policy = { httpsOnly: false, allowedNetworks: ['127.0.0.0/8', 'fd00::/8'] };
    expect(isAllowedAddress('127.0.0.1', policy)).toBe(true);
    expect(isAllowedAddress('::ffff:127.0.0.1', policy)).toBe(true);
    expect(isAllowedAddress('fd12::1', policy)).toBe(true);
    expect(isAllowedAddress('10.0.0.1', policy)).toBe(false);
    expect(isAllowedAddress('169.254.169.254', policy)).toBe(false);
    expect(isAllowedAddress('::1', policy)).toBe(false);
  });
});

describe('IDP_FETCH_ALLOWED_NETWORKS', () => {
  it('is empty unless set, and takes CIDR networks', () => {
    expect(loadConfig({}, DEV).idpFetchAllowedNetworks).toEqual([]);
    expect(
      loadConfig({ IDP_FETCH_ALLOWED_NETWORKS: '10.0.0.0/8, ::1/128' }, DEV).idpFetchAllowedNetworks,
    ).toEqual(['10.0.0.0/8', '::1/128']);
  });

  it('refuses what is not a network', () => {
    expect(() => loadConfig({ IDP_FETCH_ALLOWED_NETWORKS: '10.0.0.1' }, DEV)).toThrow(ConfigError);
    expect(() => loadConfig({ IDP_FETCH_ALLOWED_NETWORKS: 'internal.example.com' }, DEV)).toThrow(
      /IDP_FETCH_ALLOWED_NETWORKS/,
    );
  });
});

describe('fetching an untrusted URL', () => {
  let server: Server;
  let port: number;
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.url === '/doc') res.writeHead(200).end('<doc/>');
      else if (req.url === '/redirect') res.writeHead(302, { location: '/doc' }).end();
      else if (req.url === '/big') res.writeHead(200).end('x'.repeat(5000));
      else res.writeHead(500).end('internal detail');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const loopbackAllowed: UntrustedFetchOptions = {
    policy: { httpsOnly: false, allowedNetworks: ['127.0.0.0/8'] },
    timeoutMs: 2_000,
    maxBytes: 1_000,
  };
  const publicOnly: UntrustedFetchOptions = {
    ...loopbackAllowed,
    policy: { httpsOnly: false, allowedNetworks: [] },
  };

  async function failure(url: string, options: UntrustedFetchOptions): Promise<Error> {
    try {
      await fetchUntrustedUrl(url, options);
    } catch (error) {
      return error as Error;
    }
    throw new Error(`expected ${url} to fail`);
  }

  it('reads a document from an allowed address', async () => {
    expect(await fetchUntrustedUrl(`http://127.0.0.1:${port}/doc`, loopbackAllowed)).toBe('<doc/>');
  });

  it('connects to the address it checked, never asking DNS again, and keeps the host name', async () => {
    let lookups = 0;
    const body = await fetchUntrustedUrl(`http://idp.example.test:${port}/doc`, {
      ...loopbackAllowed,
      resolve: (hostname) => {
        lookups += 1;
        expect(hostname).toBe('idp.example.test');
        return Promise.resolve(['127.0.0.1']);
      },
    });
    expect(body).toBe('<doc/>');
    expect(lookups).toBe(1);
    expect(seen.at(-1)?.headers.host).toBe(`idp.example.test:${port}`);
  });

  it('refuses a host name when any of its addresses is not allowed, without connecting', async () => {
    const before = seen.length;
    for (const addresses of [
      ['127.0.0.1'],
      ['8.8.8.8', '127.0.0.1'],
      ['169.254.169.254'],
      ['10.1.2.3'],
      [],
    ]) {
      const error = await failure(`http://idp.example.test:${port}/doc`, {
        ...publicOnly,
        resolve: () => Promise.resolve(addresses),
      });
      expect(error).toBeInstanceOf(UrlUnreachableError);
    }
    expect(seen.length).toBe(before);
  });

  it('fails every unreachable case with one error and one message', async () => {
    const failures = await Promise.all([
      failure(`http://127.0.0.1:${port}/doc`, publicOnly),
      failure('http://127.0.0.1:9/doc', loopbackAllowed),
      failure(`http://127.0.0.1:${port}/error`, loopbackAllowed),
      failure(`http://127.0.0.1:${port}/redirect`, loopbackAllowed),
      failure(`http://idp.example.test:${port}/doc`, {
        ...loopbackAllowed,
        resolve: () =>
          Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })),
      }),
      failure(`http://idp.example.test:${port}/doc`, {
        ...loopbackAllowed,
        timeoutMs: 50,
        resolve: () => new Promise<string[]>(() => undefined),
      }),
      failure(`http://user:secret@127.0.0.1:${port}/doc`, loopbackAllowed),
      failure(`ftp://127.0.0.1:${port}/doc`, loopbackAllowed),
      failure('not a url', loopbackAllowed),
    ]);
    for (const error of failures) {
      expect(error).toBeInstanceOf(UrlUnreachableError);
      expect(error.message).toBe(failures[0]?.message);
    }
  });

  it('takes https only when the policy says so', async () => {
    const error = await failure(`http://127.0.0.1:${port}/doc`, {
      ...loopbackAllowed,
      policy: { httpsOnly: true, allowedNetworks: ['127.0.0.0/8'] },
    });
    expect(error).toBeInstanceOf(UrlUnreachableError);
  });

  it('stops reading past the size limit', async () => {
    expect(await failure(`http://127.0.0.1:${port}/big`, loopbackAllowed)).toBeInstanceOf(
      ResponseTooLargeError,
    );
  });
});
