// Checks around node-saml's processing of a posted SAMLResponse.
//
// Before node-saml: the raw form field is bounded (size, encoding, DTDs, nesting and element
// count, before any DOM is built), the posted document is checked for what can be refused without
// trusting it (assertion count, who it is for, and when), and every signature in it must verify
// (signatures.ts, the only signature verification on the ACS path). The envelope fields are then
// checked again on the signed Response bytes when the Response is signed, and the assertion only
// ever as signed bytes: the issuer, the bearer confirmation's Recipient and InResponseTo, the
// validity windows and the audience, including what node-saml 5 does not check on assertions.
//
// node-saml then gets those verified assertion bytes (samlClient.ts); afterwards its profile is
// checked to come from them, and every attribute value is read from the same signed DOM.
import { clipList, clipText, type SignInFailureDetails } from '../../domain/signInDiagnostics';
import { SamlValidationError, type SamlValidationErrorCode } from './errors';
import { ALLOWED_DIGEST_METHODS, ALLOWED_SIGNATURE_METHODS, verifySignatures } from './signatures';
import {
  SAML_NS,
  attributeOf,
  checkXmlShape,
  childElements,
  containsProcessingInstruction,
  descendantElements,
  firstChildElement,
  hasDoctypeOrEntity,
  isNamed,
  parseStrictXml,
  textOf,
  type XmlShapeLimits,
} from './xml';

export interface ResponseExpectations {
  idpEntityId: string;
  spEntityId: string;
  acsUrl: string;
  clockSkewMs: number;
  nowMs: number;
  /** PEM; every signature in a response must verify with one of them. */
  idpCertificates: readonly string[];
}

/**
 * Base64 characters accepted in the SAMLResponse field. Real responses are a few KB; Entra ID with
 * many group claims stays well under 100 KB.
 */
export const SAML_RESPONSE_MAX_LENGTH = 256 * 1024;

/**
 * What a response may contain before any DOM is built. A real one nests about 10 deep (Response,
 * Assertion, Signature, SignedInfo, Reference, Transforms...) and has 50 to 300 elements (Entra ID
 * puts at most 150 groups in a SAML token, then sends a link instead), with one to three
 * attributes each. The limits leave room for IdPs that send every directory group (about 1,900
 * values) while bounding what the DOM, canonicalization and XPath passes cost: about 30 µs per
 * element, so some 60 ms at the limit instead of a second for 27,000 elements.
 */
export const SAML_RESPONSE_SHAPE: XmlShapeLimits = { maxDepth: 64, maxElements: 2_000, maxAttributes: 4_000 };

const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
// xs:dateTime as SAML requires it (UTC); Date.parse alone accepts far more than that.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const SAML_ID = /^[A-Za-z_][\w.-]{0,255}$/;
const STATUS_URN = /^urn:oasis:names:tc:SAML:2\.0:status:[A-Za-z]{1,64}$/;

// `details` name what the response says about the IdP's configuration for the sign-in
// diagnostics; values read from the XML are clipped (clipText), as the sender may be hostile.
function fail(code: SamlValidationErrorCode, message: string, details?: SignInFailureDetails): never {
  throw new SamlValidationError(code, message, details);
}

/** The form field, size-capped and strictly base64, with its XML decoded as UTF-8. */
export function decodeSamlResponseField(value: unknown, maxLength: number): { base64: string; xml: string } {
  if (value === undefined || value === null || value === '')
    fail('saml_response_missing', 'No SAMLResponse was posted');
  if (typeof value !== 'string')
    fail('saml_response_malformed', 'SAMLResponse must be a single string field');
  if (value.length > maxLength) fail('saml_response_too_large', 'SAMLResponse is too large');
  // Some IdPs wrap the base64 at 64 or 76 characters.
  const base64 = value.replace(/[\r\n\t ]/g, '');
  if (base64.length === 0 || base64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    fail('saml_response_malformed', 'SAMLResponse is not valid base64');
  }
  let xml: string;
  try {
    xml = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(base64, 'base64'));
  } catch {
    fail('saml_response_malformed', 'SAMLResponse is not UTF-8 XML');
  }
  if (hasDoctypeOrEntity(xml))
    fail('saml_doctype_forbidden', 'SAMLResponse must not contain a DOCTYPE or ENTITY declaration');
  const shape = checkXmlShape(xml, SAML_RESPONSE_SHAPE);
  if (shape === 'too_complex')
    fail('saml_response_too_complex', 'SAMLResponse has more elements or nesting than a SAML response needs');
  if (shape === 'malformed') fail('saml_response_malformed', 'SAMLResponse is not well-formed XML');
  return { base64, xml };
}

