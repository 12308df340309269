// Email addresses as account keys. Every address is reduced to one canonical form before it is
// stored, looked up or compared, because a case or Unicode-composition difference that slipped
// through would create a second account for the same person, or let an IdP link to the wrong one.
//
// Canonical form: trimmed; Unicode NFC; lower case (local part too: RFC 5321 allows
// case-sensitive mailboxes, but no provider we serve uses them, and two accounts differing only
// in case are a support and security hazard); domain as lower-case punycode without trailing dot.
// Deliberately narrow syntax: the RFC 5322 extras (quoted local parts, comments, IP literals)
// are refused, since they only serve to make two strings name one mailbox.
import { DomainError } from './errors';
import { toAsciiHostname, type DomainInvalidReason } from './domainName';

export interface NormalizedEmail {
  /** `${localPart}@${domain}`: the value to store and to put under a unique index. */
  email: string;
  localPart: string;
  /** Lower-case ASCII (punycode) domain, comparable with normalizeDomain's output. */
  domain: string;
}

export type EmailInvalidReason =
  | 'empty'
  | 'too_long'
  | 'missing_at'
  | 'multiple_at'
  | 'forbidden_characters'
  | 'local_part_invalid'
  | 'local_part_too_long'
  | `domain_${DomainInvalidReason}`;

// RFC 5321 §4.5.3.1: 64 octets of local part, 254 for a whole forward-path address.
const MAX_LOCAL_OCTETS = 64;
const MAX_EMAIL_LENGTH = 254;
// Whitespace, controls, invisible format characters, quotes, comments, brackets and the other
// RFC 5322 specials: none may appear anywhere in an address we accept.
const FORBIDDEN = /[\p{C}\p{Z}\s"()<>[\]\\,;:]/u;
// RFC 6531 dot-atom: ASCII atext plus any letter, mark or digit from other scripts.
const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~\p{L}\p{M}\p{N}-]+$/u;

const utf8 = new TextEncoder();

function invalid(reason: EmailInvalidReason): DomainError {
  // The address itself is not echoed: it is personal data and would end up in logs.
  return new DomainError('email_invalid', undefined, { reason });
}

export function normalizeEmail(raw: string): NormalizedEmail | DomainError {
  const trimmed = raw.trim();
  if (trimmed === '') return invalid('empty');
  if (FORBIDDEN.test(trimmed)) return invalid('forbidden_characters');
  // NFC again after lower-casing: a few letters (e.g. U+0130 'İ') lower-case to a sequence
  // that must be recomposed to compare equal to the same text typed another way.
  const text = trimmed.normalize('NFC').toLowerCase().normalize('NFC');

  const parts = text.split('@');
  if (parts.length < 2) return invalid('missing_at');
  if (parts.length > 2) return invalid('multiple_at');
  const [localPart = '', domainPart = ''] = parts;

  if (localPart === '' || !localPart.split('.').every((atom) => ATOM.test(atom))) {
    return invalid('local_part_invalid');
  }
  if (utf8.encode(localPart).length > MAX_LOCAL_OCTETS) return invalid('local_part_too_long');

  const host = toAsciiHostname(domainPart);
  if (!host.ok) return invalid(`domain_${host.reason}`);

  const email = `${localPart}@${host.hostname}`;
  if (email.length > MAX_EMAIL_LENGTH) return invalid('too_long');
  return { email, localPart, domain: host.hostname };
}

/** The canonical domain of an email address, or undefined when it is not a valid address. */
export function emailDomain(email: string): string | undefined {
  const normalized = normalizeEmail(email);
  return normalized instanceof DomainError ? undefined : normalized.domain;
}

/** True when both strings name the same account. */
export function sameEmail(a: string, b: string): boolean {
  const left = normalizeEmail(a);
  const right = normalizeEmail(b);
  return !(left instanceof DomainError) && !(right instanceof DomainError) && left.email === right.email;
}
