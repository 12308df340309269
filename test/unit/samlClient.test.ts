import { X509Certificate, createHash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { describe, expect, it, vi } from 'vitest';
import { ExclusiveCanonicalization, SignedXml } from 'xml-crypto';
import { SamlValidationError, type SamlValidationErrorCode } from '../../sso/saml/errors';
import { createInMemorySamlRequestStore, type SamlRequestStore } from '../../sso/saml/requestStore';
import { SAML_RESPONSE_MAX_LENGTH } from '../../sso/saml/responseChecks';
import { createSamlClient, type SamlClient, type SamlClientOptions } from '../../sso/saml/samlClient';
import {
  TEST_IDP,
  TEST_SP,
  buildSamlResponse,
  buildSamlResponseXml,
  testIdpKey,
  type SamlResponseOptions,
} from '../helpers/samlIdp';

const CONNECTOR_ID = 'con_test';

function setup(overrides: Partial<SamlClientOptions> = {}): { client: SamlClient; store: SamlRequestStore } {
  const store = overrides.requestStore ?? createInMemorySamlRequestStore();
  const client = createSamlClient({
    connectorId: CONNECTOR_ID,
    spEntityId: TEST_SP.entityId,
    acsUrl: TEST_SP.acsUrl,
    idp: {
      entityId: TEST_IDP.entityId,
      ssoUrl: TEST_IDP.ssoUrl,
      certificates: [testIdpKey().certificatePem],
    },
    clockSkewMs: 30_000,
    requestTtlMs: 10 * 60_000,
    requestStore: store,
    ...overrides,
  });
  return { client, store };
}

/** Starts a sign-in and answers it with a response built from `options`. */
async function answer(
  client: SamlClient,
  options: SamlResponseOptions = {},
): Promise<{ SAMLResponse: string; RelayState: string }> {
  const { requestId } = await client.buildLoginUrl('relay-1');
  return { SAMLResponse: buildSamlResponse({ inResponseTo: requestId, ...options }), RelayState: 'relay-1' };
}

async function refusal(promise: Promise<unknown>): Promise<SamlValidationError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SamlValidationError) return error;
    throw error;
  }
  throw new Error('expected the response to be refused');
}

async function expectRefused(
  promise: Promise<unknown>,
  code: SamlValidationErrorCode,
): Promise<SamlValidationError> {
  const error = await refusal(promise);
  expect(error.code).toBe(code);
  return error;
}

const minutes = (n: number): number => n * 60_000;

describe('SAML login URL', () => {
  it('redirects to the IdP with an AuthnRequest whose ID is remembered for this connection', async () => {
    const store = createInMemorySamlRequestStore();
    const { client } = setup({ requestStore: store });

    const { url, requestId } = await client.buildLoginUrl('state-123');

    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(TEST_IDP.ssoUrl);
    expect(parsed.searchParams.get('RelayState')).toBe('state-123');
    const request = inflateRawSync(
      Buffer.from(parsed.searchParams.get('SAMLRequest') ?? '', 'base64'),
    ).toString('utf8');
    expect(request).toContain(`ID="${requestId}"`);
    expect(request).toContain(`AssertionConsumerServiceURL="${TEST_SP.acsUrl}"`);
    expect(request).toContain(`Destination="${TEST_IDP.ssoUrl}"`);
    expect(request).toContain(`>${TEST_SP.entityId}</saml:Issuer>`);
    expect(request).not.toContain('RequestedAuthnContext');
    expect(await store.consume(requestId, 'con_other')).toBe(false);
    expect(await store.consume(requestId, CONNECTOR_ID)).toBe(true);
  });

  it('uses a fresh request ID for every sign-in', async () => {
    const { client } = setup();
    const first = await client.buildLoginUrl('a');
    const second = await client.buildLoginUrl('a');
    expect(first.requestId).not.toBe(second.requestId);
    expect(first.requestId).toMatch(/^_[0-9a-f]{40}$/);
  });
});