export interface VerifiedResponse {
  /** The Response's InResponseTo: a well-formed SAML ID, repeated by the bearer confirmation. */
  inResponseTo: string;
  /** The assertion as its signature covers it, checked. */
  assertion: Element;
  /** `assertion` as text, for node-saml. */
  assertionXml: string;
}

/**
 * Checks the posted document and verifies every signature in it; returns the verified, checked
 * assertion, which is all node-saml then reads. Envelope fields are checked on the posted
 * document first (refusing on unverified data is safe, and an unsigned IdP error response still
 * gets its own code), then again on the signed bytes when the Response is signed; the assertion
 * is checked only as signed bytes.
 */
export function inspectResponse(xml: string, expect: ResponseExpectations): VerifiedResponse {
  const doc = parseStrictXml(xml);
  if (!doc) fail('saml_response_malformed', 'SAMLResponse is not well-formed XML');
  const response = doc.documentElement;
  if (!isNamed(response, SAML_NS.protocol, 'Response'))
    fail('saml_response_malformed', 'SAMLResponse is not a SAML 2.0 Response');
  if (attributeOf(response, 'Version') !== '2.0')
    fail('saml_response_malformed', 'SAMLResponse is not SAML version 2.0');
  // A processing instruction inside a text node splits it like a comment does; nothing legitimate needs one.
  if (containsProcessingInstruction(response))
    fail('saml_response_malformed', 'SAMLResponse contains a processing instruction');

  const elements = [response, ...descendantElements(response)];
  checkUniqueIds(elements);
  const postedInResponseTo = checkEnvelope(response, expect);
  checkSignatureAlgorithms(elements);

  if (
    elements.some(
      (element) => element.localName === 'EncryptedAssertion' || element.localName === 'EncryptedID',
    )
  ) {
    fail(
      'saml_encrypted_assertion_unsupported',
      'Encrypted assertions are not supported; configure the IdP to sign, not encrypt',
    );
  }
  // Counted anywhere and in any namespace: a second assertion beside or inside the signed one is
  // the shape of every signature-wrapping attack, and a real IdP sends exactly one.
  const assertions = elements.filter((element) => element.localName === 'Assertion');
  if (assertions.length > 1)
    fail('saml_multiple_assertions', 'The response contains more than one assertion');
  const assertion = assertions[0];
  if (
    !assertion ||
    assertion.parentNode !== response ||
    !isNamed(assertion, SAML_NS.assertion, 'Assertion')
  ) {
    fail('saml_response_malformed', 'The response contains no assertion');
  }

  const signed = verifySignatures(xml, { response, assertion }, expect.idpCertificates);
  if (signed.response && checkEnvelope(signed.response, expect) !== postedInResponseTo)
    fail('saml_signature_invalid', 'The signed Response does not answer the request the posted one names');
  const inResponseTo = postedInResponseTo;
  if (!SAML_ID.test(inResponseTo))
    fail('saml_unsolicited_response', 'The response does not answer a sign-in request from this service');
  checkAssertion(signed.assertion, expect, inResponseTo);
  return { inResponseTo, assertion: signed.assertion, assertionXml: signed.assertionXml };
}

