import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ATTRIBUTE_MAPPING,
  NAMEID_FORMAT_EMAIL,
  mapProfile,
  mergeAttributeMapping,
  type AttributeValues,
} from '../../domain/attributeMapping';

const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const defaults = mergeAttributeMapping();
const map = (attributes: AttributeValues, nameId?: string, nameIdFormat?: string) =>
  mapProfile(attributes, nameId, nameIdFormat, defaults);

describe('default attribute mapping', () => {
  it('reads Entra ID claim URIs', () => {
    const result = map({
      [`${CLAIMS}/emailaddress`]: 'Ada@Contoso.com',
      [`${CLAIMS}/name`]: 'ada@contoso.onmicrosoft.com',
      [`${CLAIMS}/givenname`]: 'Ada',
      [`${CLAIMS}/surname`]: 'Lovelace',
      'http://schemas.microsoft.com/identity/claims/displayname': 'Ada Lovelace (Eng)',
      'http://schemas.microsoft.com/identity/claims/tenantid': 'tenant-1',
    });
    expect(result.email).toBe('ada@contoso.com');
    expect(result.name).toBe('Ada Lovelace (Eng)');
    expect(result.profile).toEqual({
      [`${CLAIMS}/name`]: 'ada@contoso.onmicrosoft.com',
      [`${CLAIMS}/givenname`]: 'Ada',
      [`${CLAIMS}/surname`]: 'Lovelace',
      'http://schemas.microsoft.com/identity/claims/tenantid': 'tenant-1',
    });
  });

  it('falls back to the Entra UPN when the user has no mailbox', () => {
    const result = map({ [`${CLAIMS}/name`]: 'Ada@Contoso.com', [`${CLAIMS}/givenname`]: 'Ada' });
    expect(result.email).toBe('ada@contoso.com');
    expect(result.name).toBe('Ada');
  });

  it('reads the plain names Okta and Google Workspace admins use, in any letter case', () => {
    const result = map({
      Email: 'grace@example.com',
      FirstName: 'Grace',
      LastName: 'Hopper',
      department: 'Navy',
    });
    expect(result).toEqual({
      email: 'grace@example.com',
      name: 'Grace Hopper',
      profile: { department: 'Navy' },
    });
  });

  it('reads LDAP-style names such as mail, givenName and sn', () => {
    expect(map({ mail: 'k@example.com', givenName: 'Katherine', sn: 'Johnson' })).toMatchObject({
      email: 'k@example.com',
      name: 'Katherine Johnson',
    });
  });

  it('reads urn:oid attribute names', () => {
    const result = map({
      'urn:oid:0.9.2342.19200300.100.1.3': 'alan@example.com',
      'urn:oid:2.5.4.42': 'Alan',
      'urn:oid:2.5.4.4': 'Turing',
      'urn:oid:2.16.840.1.113730.3.1.241': 'Alan M. Turing',
    });
    expect(result.email).toBe('alan@example.com');
    expect(result.name).toBe('Alan M. Turing');
    expect(result.profile).toEqual({ 'urn:oid:2.5.4.42': 'Alan', 'urn:oid:2.5.4.4': 'Turing' });
  });

  it('reads standard OIDC claims', () => {
    const result = map({
      email: 'Linus@Example.com',
      name: 'Linus T.',
      given_name: 'Linus',
      picture: 'https://cdn.example.com/l.png',
      sub: 'abc',
    });
    expect(result).toEqual({
      email: 'linus@example.com',
      name: 'Linus T.',
      avatarUrl: 'https://cdn.example.com/l.png',
      profile: { given_name: 'Linus', sub: 'abc' },
    });
  });

  it('prefers an exact attribute name over a differently cased one', () => {
    expect(map({ EMAIL: 'upper@example.com', email: 'exact@example.com' }).email).toBe('exact@example.com');
  });
});

