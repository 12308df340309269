// lookupTxt against a real DNS server on a custom port, through node's resolver (c-ares), the
// same path production takes. Needs neither Temporal nor MongoDB.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDnsActivities, DnsLookupError } from '../../activities/dns';
import { startDnsServer, type TestDnsServer } from '../helpers/dnsServer';

const TIMEOUT_MS = 600;

let dns: TestDnsServer;
let lookupTxt: ReturnType<typeof createDnsActivities>['lookupTxt'];
let counter = 0;
// Every test works on its own names, so tests cannot see each other's records.
const uniqueName = () => `_sso-verification.t${++counter}-${Date.now()}.example.com`;

beforeAll(async () => {
  dns = await startDnsServer();
  lookupTxt = createDnsActivities({ servers: [dns.address], timeoutMs: TIMEOUT_MS }).lookupTxt;
});

afterAll(async () => {
  await dns.stop();
});

beforeEach(() => {
  dns.setFailure('none');
});

async function timed<T>(work: Promise<T>): Promise<{ elapsedMs: number; outcome: PromiseSettledResult<T> }> {
  const start = performance.now();
  const [outcome] = await Promise.allSettled([work]);
  return { elapsedMs: performance.now() - start, outcome };
}

function rejection(outcome: PromiseSettledResult<unknown>): unknown {
  if (outcome.status !== 'rejected') throw new Error('expected the lookup to fail');
  return outcome.reason;
}

describe('TXT lookup', () => {
  it('finds a published record', async () => {
    const name = uniqueName();
    dns.setTxt(name, ['sso-verification=abc', 'v=spf1 -all']);
    const result = await lookupTxt(name);
    if (!result.found) throw new Error('expected the records');
    expect(result.records.map((chunks) => chunks.join('')).sort()).toEqual([
      'sso-verification=abc',
      'v=spf1 -all',
    ]);
  });

  it('returns a long record as its 255-octet chunks', async () => {
    const name = uniqueName();
    const value = `sso-verification=${'x'.repeat(400)}`;
    dns.setTxt(name, [value]);
    const result = await lookupTxt(name);
    if (!result.found) throw new Error('expected the record');
    expect(result.records).toHaveLength(1);
    expect(result.records[0]!.map((chunk) => chunk.length)).toEqual([255, 162]);
    expect(result.records[0]!.join('')).toBe(value);
  });

  it('matches names case-insensitively, as DNS does', async () => {
    const name = uniqueName();
    dns.setTxt(name, ['v']);
    expect(await lookupTxt(name.toUpperCase())).toMatchObject({ found: true });
  });

  it('reports an unknown name as not found (NXDOMAIN), not as an error', async () => {
    expect(await lookupTxt(uniqueName())).toEqual({ found: false, reason: 'nxdomain' });
  });

  it('reports a name without TXT records as not found (NODATA)', async () => {
    const name = uniqueName();
    dns.setTxt(name, []);
    expect(await lookupTxt(name)).toEqual({ found: false, reason: 'nodata' });
  });

  it('finds a record added after a first miss: nothing is cached between lookups', async () => {
    const name = uniqueName();
    expect(await lookupTxt(name)).toEqual({ found: false, reason: 'nxdomain' });
    dns.setTxt(name, ['sso-verification=later']);
    expect(await lookupTxt(name)).toEqual({ found: true, records: [['sso-verification=later']] });
  });

  it('stops finding a record once it is removed', async () => {
    const name = uniqueName();
    dns.setTxt(name, ['sso-verification=gone']);
    expect(await lookupTxt(name)).toMatchObject({ found: true });
    dns.removeTxt(name);
    expect(await lookupTxt(name)).toEqual({ found: false, reason: 'nxdomain' });
  });

  it('throws a retryable error on SERVFAIL instead of calling the record missing', async () => {
    const name = uniqueName();
    dns.setTxt(name, ['v']);
    dns.setFailure('servfail');
    const error = rejection((await timed(lookupTxt(name))).outcome);
    expect(error).toBeInstanceOf(DnsLookupError);
    expect((error as DnsLookupError).dnsCode).toBe('ESERVFAIL');
    expect((error as DnsLookupError).message).toMatch(/SERVFAIL/);
  });

  it('throws a retryable error when the server refuses the query', async () => {
    dns.setFailure('refused');
    const error = rejection((await timed(lookupTxt(uniqueName()))).outcome);
    expect(error).toMatchObject({ name: 'DnsLookupError', dnsCode: 'EREFUSED' });
  });

  it('throws after the timeout when the server does not answer', async () => {
    dns.setFailure('drop');
    const { elapsedMs, outcome } = await timed(lookupTxt(uniqueName()));
    const error = rejection(outcome);
    expect(error).toBeInstanceOf(DnsLookupError);
    expect((error as DnsLookupError).message).toMatch(new RegExp(`timed out after ${TIMEOUT_MS} ms`));
    expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.5);
    expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 500);
  });

  it('throws while the server is down and finds the record once it is back', async () => {
    const name = uniqueName();
    dns.setTxt(name, ['sso-verification=back']);
    await dns.stop();
    try {
      const { elapsedMs, outcome } = await timed(lookupTxt(name));
      expect(rejection(outcome)).toBeInstanceOf(DnsLookupError);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 500);
    } finally {
      await dns.restart();
    }
    expect(await lookupTxt(name)).toEqual({ found: true, records: [['sso-verification=back']] });
  });

  it('answers over TCP on the same port as UDP', async () => {
    const name = uniqueName();
    // Far more than 512 octets: c-ares gets a truncated UDP answer and retries over TCP.
    dns.setTxt(
      name,
      Array.from({ length: 12 }, (_, i) => `record-${i}-${'y'.repeat(100)}`),
    );
    const result = await lookupTxt(name);
    if (!result.found) throw new Error('expected the records');
    expect(result.records).toHaveLength(12);
  });
});

describe('DNS activity configuration', () => {
  it('refuses a server that is not an IP address at creation', () => {
    expect(() => createDnsActivities({ servers: ['dns.example.com:53'], timeoutMs: 1000 })).toThrow();
  });
});