/** Issuer, Destination and Status of a Response; returns its InResponseTo ('' when absent). */
function checkEnvelope(response: Element, expect: ResponseExpectations): string {
  checkResponseIssuer(response, expect);
  const destination = attributeOf(response, 'Destination');
  if (destination !== undefined && !sameUrl(destination, expect.acsUrl)) {
    fail('saml_destination_mismatch', 'The response was sent to another destination than this ACS URL', {
      expectedDestination: expect.acsUrl,
      receivedDestination: clipText(destination),
    });
  }
  checkStatus(response);
  return attributeOf(response, 'InResponseTo') ?? '';
}

/**
 * After node-saml: its profile must come from the assertion verified here (and nowhere else in the
 * posted document). Answers every text value of every attribute of that assertion by Name, repeats
 * kept: node-saml's profile keeps only the last of two Attribute elements with the same Name, which
 * would hide a second email (rule 11).
 */
export function checkVerifiedAssertion(
  assertionXml: string | undefined,
  verified: VerifiedResponse,
): { attributeValues: Record<string, string[]> } {
  if (assertionXml !== verified.assertionXml)
    fail('saml_signature_invalid', 'The signed assertion is not the assertion in the response');
  return { attributeValues: attributeValuesOf(verified.assertion) };
}

function attributeValuesOf(assertion: Element): Record<string, string[]> {
  const values = new Map<string, string[]>();
  for (const statement of childElements(assertion, SAML_NS.assertion, 'AttributeStatement')) {
    for (const attribute of childElements(statement, SAML_NS.assertion, 'Attribute')) {
      const name = attributeOf(attribute, 'Name');
      if (name === undefined || name === '__proto__') continue;
      const texts = childElements(attribute, SAML_NS.assertion, 'AttributeValue')
        // Structured values (a NameID inside an AttributeValue) are not text, as in samlClient.ts.
        .filter((value) => descendantElements(value).length === 0)
        .map(textOf);
      values.set(name, [...(values.get(name) ?? []), ...texts]);
    }
  }
  return Object.fromEntries(values);
}

function checkUniqueIds(elements: Element[]): void {
  const seen = new Set<string>();
  for (const element of elements) {
    for (const name of ['ID', 'Id', 'id']) {
      const id = attributeOf(element, name);
      if (id === undefined) continue;
      if (seen.has(id)) fail('saml_response_malformed', 'The response contains duplicate IDs');
      seen.add(id);
    }
  }
}

// The Response's own Issuer is optional (SAML profiles 4.1.4.2), but when present must be the IdP.
function checkResponseIssuer(response: Element, expect: ResponseExpectations): void {
  const issuers = childElements(response, SAML_NS.assertion, 'Issuer');
  if (issuers.length > 1) fail('saml_response_malformed', 'The response has more than one Issuer');
  const issuer = issuers[0];
  if (issuer && textOf(issuer) !== expect.idpEntityId) {
    fail(
      'saml_issuer_mismatch',
      'The response was issued by another identity provider than this connection',
      { expectedIssuer: expect.idpEntityId, receivedIssuer: clipText(textOf(issuer)) },
    );
  }
}

function checkStatus(response: Element): void {
  const status = firstChildElement(response, SAML_NS.protocol, 'Status');
  const code = status && firstChildElement(status, SAML_NS.protocol, 'StatusCode');
  const value = code && attributeOf(code, 'Value');
  if (!code || value === undefined) fail('saml_response_malformed', 'The response has no status');
  if (value === STATUS_SUCCESS) return;
  // Status URNs are a fixed vocabulary and help the admin; anything else is not repeated.
  const second = firstChildElement(code, SAML_NS.protocol, 'StatusCode');
  const secondValue = second && attributeOf(second, 'Value');
  const shown = [value, secondValue].filter(
    (urn): urn is string => urn !== undefined && STATUS_URN.test(urn),
  );
  fail(
    'saml_idp_error',
    `The identity provider refused the sign-in${shown.length > 0 ? ` (${shown.join(' / ')})` : ''}`,
    { statusCodes: shown },
  );
}

