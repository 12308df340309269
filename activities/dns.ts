// DNS TXT lookups for domain verification. The outcome splits the way the workflow needs it:
// "the record is not there (yet)" is an answer, returned as found:false so the workflow keeps
// polling on its own schedule; anything that means "we could not ask" (timeout, SERVFAIL,
// refused, unreachable server) throws, so Temporal retries the activity instead of counting a
// broken resolver as a missing record.
import { Resolver } from 'node:dns/promises';

export interface DnsActivityOptions {
  /** `host:port` or `[v6]:port` of the resolvers to ask; empty means the system's resolvers. */
  servers: readonly string[];
  /** Budget for one lookup, retries to the servers included. */
  timeoutMs: number;
}

export type TxtLookupResult =
  { found: true; records: string[][] } | { found: false; reason: 'nxdomain' | 'nodata' };

export type TxtLookup = (name: string) => Promise<TxtLookupResult>;

export interface DnsActivities {
  lookupTxt: TxtLookup;
}

/** A lookup that could not be answered; retryable by nature. `dnsCode` is the resolver's code. */
export class DnsLookupError extends Error {
  override name = 'DnsLookupError';
  constructor(
    readonly dnsCode: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

// c-ares sends each query `tries` times, doubling the wait each time, so two tries take about
// three per-try timeouts. Two tries ride out a single lost UDP datagram.
const TRIES = 2;

export function createDnsActivities({ servers, timeoutMs }: DnsActivityOptions): DnsActivities {
  const serverList = [...servers];
  // Fail at worker start, not at the first lookup, when DNS_SERVERS holds something that is not
  // an IP address with a port.
  newResolver(serverList, timeoutMs);

  // An arrow function, not a method: callers pass `dns.lookupTxt` around on its own.
  const lookupTxt: TxtLookup = async (name) => {
    // A fresh resolver per lookup: c-ares caches answers per resolver, and a "check now" must
    // see a record the admin added a second ago (or removed, for re-verification).
    const resolver = newResolver(serverList, timeoutMs);
    // Hard deadline on top of c-ares's own timeouts, so a lookup never outlives its budget.
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      resolver.cancel();
    }, timeoutMs);
    try {
      const records = await resolver.resolveTxt(name);
      return records.length > 0 ? { found: true, records } : { found: false, reason: 'nodata' };
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOTFOUND') return { found: false, reason: 'nxdomain' };
      if (code === 'ENODATA') return { found: false, reason: 'nodata' };
      throw lookupError(name, timedOut ? 'ETIMEOUT' : code, serverList, timeoutMs, error);
    } finally {
      clearTimeout(deadline);
    }
  };
  return { lookupTxt };
}

function newResolver(servers: string[], timeoutMs: number): Resolver {
  const resolver = new Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / 3)), tries: TRIES });
  if (servers.length > 0) resolver.setServers(servers);
  return resolver;
}

function errorCode(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

const EXPLANATIONS: Record<string, string> = {
  ETIMEOUT: 'timed out',
  ECANCELLED: 'timed out',
  ESERVFAIL: 'failed: the DNS server answered SERVFAIL',
  EREFUSED: 'failed: the DNS server refused the query',
  ECONNREFUSED: 'failed: the DNS server is not reachable (connection refused)',
  EBADRESP: 'failed: the DNS server sent a malformed answer',
  ENOTIMP: 'failed: the DNS server does not implement this query',
  EFORMERR: 'failed: the DNS server could not read the query',
};

function lookupError(
  name: string,
  code: string,
  servers: string[],
  timeoutMs: number,
  cause: unknown,
): DnsLookupError {
  const explanation = EXPLANATIONS[code] ?? `failed (${code})`;
  const where = servers.length > 0 ? servers.join(', ') : 'system resolvers';
  const budget = code === 'ETIMEOUT' || code === 'ECANCELLED' ? ` after ${timeoutMs} ms` : '';
  return new DnsLookupError(code, `DNS TXT lookup for ${name} ${explanation}${budget} (asked ${where})`, {
    cause,
  });
}