describe('SAML response validation: accepted', () => {
  it('accepts a response with a signed assertion and returns the subject and every attribute', async () => {
    const { client } = setup();
    const { requestId } = await client.buildLoginUrl('relay-1');
    const body = {
      SAMLResponse: buildSamlResponse({
        inResponseTo: requestId,
        nameId: 'ada@example.com',
        sessionIndex: '_session-1',
        attributes: {
          email: 'ada@example.com',
          displayName: 'Ada Lovelace',
          groups: ['engineering', 'admins'],
        },
      }),
      RelayState: 'relay-1',
    };

    const assertion = await client.validatePostResponse(body);

    expect(assertion).toEqual({
      issuer: TEST_IDP.entityId,
      nameId: 'ada@example.com',
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      sessionIndex: '_session-1',
      inResponseTo: requestId,
      attributes: {
        email: 'ada@example.com',
        displayName: 'Ada Lovelace',
        groups: ['engineering', 'admins'],
      },
      signedAttributeValues: {
        email: ['ada@example.com'],
        displayName: ['Ada Lovelace'],
        groups: ['engineering', 'admins'],
      },
      relayState: 'relay-1',
    });
  });

  it('accepts a response whose only signature is on the Response, covering the assertion', async () => {
    const { client } = setup();
    const assertion = await client.validatePostResponse(await answer(client, { sign: 'response' }));
    expect(assertion.nameId).toBe('ada@example.com');
  });

  it('accepts a response signed on both the Response and the assertion', async () => {
    const { client } = setup();
    const assertion = await client.validatePostResponse(await answer(client, { sign: 'both' }));
    expect(assertion.nameId).toBe('ada@example.com');
  });

  it('accepts a signature by any of the connection certificates (rotation)', async () => {
    const { client } = setup({
      idp: {
        entityId: TEST_IDP.entityId,
        ssoUrl: TEST_IDP.ssoUrl,
        certificates: [testIdpKey().certificatePem, testIdpKey('next').certificateBase64],
      },
    });
    const withOld = await client.validatePostResponse(await answer(client));
    const withNew = await client.validatePostResponse(await answer(client, { signWith: testIdpKey('next') }));
    expect(withOld.nameId).toBe('ada@example.com');
    expect(withNew.nameId).toBe('ada@example.com');
  });

  it('tolerates clocks that differ by less than the accepted skew', async () => {
    const { client } = setup({ clockSkewMs: 60_000 });
    const issued = new Date(Date.now() + 20_000);
    const assertion = await client.validatePostResponse(
      await answer(client, {
        issueInstant: issued,
        notBefore: issued,
        notOnOrAfter: new Date(Date.now() - 20_000),
      }),
    );
    expect(assertion.nameId).toBe('ada@example.com');
  });

  it('accepts base64 wrapped over several lines', async () => {
    const { client } = setup();
    const body = await answer(client);
    const wrapped = body.SAMLResponse.replace(/.{76}/g, '$&\r\n');
    const assertion = await client.validatePostResponse({ SAMLResponse: wrapped });
    expect(assertion.nameId).toBe('ada@example.com');
    expect(assertion.relayState).toBeUndefined();
  });
});

describe('SAML response validation: signatures', () => {
  it('refuses an unsigned response', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { sign: 'none' })),
      'saml_signature_invalid',
    );
  });

  it('refuses a response signed by a key that is not the connection certificate', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { signWith: testIdpKey('attacker') })),
      'saml_signature_invalid',
    );
  });

  it('refuses a response-only signature made by another key', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(
        await answer(client, { sign: 'response', signWith: testIdpKey('attacker') }),
      ),
      'saml_signature_invalid',
    );
  });

  it('refuses SHA-1 signatures, on the assertion or on the response', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { hash: 'sha1' })),
      'saml_signature_algorithm_refused',
    );
    await expectRefused(
      client.validatePostResponse(await answer(client, { hash: 'sha1', sign: 'response' })),
      'saml_signature_algorithm_refused',
    );
  });

  it('refuses a signed assertion whose content was changed after signing', async () => {
    const { client } = setup();
    const { requestId } = await client.buildLoginUrl('x');
    const xml = buildSamlResponseXml({ inResponseTo: requestId, nameId: 'ada@example.com' }).replace(
      '>ada@example.com</saml:NameID>',
      '>eve@example.com</saml:NameID>',
    );
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: Buffer.from(xml).toString('base64') }),
      'saml_signature_invalid',
    );
  });

  it.each(['sibling', 'inside-signed', 'signed-inside-unsigned'] as const)(
    'refuses signature wrapping with a second, unsigned assertion (%s)',
    async (wrap) => {
      const { client } = setup();
      const error = await expectRefused(
        client.validatePostResponse(await answer(client, { wrap, wrapNameId: 'admin@example.com' })),
        'saml_multiple_assertions',
      );
      expect(error.message).not.toContain('admin@example.com');
    },
  );

  it('refuses signature wrapping of a response-level signature', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { sign: 'response', wrap: 'sibling' })),
      'saml_multiple_assertions',
    );
  });

  it('reads the whole NameID and email despite an injected comment (no truncated identity)', async () => {
    const { client } = setup();
    const body = await answer(client, {
      nameId: 'user@evil.com.example.com',
      attributes: { email: 'user@evil.com.example.com' },
      injectCommentAfter: 'user@evil.com',
    });
    expect(Buffer.from(body.SAMLResponse, 'base64').toString()).toContain('user@evil.com<!---->.example.com');

    const assertion = await client.validatePostResponse(body);

    expect(assertion.nameId).toBe('user@evil.com.example.com');
    expect(assertion.attributes.email).toBe('user@evil.com.example.com');
  });

  it('reads the whole identity despite an injected comment under a response-only signature', async () => {
    const { client } = setup();
    const assertion = await client.validatePostResponse(
      await answer(client, {
        sign: 'response',
        nameId: 'user@evil.com.example.com',
        attributes: { email: 'user@evil.com.example.com' },
        injectCommentAfter: 'user@evil.com',
      }),
    );
    expect(assertion.nameId).toBe('user@evil.com.example.com');
    expect(assertion.attributes.email).toBe('user@evil.com.example.com');
  });

  it('refuses encrypted assertions, which this SP cannot decrypt', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { encrypted: true, sign: 'response' })),
      'saml_encrypted_assertion_unsupported',
    );
  });
});