function checkAssertion(assertion: Element, expect: ResponseExpectations, inResponseTo: string): void {
  if (attributeOf(assertion, 'Version') !== '2.0' || !SAML_ID.test(attributeOf(assertion, 'ID') ?? '')) {
    fail('saml_response_malformed', 'The assertion has no valid ID or version');
  }
  const issuers = childElements(assertion, SAML_NS.assertion, 'Issuer');
  if (issuers.length !== 1 || textOf(issuers[0] as Element) !== expect.idpEntityId) {
    fail(
      'saml_issuer_mismatch',
      'The assertion was issued by another identity provider than this connection',
      {
        expectedIssuer: expect.idpEntityId,
        ...(issuers.length === 1 ? { receivedIssuer: clipText(textOf(issuers[0] as Element)) } : {}),
      },
    );
  }
  const subjects = childElements(assertion, SAML_NS.assertion, 'Subject');
  checkOneSubject(subjects);
  const subject = subjects[0];
  if (subjects.length !== 1 || !subject)
    fail('saml_response_malformed', 'The assertion must have exactly one Subject');
  const nameIds = childElements(subject, SAML_NS.assertion, 'NameID');
  if (nameIds.length !== 1 || textOf(nameIds[0] as Element) === '') {
    fail('saml_response_malformed', 'The assertion subject must have exactly one NameID');
  }
  checkBearerConfirmation(subject, expect, inResponseTo);
  checkConditions(assertion, expect);
  const authnStatements = childElements(assertion, SAML_NS.assertion, 'AuthnStatement');
  if (authnStatements.length === 0) fail('saml_response_malformed', 'The assertion has no AuthnStatement');
  for (const statement of authnStatements) {
    checkWindow(expect, undefined, attributeOf(statement, 'SessionNotOnOrAfter'));
  }
}

/**
 * Rule 11: two subjects (two Subject elements, or two NameIDs in one) with different values are
 * an ambiguous identity, refused with its own code before any other check picks one of them. The
 * same NameID written twice is not ambiguous, but still not a valid Subject (refused below).
 */
function checkOneSubject(subjects: Element[]): void {
  const nameIds = subjects
    .flatMap((subject) => childElements(subject, SAML_NS.assertion, 'NameID'))
    .map(textOf);
  const distinct = new Set(nameIds).size;
  if (distinct > 1) {
    fail('sso_ambiguous_identity', 'The assertion names more than one subject', {
      ambiguous: { source: 'subject', names: ['NameID'], distinctValues: distinct },
    });
  }
}

// SAML profiles 4.1.4.2: a bearer SubjectConfirmationData names the ACS URL (Recipient), the
// request it answers (InResponseTo) and an expiry (NotOnOrAfter). One such confirmation suffices;
// when none passes, the first one's reason is reported.
function checkBearerConfirmation(subject: Element, expect: ResponseExpectations, inResponseTo: string): void {
  const bearers = childElements(subject, SAML_NS.assertion, 'SubjectConfirmation').filter(
    (confirmation) => attributeOf(confirmation, 'Method') === BEARER,
  );
  if (bearers.length === 0)
    fail('saml_response_malformed', 'The assertion has no bearer SubjectConfirmation');
  let firstFailure: unknown;
  for (const confirmation of bearers) {
    try {
      checkConfirmationData(confirmation, expect, inResponseTo);
      return;
    } catch (error) {
      firstFailure ??= error;
    }
  }
  throw firstFailure;
}

