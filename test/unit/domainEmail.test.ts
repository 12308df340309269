import { describe, expect, it } from 'vitest';
import { emailDomain, normalizeEmail, sameEmail, type NormalizedEmail } from '../../domain/email';
import { DomainError } from '../../domain/errors';

function normalized(raw: string): NormalizedEmail {
  const result = normalizeEmail(raw);
  if (result instanceof DomainError)
    throw new Error(`expected ${raw} to be valid: ${String(result.extensions.reason)}`);
  return result;
}

function reasonFor(raw: string): unknown {
  const result = normalizeEmail(raw);
  if (!(result instanceof DomainError)) return undefined;
  expect(result.code).toBe('email_invalid');
  return result.extensions.reason;
}

describe('email normalization', () => {
  it('trims and lower-cases, local part included', () => {
    expect(normalized('  Ada.Lovelace@Example.COM ')).toEqual({
      email: 'ada.lovelace@example.com',
      localPart: 'ada.lovelace',
      domain: 'example.com',
    });
  });

  it('treats differently cased and composed Unicode emails as one', () => {
    const composed = normalized('J\u00d6RG@example.com').email;
    const decomposed = normalized('jo\u0308rg@EXAMPLE.com').email;
    expect(composed).toBe('j\u00f6rg@example.com');
    expect(decomposed).toBe(composed);
    expect(sameEmail('J\u00d6RG@example.com', 'jo\u0308rg@example.com')).toBe(true);
  });

  it('stores an internationalized domain as punycode, so both spellings are one account', () => {
    expect(normalized('ana@Bücher.de').email).toBe('ana@xn--bcher-kva.de');
    expect(normalized('ana@xn--bcher-kva.de').email).toBe('ana@xn--bcher-kva.de');
    expect(normalized('ana@bu\u0308cher.de').domain).toBe('xn--bcher-kva.de');
  });

  it('drops a trailing dot on the domain', () => {
    expect(normalized('ana@example.com.').email).toBe('ana@example.com');
  });

  it('accepts the usual atext characters and plus addressing', () => {
    expect(normalized("o'brien+sso@example.com").localPart).toBe("o'brien+sso");
    expect(normalized('a_b-c.d@sub.example.co.uk').domain).toBe('sub.example.co.uk');
  });

  it('rejects quoted local parts and comments', () => {
    expect(reasonFor('"ada lovelace"@example.com')).toBe('forbidden_characters');
    expect(reasonFor('ada(comment)@example.com')).toBe('forbidden_characters');
    expect(reasonFor('Ada <ada@example.com>')).toBe('forbidden_characters');
  });

  it('rejects whitespace and control characters inside the address', () => {
    expect(reasonFor('ada @example.com')).toBe('forbidden_characters');
    expect(reasonFor('ada\t@example.com')).toBe('forbidden_characters');
    expect(reasonFor('ada\u0000@example.com')).toBe('forbidden_characters');
    expect(reasonFor('ad\u200ba@example.com')).toBe('forbidden_characters');
  });

  it('rejects addresses without exactly one @', () => {
    expect(reasonFor('ada.example.com')).toBe('missing_at');
    expect(reasonFor('ada@lovelace@example.com')).toBe('multiple_at');
  });

  it('rejects malformed local parts', () => {
    expect(reasonFor('@example.com')).toBe('local_part_invalid');
    expect(reasonFor('.ada@example.com')).toBe('local_part_invalid');
    expect(reasonFor('ada.@example.com')).toBe('local_part_invalid');
    expect(reasonFor('ada..lovelace@example.com')).toBe('local_part_invalid');
    expect(reasonFor(`${'a'.repeat(65)}@example.com`)).toBe('local_part_too_long');
  });

  it('rejects IP literals and single-label domains', () => {
    expect(reasonFor('ada@[192.168.0.1]')).toBe('forbidden_characters');
    expect(reasonFor('ada@192.168.0.1')).toBe('domain_ip_address');
    expect(reasonFor('ada@localhost')).toBe('domain_single_label');
    expect(reasonFor('ada@')).toBe('domain_empty');
  });

  it('rejects addresses longer than 254 characters', () => {
    const domain = `${Array.from({ length: 4 }, () => 'd'.repeat(60)).join('.')}.com`;
    expect(reasonFor(`${'a'.repeat(10)}@${domain}`)).toBe('too_long');
  });

  it('does not echo the address in the error', () => {
    const error = normalizeEmail('secret person@example.com') as DomainError;
    expect(JSON.stringify(error.extensions)).not.toContain('secret');
    expect(error.status).toBe(400);
  });
});

describe('email domain', () => {
  it('is the canonical domain of a valid address', () => {
    expect(emailDomain('Ada@Bücher.DE')).toBe('xn--bcher-kva.de');
  });

  it('is undefined for something that is not an address', () => {
    expect(emailDomain('not-an-email')).toBeUndefined();
  });
});