/** A signed response as XML, changed by `tamper`, posted as the answer to a fresh request. */
async function tampered(
  client: SamlClient,
  options: SamlResponseOptions,
  tamper: (xml: string) => string,
): Promise<{ SAMLResponse: string }> {
  const { requestId } = await client.buildLoginUrl('x');
  const xml = buildSamlResponseXml({ inResponseTo: requestId, ...options });
  const changed = tamper(xml);
  expect(changed).not.toBe(xml);
  return { SAMLResponse: Buffer.from(changed).toString('base64') };
}

const EXTENSIONS = '<samlp:Extensions><x:Note xmlns:x="urn:example:x">added</x:Note></samlp:Extensions>';

/** The SHA-256 digest an exclusive-c14n enveloped reference to the assertion in `xml` would carry. */
function assertionDigest(xml: string): string {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const assertion = doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Assertion')[0];
  const signature = assertion?.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'Signature')[0];
  if (!assertion || !signature) throw new Error('assertionDigest needs a signed assertion');
  assertion.removeChild(signature);
  const canonical = new ExclusiveCanonicalization().process(assertion, {});
  return createHash('sha256').update(canonical).digest('base64');
}

describe('SAML response validation: every signature present must verify', () => {
  it('refuses a Response whose signature broke while the assertion signature still holds', async () => {
    const { client } = setup();
    const body = await tampered(client, { sign: 'both' }, (xml) =>
      xml.replace('<samlp:Status>', `${EXTENSIONS}<samlp:Status>`),
    );
    await expectRefused(client.validatePostResponse(body), 'saml_signature_invalid');
  });

  it('refuses an assertion whose signature is broken under a valid Response signature', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { sign: 'both', corruptAssertionSignature: true })),
      'saml_signature_invalid',
    );
  });

  it('refuses a Response signature by another key beside a valid assertion signature', async () => {
    const { client } = setup();
    const { requestId } = await client.buildLoginUrl('x');
    // The attacker signs the whole (genuinely signed) response again with their own key.
    const genuine = buildSamlResponseXml({ inResponseTo: requestId, sign: 'assertion' });
    const start = genuine.indexOf('<saml:Assertion ');
    const end = genuine.lastIndexOf('</saml:Assertion>') + '</saml:Assertion>'.length;
    const resigned = buildSamlResponseXml({
      inResponseTo: requestId,
      sign: 'response',
      signWith: testIdpKey('attacker'),
    });
    expect(resigned).toContain('<ds:Signature');
    const mixed = resigned.replace(/<saml:Assertion [\s\S]*<\/saml:Assertion>/, genuine.slice(start, end));
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: Buffer.from(mixed).toString('base64') }),
      'saml_signature_invalid',
    );
  });

  it('still accepts a response-only or an assertion-only signature, and both when both hold', async () => {
    const { client } = setup();
    for (const sign of ['response', 'assertion', 'both'] as const) {
      const assertion = await client.validatePostResponse(await answer(client, { sign }));
      expect(assertion.nameId).toBe('ada@example.com');
    }
  });

  it('refuses a signature placed anywhere but on the Response or the assertion', async () => {
    const { client } = setup();
    // The assertion's genuine signature copied into an extension: it signs nothing read here.
    const copied = await tampered(client, { sign: 'assertion' }, (xml) => {
      const signature = /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(xml)?.[0] ?? '';
      return xml.replace('<samlp:Status>', `<samlp:Extensions>${signature}</samlp:Extensions><samlp:Status>`);
    });
    await expectRefused(client.validatePostResponse(copied), 'saml_signature_invalid');
  });

  it('refuses a signed Response wrapped inside an attacker Response', async () => {
    const { client } = setup();
    const body = await tampered(client, { sign: 'response' }, (xml) => {
      const genuine = xml.slice(xml.indexOf('<samlp:Response '));
      const evil = buildSamlResponseXml({ inResponseTo: '_x', sign: 'none', nameId: 'admin@example.com' });
      return evil.replace('<samlp:Status>', `<samlp:Extensions>${genuine}</samlp:Extensions><samlp:Status>`);
    });
    const error = await refusal(client.validatePostResponse(body));
    expect(['saml_multiple_assertions', 'saml_signature_invalid']).toContain(error.code);
  });

  it('refuses a signature whose reference names another element than the one it sits in', async () => {
    const { client } = setup();
    const body = await tampered(client, { sign: 'response' }, (xml) => {
      const assertionId = /<saml:Assertion [^>]*ID="([^"]+)"/.exec(xml)?.[1] ?? '';
      return xml.replace(/(<ds:Reference URI=")#[^"]+"/, `$1#${assertionId}"`);
    });
    await expectRefused(client.validatePostResponse(body), 'saml_signature_invalid');
  });

  it('refuses a signature with two SignedInfo elements', async () => {
    const { client } = setup();
    const body = await tampered(client, {}, (xml) => {
      const signedInfo = /<ds:SignedInfo>[\s\S]*?<\/ds:SignedInfo>/.exec(xml)?.[0] ?? '';
      return xml.replace(signedInfo, signedInfo + signedInfo);
    });
    await expectRefused(client.validatePostResponse(body), 'saml_signature_invalid');
  });

  it('refuses a changed assertion whose new digest hides in a comment in DigestValue (CVE-2025-29774)', async () => {
    const { client } = setup();
    const body = await tampered(client, { nameId: 'ada@example.com' }, (xml) => {
      const changed = xml.replace('>ada@example.com</saml:NameID>', '>eve@example.com</saml:NameID>');
      const digest = assertionDigest(changed);
      return changed.replace(
        /<ds:DigestValue>([^<]+)<\/ds:DigestValue>/,
        `<ds:DigestValue><!--${digest}-->$1</ds:DigestValue>`,
      );
    });
    await expectRefused(client.validatePostResponse(body), 'saml_signature_invalid');
  });

  it('refuses an HMAC signature method, which a public certificate could key (GHSA-c27r-x354-4m68)', async () => {
    const { client } = setup();
    const body = await tampered(client, {}, (xml) =>
      xml.replace(
        'Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"',
        'Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"',
      ),
    );
    await expectRefused(client.validatePostResponse(body), 'saml_signature_algorithm_refused');
  });

  it('never trusts a certificate the response brings in its own KeyInfo', async () => {
    const { client } = setup();
    const body = await answer(client, { signWith: testIdpKey('attacker') });
    expect(Buffer.from(body.SAMLResponse, 'base64').toString()).toContain(
      testIdpKey('attacker').certificateBase64.slice(0, 64),
    );
    await expectRefused(client.validatePostResponse(body), 'saml_signature_invalid');
  });

  it('refuses duplicate IDs, which could point a reference at a forged element', async () => {
    const { client } = setup();
    const body = await tampered(client, {}, (xml) => {
      const assertionId = /<saml:Assertion [^>]*ID="([^"]+)"/.exec(xml)?.[1] ?? '';
      return xml.replace(
        '<samlp:Status>',
        `<samlp:Extensions><x:E xmlns:x="urn:x" ID="${assertionId}"/></samlp:Extensions><samlp:Status>`,
      );
    });
    await expectRefused(client.validatePostResponse(body), 'saml_response_malformed');
  });

  // xml-crypto is told to resolve references by ID only, so these two are refused by our own check.
  it.each(['Id', 'id'])('refuses the assertion ID repeated as an %s attribute elsewhere', async (name) => {
    const { client } = setup();
    const body = await tampered(client, {}, (xml) => {
      const assertionId = /<saml:Assertion [^>]*ID="([^"]+)"/.exec(xml)?.[1] ?? '';
      return xml.replace(
        '<samlp:Status>',
        `<samlp:Extensions><x:E xmlns:x="urn:x" ${name}="${assertionId}"/></samlp:Extensions><samlp:Status>`,
      );
    });
    await expectRefused(client.validatePostResponse(body), 'saml_response_malformed');
  });

  it('refuses the assertion ID repeated under a prefixed ID attribute', async () => {
    const { client } = setup();
    const body = await tampered(client, {}, (xml) => {
      const assertionId = /<saml:Assertion [^>]*ID="([^"]+)"/.exec(xml)?.[1] ?? '';
      return xml.replace(
        '<samlp:Status>',
        `<samlp:Extensions><x:E xmlns:x="urn:x" x:ID="${assertionId}"/></samlp:Extensions><samlp:Status>`,
      );
    });
    // xml-crypto counts both elements as carrying the ID (it compares local names) and refuses.
    await expectRefused(client.validatePostResponse(body), 'saml_signature_invalid');
  });
});

describe('SAML response validation: each signature is verified once', () => {
  it.each([
    ['assertion', 1],
    ['response', 1],
    ['both', 2],
  ] as const)('verifies a response signed on the %s with %i signature check(s)', async (sign, checks) => {
    const { client } = setup();
    const body = await answer(client, { sign });
    const checkSignature = vi.spyOn(SignedXml.prototype, 'checkSignature');
    try {
      const assertion = await client.validatePostResponse(body);
      expect(assertion.nameId).toBe('ada@example.com');
      // node-saml (which uses the same xml-crypto) reads the verified bytes and verifies nothing again.
      expect(checkSignature).toHaveBeenCalledTimes(checks);
    } finally {
      checkSignature.mockRestore();
    }
  });

  const rotating = (): Partial<SamlClientOptions> => ({
    idp: {
      entityId: TEST_IDP.entityId,
      ssoUrl: TEST_IDP.ssoUrl,
      certificates: [testIdpKey().certificatePem, testIdpKey('next').certificatePem],
    },
  });

  it('tries the certificate the KeyInfo names first, so a rotation costs no extra check', async () => {
    const { client } = setup(rotating());
    const body = await answer(client, { signWith: testIdpKey('next') });
    const checkSignature = vi.spyOn(SignedXml.prototype, 'checkSignature');
    try {
      expect((await client.validatePostResponse(body)).nameId).toBe('ada@example.com');
      expect(checkSignature).toHaveBeenCalledTimes(1);
    } finally {
      checkSignature.mockRestore();
    }
  });

  it('still tries every connection certificate when the KeyInfo names another one', async () => {
    const { client } = setup(rotating());
    // KeyInfo is outside what the signature covers, so naming the other certificate keeps it valid.
    const body = await tampered(client, { signWith: testIdpKey('next') }, (xml) =>
      xml.replace(
        /<ds:X509Certificate>[^<]*<\/ds:X509Certificate>/,
        `<ds:X509Certificate>${testIdpKey().certificateBase64}</ds:X509Certificate>`,
      ),
    );
    expect((await client.validatePostResponse(body)).nameId).toBe('ada@example.com');
  });
});

describe('SAML response validation: conditions', () => {
  it('refuses an expired assertion', async () => {
    const { client } = setup();
    const issued = new Date(Date.now() - minutes(30));
    await expectRefused(
      client.validatePostResponse(
        await answer(client, { issueInstant: issued, notOnOrAfter: new Date(Date.now() - minutes(5)) }),
      ),
      'saml_assertion_expired',
    );
  });

  it('refuses an assertion that is not valid yet', async () => {
    const { client } = setup();
    const issued = new Date(Date.now() + minutes(10));
    await expectRefused(
      client.validatePostResponse(await answer(client, { issueInstant: issued, notBefore: issued })),
      'saml_assertion_not_yet_valid',
    );
  });

  it('refuses an assertion for another audience', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { audience: 'https://other-sp.example.test' })),
      'saml_audience_mismatch',
    );
  });

  it('refuses a response sent to another destination', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { destination: 'https://other-sp.example.test/acs' })),
      'saml_destination_mismatch',
    );
  });

  it('refuses an assertion whose bearer confirmation names another recipient', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { recipient: 'https://other-sp.example.test/acs' })),
      'saml_destination_mismatch',
    );
  });

  it('refuses an assertion from another issuer, even when signed with the connection key', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { issuer: 'https://other-idp.example.test' })),
      'saml_issuer_mismatch',
    );
  });

  it('refuses a Response whose own Issuer is another IdP', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { responseIssuer: 'https://other-idp.example.test' })),
      'saml_issuer_mismatch',
    );
  });

  it('reports an IdP error status without echoing the IdP message', async () => {
    const { client } = setup();
    const error = await expectRefused(
      client.validatePostResponse(
        await answer(client, { statusCode: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }),
      ),
      'saml_idp_error',
    );
    expect(error.message).toContain('urn:oasis:names:tc:SAML:2.0:status:Responder');
  });
});

describe('SAML response validation: only answers to our own requests, once', () => {
  it('refuses a response without InResponseTo (IdP-initiated)', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: buildSamlResponse({ inResponseTo: null }) }),
      'saml_unsolicited_response',
    );
  });

  it('refuses a response to a request this service never made', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: buildSamlResponse({ inResponseTo: '_never-issued' }) }),
      'saml_unsolicited_response',
    );
  });

  it('refuses an assertion that answers another request than its Response claims', async () => {
    const { client } = setup();
    const { requestId: other } = await client.buildLoginUrl('x');
    await expectRefused(
      client.validatePostResponse(await answer(client, { subjectInResponseTo: other })),
      'saml_unsolicited_response',
    );
  });

  it('refuses a response to a request made for another connection', async () => {
    const store = createInMemorySamlRequestStore();
    const { client: otherConnection } = setup({ requestStore: store, connectorId: 'con_other' });
    const { client } = setup({ requestStore: store });
    const { requestId } = await otherConnection.buildLoginUrl('x');
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: buildSamlResponse({ inResponseTo: requestId }) }),
      'saml_unsolicited_response',
    );
  });

  it('refuses a response to a request that has expired', async () => {
    let now = new Date();
    const store = createInMemorySamlRequestStore({ now: () => now });
    const { client } = setup({ requestStore: store, requestTtlMs: minutes(10) });
    const body = await answer(client);
    now = new Date(now.getTime() + minutes(11));
    await expectRefused(client.validatePostResponse(body), 'saml_unsolicited_response');
  });

  it('refuses the same response posted a second time', async () => {
    const { client } = setup();
    const body = await answer(client);
    await client.validatePostResponse(body);
    await expectRefused(client.validatePostResponse(body), 'saml_unsolicited_response');
  });

  it('accepts only one of two concurrent posts of the same response', async () => {
    const { client } = setup();
    const body = await answer(client);
    const results = await Promise.allSettled([
      client.validatePostResponse(body),
      client.validatePostResponse(body),
    ]);
    const accepted = results.filter((result) => result.status === 'fulfilled');
    const refused = results.flatMap((result) =>
      result.status === 'rejected' ? [result.reason as unknown] : [],
    );
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(SamlValidationError);
    expect((refused[0] as SamlValidationError).code).toBe('saml_unsolicited_response');
  });

  it('refuses a replayed assertion re-addressed to a new request', async () => {
    const { client } = setup();
    const original = await answer(client);
    await client.validatePostResponse(original);
    const { requestId: fresh } = await client.buildLoginUrl('x');
    const xml = Buffer.from(original.SAMLResponse, 'base64').toString('utf8');
    const readdressed = xml.replace(/(<samlp:Response [^>]*InResponseTo=")[^"]+"/, `$1${fresh}"`);
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: Buffer.from(readdressed).toString('base64') }),
      'saml_unsolicited_response',
    );
  });
});

