import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it } from 'vitest';
import { SamlMetadataError, type SamlMetadataErrorCode } from '../../sso/saml/errors';
import { parseIdpMetadata } from '../../sso/saml/idpMetadata';
import { buildSpMetadata } from '../../sso/saml/spMetadata';
import { TEST_IDP, TEST_SP, idpMetadataXml, testIdpKey } from '../helpers/samlIdp';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

function metadataError(xml: string, options?: Parameters<typeof parseIdpMetadata>[1]): SamlMetadataError {
  try {
    parseIdpMetadata(xml, options);
  } catch (error) {
    if (error instanceof SamlMetadataError) return error;
    throw error;
  }
  throw new Error('expected the metadata to be refused');
}

function expectRefused(
  xml: string,
  code: SamlMetadataErrorCode,
  options?: Parameters<typeof parseIdpMetadata>[1],
): void {
  expect(metadataError(xml, options).code).toBe(code);
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

describe('IdP metadata', () => {
  it('reads the entity ID, the Redirect SSO endpoint and the signing certificate', () => {
    const metadata = parseIdpMetadata(idpMetadataXml());

    expect(metadata.entityId).toBe(TEST_IDP.entityId);
    expect(metadata.ssoUrl).toBe(TEST_IDP.ssoUrl);
    expect(metadata.ssoBinding).toBe('HTTP-Redirect');
    expect(metadata.wantAuthnRequestsSigned).toBe(false);
    expect(metadata.certificates).toHaveLength(1);
    expect(metadata.certificates[0]).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(fingerprint(metadata.certificates[0] ?? '')).toBe(fingerprint(testIdpKey().certificatePem));
  });

  it('falls back to the HTTP-POST endpoint when the IdP offers no Redirect binding', () => {
    const metadata = parseIdpMetadata(idpMetadataXml({ bindings: ['HTTP-POST'] }));
    expect(metadata.ssoBinding).toBe('HTTP-POST');
    expect(metadata.ssoUrl).toBe(TEST_IDP.ssoUrl);
  });

  it('keeps every signing certificate, for rotation, without duplicates', () => {
    const current = testIdpKey();
    const next = testIdpKey('next');
    const metadata = parseIdpMetadata(idpMetadataXml({ keys: [current, next, current] }));
    expect(metadata.certificates.map(fingerprint)).toEqual([
      fingerprint(current.certificatePem),
      fingerprint(next.certificatePem),
    ]);
  });

  it('ignores encryption-only keys and keys of other roles', () => {
    const signing = testIdpKey();
    const encryption = testIdpKey('encryption');
    const xml = idpMetadataXml({ keys: [signing] })
      .replace(
        '<md:NameIDFormat>',
        `<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${encryption.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>`,
      )
      .replace(
        '<md:IDPSSODescriptor',
        `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${encryption.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor></md:SPSSODescriptor><md:IDPSSODescriptor`,
      );
    const metadata = parseIdpMetadata(xml);
    expect(metadata.certificates.map(fingerprint)).toEqual([fingerprint(signing.certificatePem)]);
  });

  it('accepts certificates split over several lines, as many IdPs format them', () => {
    const key = testIdpKey();
    const wrapped = key.certificateBase64.replace(/.{64}/g, '$&\n        ');
    const metadata = parseIdpMetadata(idpMetadataXml().replace(key.certificateBase64, wrapped));
    expect(fingerprint(metadata.certificates[0] ?? '')).toBe(fingerprint(key.certificatePem));
  });

  it('reads the single IdP of an EntitiesDescriptor', () => {
    const inner = idpMetadataXml().replace('<?xml version="1.0" encoding="UTF-8"?>', '');
    const xml = `<md:EntitiesDescriptor xmlns:md="${MD}">${inner}</md:EntitiesDescriptor>`;
    expect(parseIdpMetadata(xml).entityId).toBe(TEST_IDP.entityId);
  });

  it('refuses an EntitiesDescriptor with several IdPs', () => {
    const inner = idpMetadataXml().replace('<?xml version="1.0" encoding="UTF-8"?>', '');
    const other = inner.replace(TEST_IDP.entityId, 'https://other-idp.example.test');
    expectRefused(
      `<md:EntitiesDescriptor xmlns:md="${MD}">${inner}${other}</md:EntitiesDescriptor>`,
      'saml_metadata_invalid',
    );
  });

  it('refuses a DOCTYPE', () => {
    const xml = idpMetadataXml().replace(
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<?xml version="1.0"?><!DOCTYPE md:EntityDescriptor>',
    );
    expectRefused(xml, 'saml_doctype_forbidden');
  });

  it('refuses entity declarations (billion laughs, XXE)', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><md:EntityDescriptor xmlns:md="${MD}" entityID="&lol2;"/>`;
    expectRefused(xml, 'saml_doctype_forbidden');
    const xxe = `<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><md:EntityDescriptor xmlns:md="${MD}" entityID="&xxe;"/>`;
    expectRefused(xxe, 'saml_doctype_forbidden');
  });

  it('refuses documents over the size cap', () => {
    const xml = idpMetadataXml().replace(
      '</md:EntityDescriptor>',
      `<!--${'x'.repeat(10_000)}--></md:EntityDescriptor>`,
    );
    expectRefused(xml, 'saml_metadata_too_large', { maxBytes: 8_000 });
  });

  it('refuses XML that is not well-formed or not metadata', () => {
    expectRefused('', 'saml_metadata_invalid');
    expectRefused('not xml at all', 'saml_metadata_invalid');
    expectRefused(idpMetadataXml().replace('</md:IDPSSODescriptor>', ''), 'saml_metadata_invalid');
    expectRefused(`<EntityDescriptor entityID="x"/>`, 'saml_metadata_invalid');
  });

  it('refuses metadata without an IdP descriptor, SSO endpoint or signing certificate', () => {
    expectRefused(
      `<md:EntityDescriptor xmlns:md="${MD}" entityID="https://idp.example.test"/>`,
      'saml_metadata_invalid',
    );
    expectRefused(idpMetadataXml({ bindings: [] }), 'saml_metadata_invalid');
    expectRefused(idpMetadataXml({ keys: [] }), 'saml_metadata_invalid');
  });

  it('refuses a certificate that is not a valid X.509 certificate', () => {
    const key = testIdpKey();
    expectRefused(
      idpMetadataXml().replace(key.certificateBase64, 'bm90IGEgY2VydGlmaWNhdGU='),
      'saml_metadata_invalid',
    );
    expectRefused(idpMetadataXml().replace(key.certificateBase64, 'not*base64'), 'saml_metadata_invalid');
  });

  it('refuses SSO URLs that are not https (except loopback) or not web URLs', () => {
    expectRefused(idpMetadataXml({ ssoUrl: 'http://idp.example.test/sso' }), 'saml_metadata_invalid');
    expectRefused(idpMetadataXml({ ssoUrl: 'javascript:alert(1)' }), 'saml_metadata_invalid');
    expect(parseIdpMetadata(idpMetadataXml({ ssoUrl: 'http://127.0.0.1:8080/sso' })).ssoUrl).toBe(
      'http://127.0.0.1:8080/sso',
    );
    expect(
      parseIdpMetadata(idpMetadataXml({ ssoUrl: 'http://idp.local/sso' }), { insecureHttp: 'allow' }).ssoUrl,
    ).toBe('http://idp.local/sso');
  });

  it('refuses metadata past its validUntil', () => {
    const xml = idpMetadataXml().replace(
      '<md:EntityDescriptor ',
      '<md:EntityDescriptor validUntil="2020-01-01T00:00:00Z" ',
    );
    expectRefused(xml, 'saml_metadata_expired');
  });

  it('never repeats document content in its error messages', () => {
    const error = metadataError(`<md:EntityDescriptor xmlns:md="${MD}" entityID="secret-entity"/>`);
    expect(error.message).not.toContain('secret-entity');
  });
});

describe('SP metadata', () => {
  it('describes the ACS endpoint, unsigned requests and the wish for signed assertions', () => {
    const xml = buildSpMetadata({ spEntityId: TEST_SP.entityId, acsUrl: TEST_SP.acsUrl });
    const doc = new DOMParser().parseFromString(xml, 'text/xml');
    const root = doc.documentElement;
    const descriptor = root.getElementsByTagNameNS(MD, 'SPSSODescriptor').item(0);
    const acs = root.getElementsByTagNameNS(MD, 'AssertionConsumerService').item(0);
    const formats = Array.from(
      { length: root.getElementsByTagNameNS(MD, 'NameIDFormat').length },
      (_, i) => root.getElementsByTagNameNS(MD, 'NameIDFormat').item(i)?.textContent,
    );

    expect(root.getAttribute('entityID')).toBe(TEST_SP.entityId);
    expect(descriptor?.getAttribute('AuthnRequestsSigned')).toBe('false');
    expect(descriptor?.getAttribute('WantAssertionsSigned')).toBe('true');
    expect(acs?.getAttribute('Binding')).toBe('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    expect(acs?.getAttribute('Location')).toBe(TEST_SP.acsUrl);
    expect(formats).toEqual([
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    ]);
    expect(root.getElementsByTagNameNS(DS, 'Signature').length).toBe(0);
    // NameIDFormat elements precede AssertionConsumerService, as the schema orders them.
    expect(xml.lastIndexOf('NameIDFormat>')).toBeLessThan(xml.indexOf('AssertionConsumerService'));
  });

  it('advertises the NameID formats it is given', () => {
    const xml = buildSpMetadata({
      spEntityId: TEST_SP.entityId,
      acsUrl: TEST_SP.acsUrl,
      nameIdFormats: ['urn:x'],
    });
    expect(xml).toContain('<NameIDFormat>urn:x</NameIDFormat>');
  });
});