describe('email from the IdP', () => {
  it('takes the first valid value of a multi-valued attribute', () => {
    const result = map({ mail: ['not an email', 'second@example.com'] });
    expect(result.email).toBe('second@example.com');
    expect(result.profile).toEqual({});
  });

  it('is undefined when no attribute holds a valid address, and the attribute stays in the profile', () => {
    const result = map({ email: 'nope' });
    expect(result.email).toBeUndefined();
    expect(result.profile).toEqual({ email: 'nope' });
  });

  it('uses an emailAddress-format NameID when no attribute provides an email', () => {
    expect(map({}, 'Bob@Example.com', NAMEID_FORMAT_EMAIL).email).toBe('bob@example.com');
  });

  it('ignores a NameID of another format, even if it looks like an email', () => {
    expect(
      map({}, 'bob@example.com', 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent').email,
    ).toBeUndefined();
    expect(map({}, 'bob@example.com', undefined).email).toBeUndefined();
  });

  it('ignores an emailAddress-format NameID that is not an address', () => {
    expect(map({}, 'bob', NAMEID_FORMAT_EMAIL).email).toBeUndefined();
  });

  it('prefers the email attribute over the NameID', () => {
    expect(map({ email: 'attr@example.com' }, 'nameid@example.com', NAMEID_FORMAT_EMAIL).email).toBe(
      'attr@example.com',
    );
  });

  it('treats an email the IdP marks as unverified as absent', () => {
    expect(map({ email: 'eve@example.com', email_verified: 'false' }).email).toBeUndefined();
    expect(map({ email: 'eve@example.com', email_verified: 'true' }).email).toBe('eve@example.com');
  });
});

describe('avatar from the IdP', () => {
  it('accepts only http and https URLs', () => {
    expect(map({ picture: 'http://example.com/a.png' }).avatarUrl).toBe('http://example.com/a.png');
    for (const bad of [
      'javascript:alert(1)',
      'data:image/png;base64,AAAA',
      'file:///etc/passwd',
      '/relative.png',
      'https://user:pw@example.com/a.png',
    ]) {
      const result = map({ picture: bad });
      expect(result.avatarUrl, bad).toBeUndefined();
      expect(result.profile, bad).toEqual({ picture: bad });
    }
  });
});

describe('names from the IdP', () => {
  it('joins given and family name when there is no display name', () => {
    expect(map({ givenName: 'Ada' }).name).toBe('Ada');
    expect(map({ sn: 'Lovelace' }).name).toBe('Lovelace');
  });

  it('strips control characters and collapses whitespace', () => {
    expect(map({ displayName: '  Ada\u0000  Lovelace\n' }).name).toBe('Ada Lovelace');
  });

  it('is undefined when nothing usable was sent', () => {
    expect(map({ displayName: '   ' }).name).toBeUndefined();
  });
});

describe('custom mapping per connection', () => {
  it('puts the connection candidates before the defaults, without duplicates', () => {
    const mapping = mergeAttributeMapping({ email: ['corpMail', 'email'] });
    expect(mapping.email.slice(0, 3)).toEqual(['corpMail', 'email', 'mail']);
    expect(mapping.email.filter((name) => name === 'email')).toHaveLength(1);
    expect(mapping.name).toEqual(DEFAULT_ATTRIBUTE_MAPPING.name);
  });

  it('wins over a default attribute the IdP also sent', () => {
    const mapping = mergeAttributeMapping({ email: ['corpMail'], avatarUrl: ['photoLink'] });
    const result = mapProfile(
      { email: 'default@example.com', corpMail: 'custom@example.com', photoLink: 'https://x.example/p.png' },
      undefined,
      undefined,
      mapping,
    );
    expect(result).toEqual({
      email: 'custom@example.com',
      avatarUrl: 'https://x.example/p.png',
      profile: { email: 'default@example.com' },
    });
  });
});

describe('identity profile', () => {
  it('keeps every other attribute, multi-valued ones included', () => {
    const result = map({ email: 'a@example.com', groups: ['eng', 'admins'], costCenter: '42' });
    expect(result.profile).toEqual({ groups: ['eng', 'admins'], costCenter: '42' });
  });

  it('keeps an attribute named __proto__ as plain data', () => {
    const attributes = JSON.parse('{"__proto__": "x", "email": "a@example.com"}') as AttributeValues;
    const result = map(attributes);
    expect(Object.getPrototypeOf(result.profile)).toBe(Object.prototype);
    expect(Object.keys(result.profile)).toEqual(['__proto__']);
  });
});
