import { describe, expect, it } from 'vitest';
import { mergeAttributeMapping } from '../../domain/attributeMapping';
import { ERRORS } from '../../domain/errors';
import { ambiguousEmail } from '../../domain/identityAmbiguity';
import { oidcIdentity } from '../../domain/oidcClaims';
import { clipText, sanitizeDetails, signInHint } from '../../domain/signInDiagnostics';

describe('sign-in hints for the IT admin', () => {
  it('says which audience the IdP sent and which this connection expects', () => {
    expect(
      signInHint('saml_audience_mismatch', {
        expectedAudience: 'https://y',
        receivedAudiences: ['https://x'],
      }),
    ).toBe(
      'audience mismatch: the IdP sent "https://x", this connection expects "https://y" (the SP entity ID)',
    );
  });

  it('says which issuer the IdP sent and which this connection expects', () => {
    expect(
      signInHint('saml_issuer_mismatch', {
        expectedIssuer: 'https://idp/a',
        receivedIssuer: 'https://idp/b',
      }),
    ).toBe(
      'issuer mismatch: the IdP sent "https://idp/b", this connection expects "https://idp/a" (the IdP entity ID)',
    );
  });

  it('names an untrusted signing certificate by its fingerprint', () => {
    const hint = signInHint('saml_signature_invalid', {
      signingCertificateSha256: 'AA:BB',
      trustedCertificatesSha256: ['CC:DD'],
    });
    expect(hint).toBe(
      "signed with a certificate this connection does not trust (SHA-256 fingerprint AA:BB); this connection trusts CC:DD; update the connection's certificates if the IdP rotated its key",
    );
  });

  it('tells a trusted certificate with a broken signature apart from an untrusted one', () => {
    expect(
      signInHint('saml_signature_invalid', {
        signingCertificateSha256: 'CC:DD',
        trustedCertificatesSha256: ['CC:DD'],
      }),
    ).toContain('it was changed after signing');
  });

  it('gives the validity window of an expired assertion and the time it was checked', () => {
    expect(
      signInHint('saml_assertion_expired', {
        notOnOrAfter: '2026-01-01T10:00:00Z',
        checkedAt: '2026-01-01T10:05:00.000Z',
        clockSkewSeconds: 60,
      }),
    ).toBe(
      "assertion expired: valid until 2026-01-01T10:00:00Z (NotOnOrAfter), checked at 2026-01-01T10:05:00.000Z with 60 s of clock skew allowed; check the IdP's clock, or the response was delayed or replayed",
    );
  });

  it('lists the attribute names the IdP sent when none holds an email', () => {
    expect(signInHint('email_missing', { attributeNames: ['uid', 'cn'] })).toBe(
      `no email attribute; the IdP sent these attribute names: "uid", "cn". Map the one holding the email in the connection's attribute mapping`,
    );
    expect(signInHint('email_missing', {})).toContain('sent no attributes at all');
  });

  it("names the email's domain, never the address, when it is outside the connection's domains", () => {
    expect(
      signInHint('email_domain_not_allowed', { emailDomain: 'gmail.com', allowedDomains: ['acme.com'] }),
    ).toBe(
      `email outside the connection's domains: the IdP sent an address at "gmail.com", this connection's domains are "acme.com"`,
    );
  });

  it('says which attributes disagree for an ambiguous email, and how many values', () => {
    expect(
      signInHint('sso_ambiguous_identity', {
        ambiguous: { source: 'email', names: ['email', 'mail'], distinctValues: 2 },
      }),
    ).toBe(
      'ambiguous email: the IdP sent 2 different email addresses in "email", "mail"; it must send exactly one',
    );
  });

  it("falls back to the error table's title without details", () => {
    expect(signInHint('oidc_state_invalid')).toBe(ERRORS.oidc_state_invalid.title);
    expect(signInHint('saml_audience_mismatch')).toBe(ERRORS.saml_audience_mismatch.title);
  });

  it('quotes what a sender wrote as JSON text, cut to 200 characters without control characters', () => {
    const hint = signInHint('saml_audience_mismatch', {
      expectedAudience: 'https://y',
      receivedAudiences: [`"<script>\n${'x'.repeat(400)}`],
    });
    expect(hint).not.toContain('\n');
    expect(hint).toContain('"\\"<script> xxx');
    expect(clipText('a'.repeat(500))).toHaveLength(200);
    expect(clipText('a\u0000b\u2028c')).toBe('a b c');
  });

  it('keeps only the declared detail fields, clipped', () => {
    const hostile = { receivedIssuer: 'i'.repeat(300), nameId: 'ada@example.com' } as Record<string, unknown>;
    const clean = sanitizeDetails(hostile);
    expect(clean).toEqual({ receivedIssuer: `${'i'.repeat(199)}…` });
  });
});

describe('ambiguous emails (rule 11)', () => {
  const mapping = mergeAttributeMapping();

  it('finds two different addresses in one attribute', () => {
    expect(ambiguousEmail({ email: ['ada@acme.com', 'eve@acme.com'] }, mapping)).toEqual({
      names: ['email'],
      distinctValues: 2,
    });
  });

  it('finds two mapped attributes that disagree', () => {
    expect(
      ambiguousEmail({ email: 'ada@acme.com', 'urn:oid:0.9.2342.19200300.100.1.3': 'eve@acme.com' }, mapping),
    ).toEqual({ names: ['email', 'urn:oid:0.9.2342.19200300.100.1.3'], distinctValues: 2 });
  });

  it('does not count the same address repeated, in any case, as ambiguous', () => {
    expect(ambiguousEmail({ email: ['ada@acme.com', 'Ada@ACME.com'], mail: 'ada@acme.com' }, mapping)).toBe(
      undefined,
    );
  });

  it('does not count an Entra UPN that differs from the mailbox', () => {
    const upn = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';
    expect(ambiguousEmail({ email: 'ada@acme.com', [upn]: 'ada.l@acme.com' }, mapping)).toBe(undefined);
    // Without a mailbox the UPNs are the email, and must agree among themselves.
    expect(ambiguousEmail({ [upn]: 'ada@acme.com', upn: 'eve@acme.com' }, mapping)).toMatchObject({
      distinctValues: 2,
    });
  });

  it('ignores attributes that are not mapped to the email and values that are not addresses', () => {
    expect(
      ambiguousEmail({ email: ['ada@acme.com', 'not an address'], manager: 'eve@acme.com' }, mapping),
    ).toBe(undefined);
  });

  it('refuses an ID token whose email claim lists two addresses, and one with two subjects', () => {
    const options = { type: 'oidc', tenantId: null, domains: ['acme.com'] } as const;
    const twoEmails = oidcIdentity({ sub: 's1', email: ['ada@acme.com', 'eve@acme.com'] }, options);
    expect(twoEmails).toMatchObject({ code: 'sso_ambiguous_identity' });
    const twoSubjects = oidcIdentity({ sub: ['s1', 's2'], email: 'ada@acme.com' }, options);
    expect(twoSubjects).toMatchObject({ code: 'sso_ambiguous_identity' });
    expect(oidcIdentity({ sub: 's1', email: ['ada@acme.com', 'ada@acme.com'] }, options)).toMatchObject({
      subject: 's1',
      mapped: { email: 'ada@acme.com' },
    });
  });
});
