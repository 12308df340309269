// Which IdP attributes feed the user's email, name and avatar (docs/rules.md, rules 4 and 6). IdPs
// name the same thing differently: Entra ID and ADFS send WS-Federation claim URIs, Keycloak and
// Shibboleth send urn:oid names, Okta and Google Workspace send whatever the admin typed (usually
// `email`, `firstName`, `lastName`), and OIDC sends its standard claims. The defaults cover them
// all; a connection's own mapping is tried first.
import { DomainError } from './errors';
import { normalizeEmail } from './email';

/** Candidate attribute names per field, in priority order. */
export interface AttributeMapping {
  email: string[];
  name: string[];
  givenName: string[];
  familyName: string[];
  avatarUrl: string[];
}

export type AttributeValues = Record<string, string | string[]>;

const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS_CLAIMS = 'http://schemas.microsoft.com/identity/claims';

export const NAMEID_FORMAT_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/**
 * Last resort for Entra ID users without a mailbox (user.mail is empty, so the emailaddress claim
 * is omitted): their UPN, which Entra sends as `name`/`upn` and which is an address in a domain
 * the tenant verified. It must still fall in the connection's verified domains. A UPN often
 * differs from the mailbox, so it is not a second email (rule 11, domain/identityAmbiguity.ts).
 */
export const EMAIL_LAST_RESORT_ATTRIBUTES: readonly string[] = [`${CLAIMS}/upn`, `${CLAIMS}/name`, 'upn'];

export const DEFAULT_ATTRIBUTE_MAPPING: Readonly<AttributeMapping> = Object.freeze({
  email: [
    'email',
    'mail',
    'emailAddress',
    `${CLAIMS}/emailaddress`,
    'urn:oid:0.9.2342.19200300.100.1.3',
    'urn:oid:1.2.840.113549.1.9.1',
    ...EMAIL_LAST_RESORT_ATTRIBUTES,
  ],
  name: [
    'displayName',
    'name',
    `${MS_CLAIMS}/displayname`,
    'urn:oid:2.16.840.1.113730.3.1.241',
    'cn',
    'urn:oid:2.5.4.3',
  ],
  givenName: ['givenName', 'firstName', 'given_name', `${CLAIMS}/givenname`, 'urn:oid:2.5.4.42'],
  familyName: [
    'sn',
    'surname',
    'lastName',
    'familyName',
    'family_name',
    `${CLAIMS}/surname`,
    'urn:oid:2.5.4.4',
  ],
  avatarUrl: ['picture', 'avatar', 'avatarUrl', 'avatar_url', 'photo', 'photoUrl', 'photo_url'],
});

/** The mapping a connection uses: its own candidates first, then the defaults, without repeats. */
export function mergeAttributeMapping(custom?: Partial<AttributeMapping>): AttributeMapping {
  const merge = (field: keyof AttributeMapping): string[] => [
    ...new Set(
      [...(custom?.[field] ?? []), ...DEFAULT_ATTRIBUTE_MAPPING[field]]
        .map((name) => name.trim())
        .filter(Boolean),
    ),
  ];
  return {
    email: merge('email'),
    name: merge('name'),
    givenName: merge('givenName'),
    familyName: merge('familyName'),
    avatarUrl: merge('avatarUrl'),
  };
}

export interface MappedProfile {
  /** Normalized; undefined when no candidate holds a valid address. */
  email?: string;
  name?: string;
  /** Only absolute http(s) URLs. */
  avatarUrl?: string;
  /** Every attribute not used for the fields above, kept on the SSO identity profile. */
  profile: AttributeValues;
}

const MAX_NAME_LENGTH = 256;
const MAX_URL_LENGTH = 2048;

/**
 * Maps what the IdP sent onto our user fields. Attribute names match exactly first, then
 * case-insensitively: admins type `Email` or `FirstName` in Okta and Google as often as not.
 * An attribute that yields a field is consumed; everything else goes to `profile`.
 */
export function mapProfile(
  attributes: AttributeValues,
  nameId: string | undefined,
  nameIdFormat: string | undefined,
  mapping: AttributeMapping,
): MappedProfile {
  const consumed = new Set<string>();
  const pick = <T>(
    candidates: readonly string[],
    accept: (value: string) => T | undefined,
  ): T | undefined => {
    for (const candidate of candidates) {
      const key = findKey(attributes, candidate);
      if (key === undefined) continue;
      for (const value of valuesOf(attributes[key])) {
        const accepted = accept(value);
        if (accepted !== undefined) {
          consumed.add(key);
          return accepted;
        }
      }
    }
    return undefined;
  };

  let email: string | undefined;
  if (!emailVerifiedIsFalse(attributes)) {
    email = pick(mapping.email, acceptEmail);
    if (email === undefined && nameIdFormat === NAMEID_FORMAT_EMAIL && nameId !== undefined) {
      email = acceptEmail(nameId);
    }
  }

  let name = pick(mapping.name, acceptText);
  if (name === undefined) {
    const given = pick(mapping.givenName, acceptText);
    const family = pick(mapping.familyName, acceptText);
    const joined = [given, family].filter(Boolean).join(' ');
    name = joined === '' ? undefined : acceptText(joined);
  }

  const avatarUrl = pick(mapping.avatarUrl, acceptHttpUrl);

  // fromEntries defines own properties, so an attribute named "__proto__" stays plain data.
  const profile: AttributeValues = Object.fromEntries(
    Object.entries(attributes).filter(([key]) => !consumed.has(key)),
  );
  const mapped: MappedProfile = { profile };
  if (email !== undefined) mapped.email = email;
  if (name !== undefined) mapped.name = name;
  if (avatarUrl !== undefined) mapped.avatarUrl = avatarUrl;
  return mapped;
}

function findKey(attributes: AttributeValues, candidate: string): string | undefined {
  if (Object.hasOwn(attributes, candidate)) return candidate;
  const lower = candidate.toLowerCase();
  return Object.keys(attributes).find((key) => key.toLowerCase() === lower);
}

function valuesOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

// OIDC IdPs may say outright that the address is unproven; such an address must not link an
// existing account, so it is treated as absent.
function emailVerifiedIsFalse(attributes: AttributeValues): boolean {
  const key = findKey(attributes, 'email_verified');
  return (
    key !== undefined && valuesOf(attributes[key]).some((value) => value.trim().toLowerCase() === 'false')
  );
}

function acceptEmail(value: string): string | undefined {
  const normalized = normalizeEmail(value);
  return normalized instanceof DomainError ? undefined : normalized.email;
}

function acceptText(value: string): string | undefined {
  // Control characters would corrupt logs and UIs; runs of whitespace are collapsed so
  // "Ada  Lovelace" and "Ada Lovelace" display alike.
  const text = value
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .normalize('NFC');
  return text === '' ? undefined : text.slice(0, MAX_NAME_LENGTH);
}

function acceptHttpUrl(value: string): string | undefined {
  const text = value.trim();
  if (text.length > MAX_URL_LENGTH || !URL.canParse(text)) return undefined;
  const url = new URL(text);
  // Anything else (javascript:, data:, file:) would turn an avatar into script or a local probe.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  return url.href;
}