function checkConfirmationData(
  confirmation: Element,
  expect: ResponseExpectations,
  inResponseTo: string,
): void {
  const data = firstChildElement(confirmation, SAML_NS.assertion, 'SubjectConfirmationData');
  if (!data) fail('saml_response_malformed', 'The bearer SubjectConfirmation has no SubjectConfirmationData');
  const recipient = attributeOf(data, 'Recipient');
  if (recipient === undefined || !sameUrl(recipient, expect.acsUrl)) {
    fail('saml_destination_mismatch', 'The assertion is meant for another recipient than this ACS URL', {
      expectedDestination: expect.acsUrl,
      ...(recipient === undefined ? {} : { receivedDestination: clipText(recipient) }),
    });
  }
  if (attributeOf(data, 'InResponseTo') !== inResponseTo) {
    fail('saml_unsolicited_response', 'The assertion does not answer the sign-in request of this response');
  }
  const notOnOrAfter = attributeOf(data, 'NotOnOrAfter');
  if (notOnOrAfter === undefined)
    fail('saml_response_malformed', 'The bearer SubjectConfirmationData has no NotOnOrAfter');
  checkWindow(expect, attributeOf(data, 'NotBefore'), notOnOrAfter);
}

function checkConditions(assertion: Element, expect: ResponseExpectations): void {
  const conditionsList = childElements(assertion, SAML_NS.assertion, 'Conditions');
  const conditions = conditionsList[0];
  if (conditionsList.length !== 1 || !conditions)
    fail('saml_response_malformed', 'The assertion must have exactly one Conditions');
  checkWindow(expect, attributeOf(conditions, 'NotBefore'), attributeOf(conditions, 'NotOnOrAfter'));
  // Every AudienceRestriction must name this SP (SAML core 2.5.1.4).
  const restrictions = childElements(conditions, SAML_NS.assertion, 'AudienceRestriction');
  const audiencesOf = (restriction: Element) =>
    childElements(restriction, SAML_NS.assertion, 'Audience').map(textOf);
  const details = {
    expectedAudience: expect.spEntityId,
    receivedAudiences: clipList(restrictions.flatMap(audiencesOf)),
  };
  if (restrictions.length === 0)
    fail('saml_audience_mismatch', 'The assertion is not restricted to an audience', details);
  for (const restriction of restrictions) {
    if (!audiencesOf(restriction).includes(expect.spEntityId))
      fail('saml_audience_mismatch', 'The assertion is meant for another service provider', details);
  }
}

function checkWindow(
  expect: ResponseExpectations,
  notBefore: string | undefined,
  notOnOrAfter: string | undefined,
): void {
  const window = {
    checkedAt: new Date(expect.nowMs).toISOString(),
    clockSkewSeconds: Math.round(expect.clockSkewMs / 1000),
  };
  // parseDateTime has accepted the timestamps as xs:dateTime, so they are short and plain.
  if (notBefore !== undefined && expect.nowMs + expect.clockSkewMs < parseDateTime(notBefore)) {
    fail('saml_assertion_not_yet_valid', 'The assertion is not valid yet', { ...window, notBefore });
  }
  if (notOnOrAfter !== undefined && expect.nowMs - expect.clockSkewMs >= parseDateTime(notOnOrAfter)) {
    fail('saml_assertion_expired', 'The assertion has expired', { ...window, notOnOrAfter });
  }
}

function parseDateTime(value: string): number {
  const at = DATE_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) fail('saml_response_malformed', 'The response contains an unreadable timestamp');
  return at;
}

// Compared as parsed URLs so that harmless spelling differences (host case, default port) pass.
function sameUrl(actual: string, expected: string): boolean {
  try {
    return new URL(actual).href === new URL(expected).href;
  } catch {
    return false;
  }
}

// Checked on the posted document, before any cryptography: refusing is always safe, and it names
// the problem (an IdP still configured for SHA-1) instead of reporting a bad signature.
function checkSignatureAlgorithms(elements: Element[]): void {
  for (const element of elements) {
    if (element.namespaceURI !== SAML_NS.xmldsig) continue;
    const allowed =
      element.localName === 'SignatureMethod'
        ? ALLOWED_SIGNATURE_METHODS
        : element.localName === 'DigestMethod'
          ? ALLOWED_DIGEST_METHODS
          : undefined;
    if (allowed && !allowed.has(attributeOf(element, 'Algorithm') ?? '')) {
      fail(
        'saml_signature_algorithm_refused',
        'The response is signed with a hash this service does not accept (use SHA-256)',
      );
    }
  }
}
