// A test identity provider: real RSA keys, a real self-signed certificate and real XML signatures
// (xml-crypto, exclusive c14n, rsa-sha256), so the SAML client is tested against what IdPs send,
// plus the hostile variants attackers send (signature wrapping, comment injection, DTDs).
import { randomBytes } from 'node:crypto';
import { SAML, ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import forge from 'node-forge';
import { SignedXml } from 'xml-crypto';

export interface TestIdpKey {
  privateKeyPem: string;
  certificatePem: string;
  /** The certificate's DER as one base64 line, as metadata carries it. */
  certificateBase64: string;
}

export const TEST_IDP = {
  entityId: 'https://idp.example.test/saml/metadata',
  ssoUrl: 'https://idp.example.test/saml/sso',
} as const;

export const TEST_SP = {
  entityId: 'https://sp.example.test/v1/sso/con_test/metadata',
  acsUrl: 'https://sp.example.test/v1/sso/con_test/acs',
} as const;

const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  xmldsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

const keys = new Map<string, TestIdpKey>();

/**
 * A key pair and certificate per name, made once per process (key generation is the slow part).
 * The certificate is valid for a year unless `notAfter` says otherwise (the first call decides).
 */
export function testIdpKey(name = 'primary', validity: { notAfter?: Date } = {}): TestIdpKey {
  const cached = keys.get(name);
  if (cached) return cached;
  const pair = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = pair.publicKey;
  certificate.serialNumber = `01${randomBytes(8).toString('hex')}`;
  certificate.validity.notBefore = new Date(Date.now() - 24 * 3600_000);
  certificate.validity.notAfter = validity.notAfter ?? new Date(Date.now() + 365 * 24 * 3600_000);
  const subject = [{ name: 'commonName', value: `Test IdP ${name}` }];
  certificate.setSubject(subject);
  certificate.setIssuer(subject);
  certificate.sign(pair.privateKey, forge.md.sha256.create());
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(certificate)).getBytes();
  const key: TestIdpKey = {
    privateKeyPem: forge.pki.privateKeyToPem(pair.privateKey),
    certificatePem: forge.pki.certificateToPem(certificate),
    certificateBase64: forge.util.encode64(der),
  };
  keys.set(name, key);
  return key;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export interface IdpMetadataOptions {
  entityId?: string;
  ssoUrl?: string;
  /** Signing keys listed with use="signing"; default: the primary key. */
  keys?: TestIdpKey[];
  /** Single sign-on bindings offered, in document order. */
  bindings?: ('HTTP-Redirect' | 'HTTP-POST')[];
}

export function idpMetadataXml(options: IdpMetadataOptions = {}): string {
  const entityId = options.entityId ?? TEST_IDP.entityId;
  const ssoUrl = options.ssoUrl ?? TEST_IDP.ssoUrl;
  const keyDescriptors = (options.keys ?? [testIdpKey()])
    .map(
      (key) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${key.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('\n    ');
  const services = (options.bindings ?? ['HTTP-POST', 'HTTP-Redirect'])
    .map(
      (binding) =>
        `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${escapeXml(ssoUrl)}"/>`,
    )
    .join('\n    ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.xmldsig}" entityID="${escapeXml(entityId)}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS.protocol}">
    ${keyDescriptors}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    ${services}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`;
}

export interface SamlResponseOptions {
  /** Response and SubjectConfirmationData InResponseTo; null leaves both out (unsolicited). */
  inResponseTo?: string | null;
  /** Overrides the SubjectConfirmationData InResponseTo only. */
  subjectInResponseTo?: string | null;
  /** Response Destination; null leaves it out. */
  destination?: string | null;
  /** SubjectConfirmationData Recipient. */
  recipient?: string;
  audience?: string;
  /** Assertion Issuer (and Response Issuer unless `responseIssuer` says otherwise). */
  issuer?: string;
  /** null leaves the Response Issuer out. */
  responseIssuer?: string | null;
  nameId?: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  attributes?: Record<string, string | string[]>;
  /**
   * Attributes as a list, where a Name may repeat (two Attribute elements with one Name); used
   * instead of `attributes` when given.
   */
  attributeList?: [name: string, value: string | string[]][];
  /** More NameIDs in the assertion's Subject, after the first (signed with it). */
  extraNameIds?: string[];
  /** A second Subject with this NameID, after the first (signed with it). */
  secondSubjectNameId?: string;
  issueInstant?: Date;
  notBefore?: Date;
  notOnOrAfter?: Date;
  statusCode?: string;
  /** Which elements carry an enveloped signature. */
  sign?: 'assertion' | 'response' | 'both' | 'none';
  /**
   * Break the assertion's signature (its SignatureValue) before the Response is signed, so that with
   * `sign: 'both'` the Response signature still verifies over the broken one.
   */
  corruptAssertionSignature?: boolean;
  /** Sign with this key instead of the primary one. */
  signWith?: TestIdpKey;
  /** Hash for signature and digest; IdPs still configured for SHA-1 exist. Default sha256. */
  hash?: 'sha256' | 'sha1';
  /** Replace the assertion by an EncryptedAssertion (contents are not real ciphertext). */
  encrypted?: boolean;
  /**
   * Signature wrapping, done after signing: an unsigned attacker assertion beside the signed one,
   * inside it, or around it (the signed assertion hidden in the attacker's Advice).
   */
  wrap?: 'sibling' | 'inside-signed' | 'signed-inside-unsigned';
  wrapNameId?: string;
  /**
   * After signing, insert `<!---->` right after this prefix in the NameID and in every attribute
   * value that starts with it: `user@evil.com.example.com` is read as `user@evil.com` by a parser
   * that stops at the first text node. Comments are outside the signed (canonical) bytes.
   */
  injectCommentAfter?: string;
  /** After signing, add a DOCTYPE that declares an entity and use the entity in the NameID. */
  doctype?: boolean;
}

const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';

function instant(date: Date): string {
  return date.toISOString();
}

function randomId(): string {
  return `_${randomBytes(16).toString('hex')}`;
}

function attributeStatement(entries: [string, string | string[]][]): string {
  if (entries.length === 0) return '';
  const xml = entries
    .map(([name, value]) => {
      const values = (Array.isArray(value) ? value : [value])
        .map((item) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(item)}</saml:AttributeValue>`)
        .join('');
      return `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">${values}</saml:Attribute>`;
    })
    .join('');
  return `<saml:AttributeStatement xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${xml}</saml:AttributeStatement>`;
}

interface AssertionFields {
  id: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string;
  subjectInResponseTo: string | null;
  recipient: string;
  audience: string;
  sessionIndex: string;
  attributes: Record<string, string | string[]>;
  attributeList?: [string, string | string[]][];
  extraNameIds?: string[];
  secondSubjectNameId?: string;
  issueInstant: Date;
  notBefore: Date;
  notOnOrAfter: Date;
}

function assertionXml(fields: AssertionFields): string {
  const inResponseTo =
    fields.subjectInResponseTo === null ? '' : ` InResponseTo="${escapeXml(fields.subjectInResponseTo)}"`;
  return (
    `<saml:Assertion xmlns:saml="${NS.assertion}" ID="${fields.id}" Version="2.0" IssueInstant="${instant(fields.issueInstant)}">` +
    `<saml:Issuer>${escapeXml(fields.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${escapeXml(fields.nameIdFormat)}">${escapeXml(fields.nameId)}</saml:NameID>` +
    (fields.extraNameIds ?? [])
      .map(
        (nameId) =>
          `<saml:NameID Format="${escapeXml(fields.nameIdFormat)}">${escapeXml(nameId)}</saml:NameID>`,
      )
      .join('') +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData${inResponseTo} NotOnOrAfter="${instant(fields.notOnOrAfter)}" Recipient="${escapeXml(fields.recipient)}"/>` +
    `</saml:SubjectConfirmation></saml:Subject>` +
    (fields.secondSubjectNameId === undefined
      ? ''
      : `<saml:Subject><saml:NameID>${escapeXml(fields.secondSubjectNameId)}</saml:NameID></saml:Subject>`) +
    `<saml:Conditions NotBefore="${instant(fields.notBefore)}" NotOnOrAfter="${instant(fields.notOnOrAfter)}">` +
    `<saml:AudienceRestriction><saml:Audience>${escapeXml(fields.audience)}</saml:Audience></saml:AudienceRestriction>` +
    `</saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${instant(fields.issueInstant)}" SessionIndex="${escapeXml(fields.sessionIndex)}">` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>` +
    `</saml:AuthnStatement>` +
    attributeStatement(fields.attributeList ?? Object.entries(fields.attributes)) +
    `</saml:Assertion>`
  );
}

const ALGORITHMS = {
  sha256: {
    signature: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    digest: 'http://www.w3.org/2001/04/xmlenc#sha256',
  },
  sha1: {
    signature: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    digest: 'http://www.w3.org/2000/09/xmldsig#sha1',
  },
} as const;

function signElement(
  xml: string,
  key: TestIdpKey,
  element: 'Assertion' | 'Response',
  hash: keyof typeof ALGORITHMS = 'sha256',
): string {
  const signer = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    canonicalizationAlgorithm: EXC_C14N,
    signatureAlgorithm: ALGORITHMS[hash].signature,
  });
  const target = element === 'Assertion' ? "//*[local-name(.)='Assertion']" : "/*[local-name(.)='Response']";
  signer.addReference({
    xpath: target,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N],
    digestAlgorithm: ALGORITHMS[hash].digest,
  });
  // Schema order: the Signature follows the Issuer, so it goes before Subject / Status.
  const next = element === 'Assertion' ? 'Subject' : 'Status';
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `${target}/*[local-name(.)='${next}']`, action: 'before' },
  });
  return signer.getSignedXml();
}

