// Every XML signature in a SAML response must verify with the connection's certificates.
//
// node-saml accepts a response when one signature verifies: a valid Response signature makes it
// skip the assertion's, and a broken Response signature is ignored when the assertion's holds. A
// signature that is present and does not verify is evidence of tampering, so here each one must
// verify, on the Response and on the assertion alike, before node-saml sees the response. What
// the checks then read comes from the bytes a signature covers (xml-crypto's canonical form of the
// referenced element), never from the posted document around them, which is how signature
// wrapping (the signed element moved, a forged one put where a reader looks) is defeated.
//
// This is the only signature verification on the ACS path: node-saml is handed the assertion as
// these verified bytes (samlClient.ts) instead of verifying every signature a second time.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { parseCertificate } from '../certificates';
import type { SignInFailureDetails } from '../../domain/signInDiagnostics';
import { SamlValidationError } from './errors';
import { SAML_NS, attributeOf, childElements, descendantElements, isNamed, parseStrictXml } from './xml';

/**
 * SHA-1 is broken for collision resistance and a signature is only as strong as its hash, so only
 * SHA-2 is accepted, for the signature method and every reference digest alike. HMAC methods are
 * never accepted: with a public certificate as the "secret", anyone could compute them.
 */
export const ALLOWED_SIGNATURE_METHODS: ReadonlySet<string> = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
export const ALLOWED_DIGEST_METHODS: ReadonlySet<string> = new Set([
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);

/** SAML signatures are enveloped and canonicalized; nothing else (XPath, XSLT) is a transform here. */
const ALLOWED_TRANSFORMS: ReadonlySet<string> = new Set([
  'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
]);

const COMMENT_NODE = 8;

export interface SignedParts {
  /** The Response as its signature covers it, when the Response is signed. */
  response: Element | undefined;
  /** The assertion as a signature covers it: its own signature's bytes, else the Response's. */
  assertion: Element;
  /**
   * `assertion` as text: the canonical bytes its own signature covers, else its serialization
   * from the signed Response's bytes.
   */
  assertionXml: string;
}

function invalid(message: string, details?: SignInFailureDetails): never {
  throw new SamlValidationError('saml_signature_invalid', message, details);
}

/**
 * Verifies every signature of a response whose structure the caller has checked (one Response
 * root, exactly one assertion as its child, unique IDs). `certificates` are PEM.
 */
export function verifySignatures(
  xml: string,
  parts: { response: Element; assertion: Element },
  certificates: readonly string[],
): SignedParts {
  const signatures = descendantElements(parts.response).filter((element) =>
    isNamed(element, SAML_NS.xmldsig, 'Signature'),
  );
  // A signature over something else (an extension, an Object, the Advice) protects nothing this
  // service reads, and signature-wrapping attacks hide the genuine signature in exactly such places.
  if (
    signatures.some(
      (signature) => signature.parentNode !== parts.response && signature.parentNode !== parts.assertion,
    )
  ) {
    invalid('The response carries a signature on an element other than the Response or the assertion');
  }
  const responseSignatures = childElements(parts.response, SAML_NS.xmldsig, 'Signature');
  const assertionSignatures = childElements(parts.assertion, SAML_NS.xmldsig, 'Signature');
  if (responseSignatures.length > 1 || assertionSignatures.length > 1)
    invalid('The response or the assertion carries more than one signature');
  const [responseSignature] = responseSignatures;
  const [assertionSignature] = assertionSignatures;
  if (!responseSignature && !assertionSignature) invalid('The response is not signed');

  // Newlines as an XML processor reads them (xml-crypto parses the text itself).
  const text = xml.replace(/\r\n?/g, '\n');
  const response = responseSignature
    ? signedElement(text, responseSignature, parts.response, certificates, 'Response')
    : undefined;
  if (assertionSignature) {
    const assertion = signedElement(text, assertionSignature, parts.assertion, certificates, 'Assertion');
    return { response: response?.element, assertion: assertion.element, assertionXml: assertion.xml };
  }
  const assertion = assertionInSignedResponse(response?.element, parts.assertion);
  return {
    response: response?.element,
    assertion,
    assertionXml: new XMLSerializer().serializeToString(assertion),
  };
}

/** The element as `signature` covers it, once that signature verifies with one of `certificates`. */
function signedElement(
  xml: string,
  signature: Element,
  element: Element,
  certificates: readonly string[],
  kind: 'Response' | 'Assertion',
): { element: Element; xml: string } {
  const what = kind === 'Response' ? 'The Response signature' : 'The assertion signature';
  checkSignatureShape(signature, element, what);
  for (const certificate of keyInfoFirst(signature, certificates)) {
    const signed = verifiedBytes(xml, signature, certificate);
    if (signed === undefined) continue;
    const root = parseStrictXml(signed)?.documentElement;
    const namespace = kind === 'Response' ? SAML_NS.protocol : SAML_NS.assertion;
    if (!root || !isNamed(root, namespace, kind) || attributeOf(root, 'ID') !== attributeOf(element, 'ID'))
      invalid(`${what} does not cover the ${kind}`);
    return { element: root, xml: signed };
  }
  return invalid(
    `${what} does not verify with this connection's certificates`,
    certificateDetails(signature, certificates),
  );
}

/**
 * For the sign-in diagnostics: the fingerprint of the certificate the signature names in its
 * KeyInfo (never trusted, only shown, so an admin sees that the IdP rotated its key) beside the
 * fingerprints the connection trusts. A fingerprint is derived text, so nothing the sender wrote
 * is echoed.
 */
function certificateDetails(signature: Element, certificates: readonly string[]): SignInFailureDetails {
  const sent = sentCertificate(signature);
  const signing = sent ? parseCertificate(sent)?.fingerprint256 : undefined;
  return {
    trustedCertificatesSha256: certificates.flatMap((pem) => parseCertificate(pem)?.fingerprint256 ?? []),
    ...(signing === undefined ? {} : { signingCertificateSha256: signing }),
  };
}

/** The certificate text the signature's KeyInfo names, if any: a hint, never trusted. */
function sentCertificate(signature: Element): string | undefined {
  const keyInfo = childElements(signature, SAML_NS.xmldsig, 'KeyInfo')[0];
  const data = keyInfo && childElements(keyInfo, SAML_NS.xmldsig, 'X509Data')[0];
  const sent = data && childElements(data, SAML_NS.xmldsig, 'X509Certificate')[0];
  return sent?.textContent ?? undefined;
}

/**
 * The connection's certificates, the one the KeyInfo names first. Each certificate tried costs a
 * whole xml-crypto check (parse, canonicalization, digest) before its RSA step fails, so during a
 * rotation, with the IdP signing with the second certificate, the hint saves one. Only the order
 * changes: what verifies is still only ever one of `certificates`.
 */
function keyInfoFirst(signature: Element, certificates: readonly string[]): readonly string[] {
  if (certificates.length < 2) return certificates;
  const sent = sentCertificate(signature)?.replace(/\s+/g, '');
  if (!sent) return certificates;
  const named = certificates.filter((pem) => pemBody(pem) === sent);
  return [...named, ...certificates.filter((pem) => !named.includes(pem))];
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/**
 * What xml-crypto checks is taken as given; these are the shapes a SAML signature has, so anything
 * else is refused before any cryptography: one SignedInfo, one Reference, and that reference names
 * the element the signature sits in (an enveloped signature over its parent, SAML core 5.4.2).
 */
function checkSignatureShape(signature: Element, element: Element, what: string): void {
  const signedInfos = childElements(signature, SAML_NS.xmldsig, 'SignedInfo');
  const references = signedInfos[0] ? childElements(signedInfos[0], SAML_NS.xmldsig, 'Reference') : [];
  const reference = references[0];
  if (signedInfos.length !== 1 || references.length !== 1 || !reference)
    invalid(`${what} must have exactly one SignedInfo with exactly one Reference`);
  const id = attributeOf(element, 'ID');
  if (id === undefined || attributeOf(reference, 'URI') !== `#${id}`)
    invalid(`${what} does not reference the element it is attached to`);
  const transforms = childElements(reference, SAML_NS.xmldsig, 'Transforms').flatMap((list) =>
    childElements(list, SAML_NS.xmldsig, 'Transform'),
  );
  if (
    transforms.length > 2 ||
    transforms.some((transform) => !ALLOWED_TRANSFORMS.has(attributeOf(transform, 'Algorithm') ?? ''))
  )
    invalid(`${what} uses transforms this service does not accept`);
  // A comment splits a DigestValue or SignatureValue into pieces that XML signature libraries
  // have read differently from each other (CVE-2025-29774); no IdP writes one there.
  for (const node of [signature, ...descendantElements(signature)]) {
    for (let i = 0; i < node.childNodes.length; i += 1) {
      if (node.childNodes.item(i)?.nodeType === COMMENT_NODE) invalid(`${what} contains a comment`);
    }
  }
}

/** The canonical bytes `signature` covers, if it verifies with `certificate`; undefined otherwise. */
function verifiedBytes(xml: string, signature: Element, certificate: string): string | undefined {
  const publicCert = publicKeyOf(certificate);
  if (!publicCert) return undefined;
  const verifier = new SignedXml({
    publicCert,
    // Only the connection's certificates count, never one the message brings along in its KeyInfo.
    getCertFromKeyInfo: () => null,
  });
  // xml-crypto looks the referenced element up with one whole-document XPath per ID attribute name
  // (Id, ID, id), a large part of its cost. SAML's is ID, and checkSignatureShape has required the
  // reference to name the ID of the element the signature sits in. xml-crypto still refuses a
  // second element whose ID (any prefix) has that value; inspectResponse refuses one with an Id or
  // id of that value, so what gets digested is that element and nothing else.
  verifier.idAttributes = ['ID'];
  verifier.SignatureAlgorithms = only(verifier.SignatureAlgorithms, ALLOWED_SIGNATURE_METHODS);
  verifier.HashAlgorithms = only(verifier.HashAlgorithms, ALLOWED_DIGEST_METHODS);
  try {
    verifier.loadSignature(signature);
    if (!verifier.checkSignature(xml)) return undefined;
  } catch {
    // xml-crypto throws for a wrong signature value and for anything it cannot process.
    return undefined;
  }
  const signed = verifier.getSignedReferences();
  return signed.length === 1 ? signed[0] : undefined;
}

// A connection's certificates are the same few PEM strings on every sign-in; reading the key out
// of one each time costs more than the RSA verification itself. Bounded, as connections come and go.
const PUBLIC_KEYS_CACHED = 256;
const publicKeys = new Map<string, KeyObject>();

function publicKeyOf(certificate: string): KeyObject | undefined {
  let key = publicKeys.get(certificate);
  if (!key) {
    try {
      key = createPublicKey(certificate);
    } catch {
      return undefined;
    }
    if (publicKeys.size >= PUBLIC_KEYS_CACHED) publicKeys.delete(publicKeys.keys().next().value as string);
    publicKeys.set(certificate, key);
  }
  return key;
}

function only<T>(algorithms: Record<string, T>, allowed: ReadonlySet<string>): Record<string, T> {
  return Object.fromEntries(Object.entries(algorithms).filter(([uri]) => allowed.has(uri)));
}

/** An unsigned assertion is trusted only as part of the signed Response's bytes. */
function assertionInSignedResponse(response: Element | undefined, posted: Element): Element {
  const assertions = response ? childElements(response, SAML_NS.assertion, 'Assertion') : [];
  const [assertion] = assertions;
  if (!assertion || assertions.length !== 1 || attributeOf(assertion, 'ID') !== attributeOf(posted, 'ID'))
    invalid('The signed Response does not contain the assertion');
  return assertion;
}
