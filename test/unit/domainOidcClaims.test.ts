import { describe, expect, it } from 'vitest';
import { DomainError } from '../../domain/errors';
import { claimsToAttributes, entraIssuer, oidcIdentity, type OidcIdentity } from '../../domain/oidcClaims';

const TENANT = '6f1c2b9a-3d4e-4f50-8a61-72b83c94d0e5';
const OTHER_TENANT = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const OID = '11111111-2222-4333-8444-555555555555';

const entra = { type: 'entra-id' as const, tenantId: TENANT, domains: ['acme.example.com'] };
const generic = { type: 'oidc' as const, tenantId: null, domains: ['acme.example.com'] };

function identity(result: OidcIdentity | DomainError): OidcIdentity {
  if (result instanceof DomainError) throw result;
  return result;
}

const entraToken = (extra: Record<string, unknown> = {}) => ({
  iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
  aud: 'client',
  exp: 2_000_000_000,
  iat: 1_900_000_000,
  nonce: 'n',
  sub: 'pairwise-sub-per-app',
  tid: TENANT,
  oid: OID,
  ...extra,
});

describe('Entra ID claims', () => {
  it('names the person by tenant and object ID, never by email or sub', () => {
    const result = identity(oidcIdentity(entraToken({ email: 'ada@acme.example.com' }), entra));
    expect(result.subject).toBe(`${TENANT}:${OID}`);
  });

  it('refuses a token of another tenant, whatever else it says', () => {
    const result = oidcIdentity(entraToken({ tid: OTHER_TENANT, email: 'ada@acme.example.com' }), entra);
    expect(result).toBeInstanceOf(DomainError);
    expect((result as DomainError).code).toBe('oidc_tenant_mismatch');
  });

  it('compares tenant IDs without regard to case', () => {
    const result = oidcIdentity(entraToken({ tid: TENANT.toUpperCase() }), entra);
    expect(identity(result).subject).toBe(`${TENANT}:${OID}`);
  });

  it('refuses a token without tid or oid', () => {
    const result = oidcIdentity({ ...entraToken(), oid: undefined }, entra);
    expect((result as DomainError).code).toBe('oidc_token_invalid');
  });

  it('takes the email from the email claim', () => {
    const result = identity(
      oidcIdentity(
        entraToken({ email: 'Ada@ACME.example.com', preferred_username: 'other@acme.example.com' }),
        entra,
      ),
    );
    expect(result.mapped.email).toBe('ada@acme.example.com');
    expect(result.mapped.profile.preferred_username).toBe('other@acme.example.com');
  });

  it('falls back to preferred_username only inside a verified domain', () => {
    const inside = identity(oidcIdentity(entraToken({ preferred_username: 'ada@acme.example.com' }), entra));
    expect(inside.mapped.email).toBe('ada@acme.example.com');
    expect(inside.mapped.profile).not.toHaveProperty('preferred_username');

    const outside = identity(
      oidcIdentity(entraToken({ preferred_username: 'ada@elsewhere.example' }), entra),
    );
    expect(outside.mapped.email).toBeUndefined();
    expect(outside.mapped.profile.preferred_username).toBe('ada@elsewhere.example');
  });

  it('does not take a UPN claim as the email', () => {
    const result = identity(oidcIdentity(entraToken({ upn: 'ada@acme.example.com' }), entra));
    expect(result.mapped.email).toBeUndefined();
  });

  it('maps name and picture to the user and keeps every other claim on the profile', () => {
    const result = identity(
      oidcIdentity(
        entraToken({
          email: 'ada@acme.example.com',
          name: 'Ada Lovelace',
          given_name: 'Ada',
          family_name: 'Lovelace',
          picture: 'https://pics.example.com/ada.png',
          roles: ['Admin', 'Reader'],
          groups_overage: { src1: 'x' },
          email_verified: true,
        }),
        entra,
      ),
    );
    expect(result.mapped).toMatchObject({
      email: 'ada@acme.example.com',
      name: 'Ada Lovelace',
      avatarUrl: 'https://pics.example.com/ada.png',
    });
    expect(result.mapped.profile).toEqual({
      sub: 'pairwise-sub-per-app',
      tid: TENANT,
      oid: OID,
      given_name: 'Ada',
      family_name: 'Lovelace',
      roles: ['Admin', 'Reader'],
      groups_overage: '{"src1":"x"}',
      email_verified: 'true',
    });
  });

  it('builds the v2.0 issuer under the configured authority host', () => {
    expect(entraIssuer('https://login.microsoftonline.us/', TENANT.toUpperCase())).toBe(
      `https://login.microsoftonline.us/${TENANT}/v2.0`,
    );
  });
});

describe('generic OIDC claims', () => {
  it('names the person by sub', () => {
    const result = identity(oidcIdentity({ sub: 'abc', email: 'ada@acme.example.com' }, generic));
    expect(result).toMatchObject({ subject: 'abc', mapped: { email: 'ada@acme.example.com' } });
  });

  it('refuses a token without sub', () => {
    expect((oidcIdentity({ email: 'ada@acme.example.com' }, generic) as DomainError).code).toBe(
      'oidc_token_invalid',
    );
  });

  it('never uses preferred_username as the email', () => {
    const result = identity(
      oidcIdentity({ sub: 'abc', preferred_username: 'ada@acme.example.com' }, generic),
    );
    expect(result.mapped.email).toBeUndefined();
  });

  it('treats an email the IdP calls unverified as absent', () => {
    const result = identity(
      oidcIdentity({ sub: 'abc', email: 'ada@acme.example.com', email_verified: false }, generic),
    );
    expect(result.mapped.email).toBeUndefined();
  });

  it('drops token mechanics from the profile', () => {
    expect(
      claimsToAttributes({ iss: 'x', nonce: 'n', exp: 1, at_hash: 'h', hd: 'acme.example.com' }),
    ).toEqual({
      hd: 'acme.example.com',
    });
  });
});