/** The SAMLResponse XML, signed and tampered with as the options say. */
export function buildSamlResponseXml(options: SamlResponseOptions = {}): string {
  const now = new Date();
  const issueInstant = options.issueInstant ?? now;
  const inResponseTo = options.inResponseTo === undefined ? '_unset' : options.inResponseTo;
  const issuer = options.issuer ?? TEST_IDP.entityId;
  const responseIssuer = options.responseIssuer === undefined ? issuer : options.responseIssuer;
  const destination = options.destination === undefined ? TEST_SP.acsUrl : options.destination;
  const key = options.signWith ?? testIdpKey();
  const sign = options.sign ?? 'assertion';
  const fields: AssertionFields = {
    id: randomId(),
    issuer,
    nameId: options.nameId ?? 'ada@example.com',
    nameIdFormat: options.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    subjectInResponseTo:
      options.subjectInResponseTo === undefined ? inResponseTo : options.subjectInResponseTo,
    recipient: options.recipient ?? TEST_SP.acsUrl,
    audience: options.audience ?? TEST_SP.entityId,
    sessionIndex: options.sessionIndex ?? randomId(),
    attributes: options.attributes ?? { email: 'ada@example.com' },
    ...(options.attributeList ? { attributeList: options.attributeList } : {}),
    ...(options.extraNameIds ? { extraNameIds: options.extraNameIds } : {}),
    ...(options.secondSubjectNameId === undefined
      ? {}
      : { secondSubjectNameId: options.secondSubjectNameId }),
    issueInstant,
    notBefore: options.notBefore ?? new Date(issueInstant.getTime() - 60_000),
    notOnOrAfter: options.notOnOrAfter ?? new Date(issueInstant.getTime() + 5 * 60_000),
  };

  const assertion = options.encrypted
    ? `<saml:EncryptedAssertion xmlns:saml="${NS.assertion}"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>`
    : assertionXml(fields);
  const attributes = [
    `xmlns:samlp="${NS.protocol}"`,
    `xmlns:saml="${NS.assertion}"`,
    `ID="${randomId()}"`,
    'Version="2.0"',
    `IssueInstant="${instant(issueInstant)}"`,
    destination === null ? '' : `Destination="${escapeXml(destination)}"`,
    inResponseTo === null ? '' : `InResponseTo="${escapeXml(inResponseTo)}"`,
  ].filter((attribute) => attribute !== '');
  let xml =
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<samlp:Response ${attributes.join(' ')}>` +
    (responseIssuer === null ? '' : `<saml:Issuer>${escapeXml(responseIssuer)}</saml:Issuer>`) +
    `<samlp:Status><samlp:StatusCode Value="${escapeXml(options.statusCode ?? 'urn:oasis:names:tc:SAML:2.0:status:Success')}"/></samlp:Status>` +
    assertion +
    `</samlp:Response>`;

  if (!options.encrypted && (sign === 'assertion' || sign === 'both'))
    xml = signElement(xml, key, 'Assertion', options.hash);
  if (options.corruptAssertionSignature) xml = corruptFirstSignatureValue(xml);
  if (sign === 'response' || sign === 'both') xml = signElement(xml, key, 'Response', options.hash);

  if (options.wrap)
    xml = wrap(xml, options.wrap, {
      ...fields,
      id: randomId(),
      nameId: options.wrapNameId ?? 'attacker@evil.example',
    });
  if (options.injectCommentAfter !== undefined) {
    const values = [fields.nameId, ...Object.values(fields.attributes).flat()];
    xml = injectComment(xml, options.injectCommentAfter, values);
  }
  if (options.doctype) {
    xml = xml
      .replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE samlp:Response [<!ENTITY who "admin@example.com">]>`,
      )
      .replace(`>${escapeXml(fields.nameId)}</saml:NameID>`, '>&who;</saml:NameID>');
  }
  return xml;
}