describe('SAML response validation: hostile input', () => {
  it('refuses a response with a DOCTYPE and entities', async () => {
    const { client } = setup();
    const body = await answer(client, { doctype: true });
    expect(Buffer.from(body.SAMLResponse, 'base64').toString()).toContain('<!ENTITY');
    await expectRefused(client.validatePostResponse(body), 'saml_doctype_forbidden');
  });

  it('refuses an oversized body before decoding it', async () => {
    const { client } = setup({ maxResponseLength: 64 * 1024 });
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: 'A'.repeat(64 * 1024 + 4) }),
      'saml_response_too_large',
    );
  });

  it.each([
    ['characters outside base64', 'PHNhbWxwOlJlc3BvbnNlLz4*'],
    ['a wrong length', 'PHNhbWxwOlJlc3BvbnNlLz4'],
    ['padding in the middle', 'PH=hbWxwOlJlc3BvbnNlLz4='],
    ['URL-safe base64', 'PHNhbWxwOlJlc3BvbnNlLz4_-A=='],
  ])('refuses invalid base64 (%s)', async (_case, value) => {
    const { client } = setup();
    await expectRefused(client.validatePostResponse({ SAMLResponse: value }), 'saml_response_malformed');
  });

  it('refuses a missing SAMLResponse', async () => {
    const { client } = setup();
    await expectRefused(client.validatePostResponse({}), 'saml_response_missing');
    await expectRefused(client.validatePostResponse({ SAMLResponse: '' }), 'saml_response_missing');
  });

  it('refuses a SAMLResponse that is not a single string', async () => {
    const { client } = setup();
    await expectRefused(client.validatePostResponse({ SAMLResponse: ['a', 'b'] }), 'saml_response_malformed');
  });

  it('refuses base64 that is not XML', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: Buffer.from('hello, world').toString('base64') }),
      'saml_response_malformed',
    );
  });

  it('refuses a processing instruction hidden in the NameID', async () => {
    const { client } = setup();
    const { requestId } = await client.buildLoginUrl('x');
    const xml = buildSamlResponseXml({
      inResponseTo: requestId,
      nameId: 'user@evil.com.example.com',
    }).replace('>user@evil.com.example.com<', '>user@evil.com<?x?>.example.com<');
    await expectRefused(
      client.validatePostResponse({ SAMLResponse: Buffer.from(xml).toString('base64') }),
      'saml_response_malformed',
    );
  });

  it('refuses 27,000 nested elements (250 KB) before building any DOM', async () => {
    const { client } = setup();
    const body = await tampered(client, {}, (xml) =>
      xml.replace(
        '<samlp:Status>',
        `<samlp:Extensions>${'<a>'.repeat(27_000)}${'</a>'.repeat(27_000)}</samlp:Extensions><samlp:Status>`,
      ),
    );
    expect(body.SAMLResponse.length).toBeGreaterThan(250_000);
    expect(body.SAMLResponse.length).toBeLessThanOrEqual(SAML_RESPONSE_MAX_LENGTH);
    await expectRefused(client.validatePostResponse(body), 'saml_response_too_complex');
  });

  it.each([
    ['nesting deeper than a response needs', `${'<a>'.repeat(65)}${'</a>'.repeat(65)}`],
    ['more elements than a response needs', '<a/>'.repeat(2_000)],
    [
      'more attributes than a response needs',
      `<a ${Array.from({ length: 4_000 }, (_, i) => `a${i}=""`).join(' ')}/>`,
    ],
  ])('refuses %s', async (_case, extension) => {
    const { client } = setup();
    const body = await tampered(client, {}, (xml) =>
      xml.replace('<samlp:Status>', `<samlp:Extensions>${extension}</samlp:Extensions><samlp:Status>`),
    );
    await expectRefused(client.validatePostResponse(body), 'saml_response_too_complex');
  });

  it('accepts a response with 1,500 group values, more than real IdPs send', async () => {
    const { client } = setup();
    const groups = Array.from({ length: 1_500 }, (_, i) => `group-${i}`);
    const assertion = await client.validatePostResponse(
      await answer(client, { sign: 'both', attributes: { email: 'ada@example.com', groups } }),
    );
    expect(assertion.attributes.groups).toHaveLength(1_500);
  });

  it('never puts the NameID or email into error messages', async () => {
    const { client } = setup();
    const identity = {
      nameId: 'secret.person@example.com',
      attributes: { email: 'secret.person@example.com' },
    };
    const failures = await Promise.all([
      refusal(client.validatePostResponse(await answer(client, { ...identity, audience: 'https://x.test' }))),
      refusal(
        client.validatePostResponse(await answer(client, { ...identity, signWith: testIdpKey('attacker') })),
      ),
      refusal(
        client.validatePostResponse(
          await answer(client, { ...identity, wrap: 'sibling', wrapNameId: 'secret.person@example.com' }),
        ),
      ),
      refusal(
        client.validatePostResponse({
          SAMLResponse: buildSamlResponse({ ...identity, inResponseTo: '_unknown' }),
        }),
      ),
    ]);
    for (const failure of failures) {
      expect(failure.message).not.toContain('secret.person');
      expect(JSON.stringify(failure.details)).not.toContain('secret.person');
    }
  });
});

