// Domain names as organizations claim them. One canonical form (lower-case ASCII, IDN as
// punycode, no trailing dot) is what gets stored, compared and put under a unique index, so
// "Bücher.DE.", "bücher.de" and "xn--bcher-kva.de" can never be claimed as three domains.
//
// Public-suffix policy (Public Suffix List via tldts, private section included):
// - a name that IS a public suffix is refused, ICANN (`com`, `co.uk`) or private (`github.io`,
//   `blogspot.com`): nobody owns it as a whole, so no single organization may claim every
//   address beneath it;
// - names BELOW a private suffix (`acme.github.io`) are allowed: the DNS TXT check still proves
//   control of that very name, and that is all a claim grants;
// - subdomains (`eng.example.com`) are allowed and are separate claims from their parent;
// - TLDs not on the list (`.test`, `.example`) follow the list's default rule and are allowed,
//   so development and tests can use RFC 2606 names against their own DNS server; names that can
//   never resolve in public DNS (`localhost`, `invalid`, `local`, `internal`, `arpa`) are refused.
import { parse as parseHost } from 'tldts';
import { DomainError } from './errors';

export type DomainInvalidReason =
  | 'empty'
  | 'invalid_characters'
  | 'invalid_idn'
  | 'ip_address'
  | 'empty_label'
  | 'label_too_long'
  | 'too_long'
  | 'single_label'
  | 'public_suffix'
  | 'reserved';

const REASON_TEXT: Record<DomainInvalidReason, string> = {
  empty: 'The domain is empty',
  invalid_characters: 'The domain contains characters a host name cannot have',
  invalid_idn: 'The internationalized domain name is not valid',
  ip_address: 'An IP address is not a domain',
  empty_label: 'The domain has an empty label (two dots in a row, or a leading dot)',
  label_too_long: 'A label of the domain is longer than 63 characters',
  too_long: 'The domain is longer than 253 characters',
  single_label: 'The domain needs at least two labels, such as example.com',
  public_suffix: 'The domain is a public suffix that no single organization owns',
  reserved: 'The domain is reserved and cannot exist in public DNS',
};

export function domainInvalid(reason: DomainInvalidReason, domain?: string): DomainError {
  return new DomainError(
    'domain_invalid',
    REASON_TEXT[reason],
    domain === undefined ? { reason } : { reason, domain },
  );
}

const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LDH_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
// ASCII is limited to letters, digits, '-' and '.'; anything else ASCII ('@', '/', ':', '%',
// '_', '\\', ...) would make the URL parser below read the input as a URL part instead of a host.
const FORBIDDEN_ASCII = /[^A-Za-z0-9.-]/;
// Invisible and control characters are refused outright rather than silently dropped by IDNA
// mapping, so what the admin sees is what gets claimed.
const INVISIBLE_OR_SPACE = /[\p{C}\p{Z}]/u;
const IPV4_LIKE = /^\d+(?:\.\d+){3}$/;
const NEVER_PUBLIC_TLDS = new Set(['localhost', 'invalid', 'local', 'internal', 'arpa']);

export type HostnameResult =
  { ok: true; hostname: string; labels: string[] } | { ok: false; reason: DomainInvalidReason };

/**
 * Syntax-level conversion shared by domains and email addresses: lower-case ASCII host name
 * with IDN labels in punycode (UTS #46, via the WHATWG URL parser, which is a global and keeps
 * this module free of node I/O), at least two labels, not an IP address.
 */
export function toAsciiHostname(raw: string): HostnameResult {
  const input = raw.trim();
  if (input === '') return { ok: false, reason: 'empty' };
  if (input.includes(':') || input.startsWith('[')) {
    return {
      ok: false,
      reason: parseHost(input, { extractHostname: false }).isIp ? 'ip_address' : 'invalid_characters',
    };
  }
  if (INVISIBLE_OR_SPACE.test(input)) return { ok: false, reason: 'invalid_characters' };
  const asciiPart = input.replace(/\P{ASCII}/gu, '');
  if (FORBIDDEN_ASCII.test(asciiPart)) return { ok: false, reason: 'invalid_characters' };

  let hostname: string;
  try {
    hostname = new URL(`http://${input.normalize('NFC').toLowerCase()}/`).hostname;
  } catch {
    // The parser refuses bad punycode, disallowed code points and numeric names that are not
    // valid IPv4 addresses.
    if (/^[\d.]+$/.test(input)) return { ok: false, reason: 'ip_address' };
    const looksInternational = asciiPart.length !== input.length || /(?:^|\.)xn--/i.test(input);
    return { ok: false, reason: looksInternational ? 'invalid_idn' : 'invalid_characters' };
  }
  // Checked after conversion: the parser rewrites '127.1' and '0x7f.1' to dotted quads.
  if (IPV4_LIKE.test(hostname)) return { ok: false, reason: 'ip_address' };

  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  const labels = name.split('.');
  if (labels.some((label) => label === '')) return { ok: false, reason: 'empty_label' };
  if (labels.some((label) => label.length > MAX_LABEL_LENGTH)) return { ok: false, reason: 'label_too_long' };
  if (name.length > MAX_NAME_LENGTH) return { ok: false, reason: 'too_long' };
  if (!labels.every((label) => LDH_LABEL.test(label))) return { ok: false, reason: 'invalid_characters' };
  if (labels.length < 2) return { ok: false, reason: 'single_label' };
  return { ok: true, hostname: name, labels };
}

/** The canonical form of a domain an organization wants to verify, or why it cannot. */
export function normalizeDomain(raw: string): string | DomainError {
  const host = toAsciiHostname(raw);
  if (!host.ok) return domainInvalid(host.reason);
  const { hostname, labels } = host;
  if (NEVER_PUBLIC_TLDS.has(labels[labels.length - 1] ?? '')) return domainInvalid('reserved', hostname);
  const parsed = parseHost(hostname, { allowPrivateDomains: true, extractHostname: false });
  // tldts finds no registrable domain exactly when the whole name is a public suffix.
  if (parsed.domain === null) return domainInvalid('public_suffix', hostname);
  return hostname;
}
