// Fetching a URL an org admin typed (an IdP metadata URL) from inside our network is a
// server-side request forgery risk: loopback, private and link-local addresses (cloud metadata at
// 169.254.169.254 among them) would answer the worker, and distinct failures would tell the admin
// which internal ports are open. So:
// - the host is resolved once, and every address it resolves to must be public unicast or inside
//   a network the operator allowed (IDP_FETCH_ALLOWED_NETWORKS);
// - the connection goes to exactly those checked addresses (a second DNS answer cannot swap in
//   another: no DNS rebinding), while TLS still verifies the certificate for the host name;
// - redirects are not followed (each hop would need the same checks, and IdPs serve metadata
//   directly);
// - every way of not getting a 2xx answer fails with the same error and message.
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface UntrustedFetchPolicy {
  /** Refuse plain http (production: a document fetched in clear text can be swapped in transit). */
  httpsOnly: boolean;
  /** CIDR networks allowed besides public unicast addresses (an on-premises IdP; tests on 127.0.0.1). */
  allowedNetworks: readonly string[];
}

export interface UntrustedFetchOptions {
  policy: UntrustedFetchPolicy;
  timeoutMs: number;
  maxBytes: number;
  /** Resolves a host name to its addresses; the system resolver (what connections use) by default. */
  resolve?: (hostname: string) => Promise<string[]>;
}

const UNREACHABLE_MESSAGE = 'The URL could not be read';

/** The one failure for every URL that did not answer with a document: no detail, no oracle. */
export class UrlUnreachableError extends Error {
  override readonly name = 'UrlUnreachableError';

  constructor() {
    super(UNREACHABLE_MESSAGE);
  }
}

export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';

  constructor(maxBytes: number) {
    super(`The document is larger than ${maxBytes} bytes`);
  }
}

/** True for "a.b.c.d/n" or "v6::/n". */
export function isCidr(text: string): boolean {
  return ipaddr.isValidCIDR(text);
}

/**
 * Public unicast only: ipaddr.js names every special-purpose range (loopback, private, carrier
 * NAT, link-local, unique local, multicast, reserved, documentation, 6to4, Teredo, NAT64 and the
 * like), and anything with a name is refused. IPv4-mapped IPv6 addresses are judged as the IPv4
 * address they carry; other IPv6 addresses must also be in 2000::/3, the global unicast block.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  if (parsed.range() !== 'unicast') return false;
  return parsed.kind() === 'ipv4' || parsed.match(ipaddr.parseCIDR('2000::/3'));
}

export function isAllowedAddress(address: string, policy: UntrustedFetchPolicy): boolean {
  if (isPublicAddress(address)) return true;
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  return policy.allowedNetworks.some((network) => {
    const cidr = ipaddr.parseCIDR(network);
    return cidr[0].kind() === parsed.kind() && parsed.match(cidr);
  });
}

const systemResolve = async (hostname: string): Promise<string[]> =>
  (await lookup(hostname, { all: true })).map((entry) => entry.address);

/**
 * GETs `url` under `options.policy` and returns the body of a 2xx answer, read up to
 * `options.maxBytes`. Throws {@link UrlUnreachableError} for everything else, except a body over
 * the limit ({@link ResponseTooLargeError}).
 */
export async function fetchUntrustedUrl(url: string, options: UntrustedFetchOptions): Promise<string> {
  return (await requestUntrustedUrl(url, { method: 'GET', headers: METADATA_ACCEPT }, options)).body;
}

export interface UntrustedRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Read and return non-2xx answers too (otherwise they fail as unreachable, unread). */
  errorAnswers?: boolean;
}

export interface UntrustedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends one request under the same rules (checked and pinned addresses, no redirects followed,
 * time and size limits) and returns whatever the server answered, error statuses included: an
 * OAuth token endpoint says why it refused a code in a 400 body. Throws
 * {@link UrlUnreachableError} when there is no answer, {@link ResponseTooLargeError} for a body
 * over the limit.
 */
export async function requestUntrustedUrl(
  url: string,
  init: UntrustedRequest,
  options: UntrustedFetchOptions,
): Promise<UntrustedAnswer> {
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const target = checkedUrl(url, options.policy);
    const addresses = await resolveChecked(target, options, signal);
    return await send(target, addresses, init, options.maxBytes, signal);
  } catch (error) {
    if (error instanceof ResponseTooLargeError) throw error;
    throw new UrlUnreachableError();
  }
}

const METADATA_ACCEPT = { accept: 'application/samlmetadata+xml, application/xml, text/xml' };

function checkedUrl(raw: string, policy: UntrustedFetchPolicy): URL {
  const url = new URL(raw);
  const allowedProtocol = url.protocol === 'https:' || (url.protocol === 'http:' && !policy.httpsOnly);
  if (!allowedProtocol || url.username !== '' || url.password !== '') throw new UrlUnreachableError();
  return url;
}

/** The host's addresses, every one of them allowed; an IP literal is its own address. */
async function resolveChecked(
  url: URL,
  options: UntrustedFetchOptions,
  signal: AbortSignal,
): Promise<string[]> {
  // WHATWG URLs write IPv6 hosts in brackets and normalize IPv4 spellings (0x7f.1, 2130706433).
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const addresses = ipaddr.isValid(host)
    ? [host]
    : await withinSignal((options.resolve ?? systemResolve)(host), signal);
  if (addresses.length === 0 || !addresses.every((address) => isAllowedAddress(address, options.policy)))
    throw new UrlUnreachableError();
  return addresses;
}

/** A resolver that hangs must not outlive the fetch's time limit. */
function withinSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new UrlUnreachableError());
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Hands the connection the addresses already checked instead of asking DNS again. */
function pinnedLookup(addresses: string[]): LookupFunction {
  const entries = addresses.map((address) => ({
    address,
    family: ipaddr.parse(address).kind() === 'ipv6' ? 6 : 4,
  }));
  return (_hostname, lookupOptions, callback) => {
    const matching = entries.filter(
      (entry) => !lookupOptions.family || entry.family === lookupOptions.family,
    );
    const [first] = matching;
    if (!first) {
      callback(Object.assign(new Error('no address of the requested family'), { code: 'ENOTFOUND' }), '', 0);
    } else if (lookupOptions.all) {
      callback(null, matching);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

function send(
  url: URL,
  addresses: string[],
  init: UntrustedRequest,
  maxBytes: number,
  signal: AbortSignal,
): Promise<UntrustedAnswer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method,
        headers: init.headers,
        lookup: pinnedLookup(addresses),
        // A fresh connection per fetch: nothing pooled from another host or an earlier answer.
        agent: false,
        signal,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (!init.errorAnswers && (status < 200 || status > 299)) {
          res.destroy();
          reject(new UrlUnreachableError());
          return;
        }
        readBody(res, maxBytes).then((body) => resolve({ status, headers: headersOf(res), body }), reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

function headersOf(res: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(res.headers)
      .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
      .map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]),
  );
}

async function readBody(res: IncomingMessage, maxBytes: number): Promise<string> {
  if (Number(res.headers['content-length'] ?? '0') > maxBytes) {
    res.destroy();
    throw new ResponseTooLargeError(maxBytes);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res) {
    const buffer = chunk as Buffer;
    total += buffer.byteLength;
    if (total > maxBytes) {
      res.destroy();
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
