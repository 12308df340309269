import { describe, expect, it } from 'vitest';
import { normalizeDomain, toAsciiHostname, type DomainInvalidReason } from '../../domain/domainName';
import { DomainError } from '../../domain/errors';

function reasonFor(raw: string): DomainInvalidReason | undefined {
  const result = normalizeDomain(raw);
  if (!(result instanceof DomainError)) return undefined;
  expect(result.code).toBe('domain_invalid');
  return result.extensions.reason as DomainInvalidReason;
}

describe('domain normalization', () => {
  it('lower-cases and drops surrounding space and one trailing dot', () => {
    expect(normalizeDomain('  Example.COM. ')).toBe('example.com');
  });

  it('converts internationalized names to punycode, so both spellings are one domain', () => {
    expect(normalizeDomain('Bücher.DE')).toBe('xn--bcher-kva.de');
    expect(normalizeDomain('xn--bcher-kva.de')).toBe('xn--bcher-kva.de');
    expect(normalizeDomain('пример.рф')).toBe('xn--e1afmkfd.xn--p1ai');
  });

  it('treats composed and decomposed Unicode as the same domain', () => {
    expect(normalizeDomain('bu\u0308cher.de')).toBe(normalizeDomain('b\u00fccher.de'));
  });

  it('keeps subdomains as their own names', () => {
    expect(normalizeDomain('eng.example.com')).toBe('eng.example.com');
  });

  it('allows a name below a private suffix such as github.io', () => {
    expect(normalizeDomain('acme.github.io')).toBe('acme.github.io');
  });

  it('allows reserved testing TLDs so development can use its own DNS server', () => {
    expect(normalizeDomain('acme.test')).toBe('acme.test');
    expect(normalizeDomain('acme.example')).toBe('acme.example');
  });

  it('refuses a public suffix such as co.uk', () => {
    expect(reasonFor('co.uk')).toBe('public_suffix');
    expect(reasonFor('gov.uk')).toBe('public_suffix');
  });

  it('refuses a bare top-level domain such as com', () => {
    expect(reasonFor('com')).toBe('single_label');
  });

  it('refuses a private public suffix such as github.io or blogspot.com', () => {
    expect(reasonFor('github.io')).toBe('public_suffix');
    expect(reasonFor('blogspot.com')).toBe('public_suffix');
  });

  it('refuses an internationalized public suffix', () => {
    expect(reasonFor('xn--p1ai')).toBe('single_label');
    expect(reasonFor('рф')).toBe('single_label');
  });

  it('refuses IPv4 addresses, including the short and hex spellings', () => {
    expect(reasonFor('192.168.1.10')).toBe('ip_address');
    expect(reasonFor('127.1')).toBe('ip_address');
    expect(reasonFor('0x7f.0.0.1')).toBe('ip_address');
    expect(reasonFor('999.1.1.1')).toBe('ip_address');
  });

  it('refuses IPv6 addresses, bracketed or not', () => {
    expect(reasonFor('::1')).toBe('ip_address');
    expect(reasonFor('[2001:db8::1]')).toBe('ip_address');
  });

  it('refuses single-label names', () => {
    expect(reasonFor('intranet')).toBe('single_label');
  });

  it('refuses names that can never be verified in public DNS', () => {
    expect(reasonFor('localhost')).toBe('single_label');
    expect(reasonFor('foo.localhost')).toBe('reserved');
    expect(reasonFor('corp.local')).toBe('reserved');
    expect(reasonFor('host.invalid')).toBe('reserved');
  });

  it('refuses labels longer than 63 characters and names longer than 253', () => {
    expect(reasonFor(`${'a'.repeat(64)}.com`)).toBe('label_too_long');
    expect(normalizeDomain(`${'a'.repeat(63)}.com`)).toBe(`${'a'.repeat(63)}.com`);
    const long = `${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.com`;
    expect(reasonFor(long)).toBe('too_long');
  });

  it('refuses empty labels', () => {
    expect(reasonFor('a..example.com')).toBe('empty_label');
    expect(reasonFor('.example.com')).toBe('empty_label');
    expect(reasonFor('example.com..')).toBe('empty_label');
  });

  it('refuses characters a host name cannot have', () => {
    for (const raw of [
      'exa mple.com',
      'foo_bar.com',
      '-foo.com',
      'foo-.com',
      'a/b.com',
      'user@example.com',
      'a%2e.com',
    ]) {
      expect(reasonFor(raw), raw).toBe('invalid_characters');
    }
  });

  it('refuses URLs instead of reading a host out of them', () => {
    expect(reasonFor('https://example.com')).toBe('invalid_characters');
    expect(reasonFor('example.com/path')).toBe('invalid_characters');
  });

  it('refuses invisible characters rather than silently dropping them', () => {
    expect(reasonFor('exa\u200bmple.com')).toBe('invalid_characters');
    expect(reasonFor('exam\u00adple.com')).toBe('invalid_characters');
    expect(reasonFor('example.com\n')).toBe(undefined); // trailing whitespace is trimmed
    expect(reasonFor('exam\nple.com')).toBe('invalid_characters');
  });

  it('refuses malformed punycode', () => {
    expect(reasonFor('xn--zz.com')).toBe('invalid_idn');
  });

  it('refuses the empty string', () => {
    expect(reasonFor('   ')).toBe('empty');
  });

  it('explains the reason in the error', () => {
    const error = normalizeDomain('co.uk');
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).status).toBe(400);
    expect((error as DomainError).message).toMatch(/public suffix/);
  });
});

describe('host name conversion shared with email addresses', () => {
  it('accepts a public suffix as a host, since only claims are restricted', () => {
    expect(toAsciiHostname('co.uk')).toEqual({ ok: true, hostname: 'co.uk', labels: ['co', 'uk'] });
  });
});
