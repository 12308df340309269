// Rule 11 (docs/rules.md): an assertion or token that gives the email more than one distinct
// value is refused, never resolved by picking the first or the last one. Which value mapProfile
// would pick depends on attribute order and on how a library flattens repeats (node-saml keeps
// the last of two Attribute elements with one Name), so a second email is a choice an attacker or
// a misconfigured IdP could steer; refusing leaves the choice to the IdP's admin.
//
// Which sources count: every attribute the mapping lists as an email candidate (case-insensitive,
// as mapProfile matches them), all values of all of them, as normalized addresses (the same
// address spelled in another case is one value). The Entra UPN fallbacks
// (EMAIL_LAST_RESORT_ATTRIBUTES) are a tier of their own, asked only when no regular email
// attribute holds an address: a person's UPN differs from their mailbox often and legitimately.
import {
  EMAIL_LAST_RESORT_ATTRIBUTES,
  type AttributeMapping,
  type AttributeValues,
} from './attributeMapping';
import { normalizeEmail } from './email';
import { DomainError } from './errors';

export interface AmbiguousEmail {
  /** The attribute names (as sent) that carried addresses. */
  names: string[];
  distinctValues: number;
}

/** Several distinct email addresses among the mapped email attributes, or undefined. */
export function ambiguousEmail(
  attributes: AttributeValues,
  mapping: AttributeMapping,
): AmbiguousEmail | undefined {
  const lastResort = new Set(EMAIL_LAST_RESORT_ATTRIBUTES.map((name) => name.toLowerCase()));
  const candidates = mapping.email.map((name) => name.toLowerCase());
  const tiers = [
    candidates.filter((name) => !lastResort.has(name)),
    candidates.filter((name) => lastResort.has(name)),
  ];
  for (const tier of tiers) {
    const wanted = new Set(tier);
    const names: string[] = [];
    const addresses = new Set<string>();
    for (const [name, value] of Object.entries(attributes)) {
      if (!wanted.has(name.toLowerCase())) continue;
      let carried = false;
      for (const text of Array.isArray(value) ? value : [value]) {
        const normalized = normalizeEmail(text);
        if (normalized instanceof DomainError) continue;
        addresses.add(normalized.email);
        carried = true;
      }
      if (carried) names.push(name);
    }
    if (addresses.size > 1) return { names, distinctValues: addresses.size };
    if (addresses.size === 1) return undefined;
  }
  return undefined;
}