describe('SAML refusals: details for the sign-in diagnostics', () => {
  it('names the audience the IdP sent and the one this connection expects', async () => {
    const { client } = setup();
    const error = await expectRefused(
      client.validatePostResponse(await answer(client, { audience: 'https://other-sp.example.test' })),
      'saml_audience_mismatch',
    );
    expect(error.details).toEqual({
      expectedAudience: TEST_SP.entityId,
      receivedAudiences: ['https://other-sp.example.test'],
    });
  });

  it('names the issuer the IdP sent and the one this connection expects', async () => {
    const { client } = setup();
    const error = await expectRefused(
      client.validatePostResponse(await answer(client, { issuer: 'https://other-idp.example.test' })),
      'saml_issuer_mismatch',
    );
    expect(error.details).toEqual({
      expectedIssuer: TEST_IDP.entityId,
      receivedIssuer: 'https://other-idp.example.test',
    });
  });

  it('names the fingerprint of an untrusted signing certificate beside the trusted ones', async () => {
    const { client } = setup();
    const error = await expectRefused(
      client.validatePostResponse(await answer(client, { signWith: testIdpKey('attacker') })),
      'saml_signature_invalid',
    );
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    expect(error.details).toEqual({
      signingCertificateSha256: fingerprint(testIdpKey('attacker').certificatePem),
      trustedCertificatesSha256: [fingerprint(testIdpKey().certificatePem)],
    });
  });

  it('names the validity window and the time it was checked at', async () => {
    const { client } = setup();
    const notOnOrAfter = new Date(Date.now() - minutes(5));
    const error = await expectRefused(
      client.validatePostResponse(
        await answer(client, { issueInstant: new Date(Date.now() - minutes(30)), notOnOrAfter }),
      ),
      'saml_assertion_expired',
    );
    expect(error.details).toMatchObject({ notOnOrAfter: notOnOrAfter.toISOString(), clockSkewSeconds: 30 });
    expect(Date.parse(error.details.checkedAt ?? '')).toBeGreaterThan(notOnOrAfter.getTime());
  });

  it('cuts what an unsigned response echoes to 200 plain characters', async () => {
    const { client } = setup();
    const long = `https://x.example/${'a'.repeat(500)}\n<b>`;
    const error = await expectRefused(
      client.validatePostResponse(await answer(client, { sign: 'none', destination: long })),
      'saml_destination_mismatch',
    );
    expect(error.details.receivedDestination).toHaveLength(200);
    expect(error.details.expectedDestination).toBe(TEST_SP.acsUrl);
  });
});