/** The base64 SAMLResponse form field. */
export function buildSamlResponse(options: SamlResponseOptions = {}): string {
  return Buffer.from(buildSamlResponseXml(options), 'utf8').toString('base64');
}

function wrap(
  signedXml: string,
  kind: NonNullable<SamlResponseOptions['wrap']>,
  evilFields: AssertionFields,
): string {
  const start = signedXml.indexOf('<saml:Assertion ');
  const end = signedXml.lastIndexOf('</saml:Assertion>') + '</saml:Assertion>'.length;
  if (start < 0 || end < start) throw new Error('wrap needs a response with an assertion');
  const signed = signedXml.slice(start, end);
  const evil = assertionXml(evilFields);
  const before = signedXml.slice(0, start);
  const after = signedXml.slice(end);
  const intoAdvice = (host: string, guest: string): string =>
    host.replace('</saml:Conditions>', `</saml:Conditions><saml:Advice>${guest}</saml:Advice>`);
  switch (kind) {
    case 'sibling':
      return before + evil + signed + after;
    case 'inside-signed':
      return before + intoAdvice(signed, evil) + after;
    case 'signed-inside-unsigned':
      return before + intoAdvice(evil, signed) + after;
  }
}

function injectComment(xml: string, prefix: string, values: string[]): string {
  let result = xml;
  for (const value of new Set(values)) {
    if (!value.startsWith(prefix) || value.length === prefix.length) continue;
    const text = escapeXml(value);
    const injected = `${escapeXml(prefix)}<!---->${escapeXml(value.slice(prefix.length))}`;
    result = result.split(`>${text}<`).join(`>${injected}<`);
  }
  return result;
}

function corruptFirstSignatureValue(xml: string): string {
  const match = /<ds:SignatureValue>([^<]+)<\/ds:SignatureValue>/.exec(xml);
  if (!match?.[1]) throw new Error('corruptAssertionSignature needs a signed assertion');
  const value = Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
  value[0] = (value[0] ?? 0) ^ 0xff;
  return xml.replace(match[0], `<ds:SignatureValue>${value.toString('base64')}</ds:SignatureValue>`);
}

/**
 * Plain node-saml trusting the test IdP, with none of our checks in front: the baseline the
 * benchmarks compare our client with, and the library whose own refusals the tests read.
 */
export function plainNodeSaml(overrides: Partial<SamlConfig> = {}): SAML {
  return new SAML({
    issuer: TEST_SP.entityId,
    callbackUrl: TEST_SP.acsUrl,
    entryPoint: TEST_IDP.ssoUrl,
    idpIssuer: TEST_IDP.entityId,
    idpCert: testIdpKey().certificatePem,
    audience: TEST_SP.entityId,
    wantAssertionsSigned: false,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.never,
    ...overrides,
  });
}