describe('SAML refusals: ambiguous identities (rule 11)', () => {
  it('refuses two different NameIDs in the signed subject with its own code', async () => {
    const { client } = setup();
    const error = await expectRefused(
      client.validatePostResponse(await answer(client, { extraNameIds: ['eve@example.com'] })),
      'sso_ambiguous_identity',
    );
    expect(error.details).toEqual({
      ambiguous: { source: 'subject', names: ['NameID'], distinctValues: 2 },
    });
  });

  it('refuses a second Subject naming someone else', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { secondSubjectNameId: 'eve@example.com' })),
      'sso_ambiguous_identity',
    );
  });

  it('still refuses the same NameID written twice as malformed, not as ambiguous', async () => {
    const { client } = setup();
    await expectRefused(
      client.validatePostResponse(await answer(client, { extraNameIds: ['ada@example.com'] })),
      'saml_response_malformed',
    );
  });

  it('keeps every value of repeated Attribute elements, which node-saml reduces to the last', async () => {
    const { client } = setup();
    const assertion = await client.validatePostResponse(
      await answer(client, {
        attributeList: [
          ['email', 'ada@example.com'],
          ['email', 'eve@example.com'],
        ],
      }),
    );
    expect(assertion.attributes.email).toBe('eve@example.com');
    expect(assertion.signedAttributeValues.email).toEqual(['ada@example.com', 'eve@example.com']);
  });
});
