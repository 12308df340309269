// The SAML service provider for one connection: sends AuthnRequests (HTTP-Redirect) and accepts
// only the signed answer to one of them (HTTP-POST). node-saml builds the AuthnRequests, consumes
// the request ID a response answers and reads the assertion (its issuer, subject confirmations,
// conditions, audience and the profile); responseChecks.ts and signatures.ts check the posted
// document and verify every signature in it (every one present must verify, not just one, as
// node-saml 5 would have it), once, and hand node-saml only the verified assertion bytes, so no
// signature is verified twice. Every refusal gets a code.
import { randomBytes } from 'node:crypto';
import {
  SAML,
  SamlStatusError,
  ValidateInResponseTo,
  type Profile,
  type SamlConfig,
} from '@node-saml/node-saml';
import { parseCertificate } from '../certificates';
import { SamlRequestStoreError, SamlValidationError, type SamlValidationErrorCode } from './errors';
import { createSamlCacheProvider, type SamlRequestStore } from './requestStore';
import {
  SAML_RESPONSE_MAX_LENGTH,
  checkVerifiedAssertion,
  decodeSamlResponseField,
  inspectResponse,
} from './responseChecks';
import type { SamlBinding } from './idpMetadata';
import { NAME_ID_FORMATS } from './spMetadata';

export interface SamlClientOptions {
  /** Request IDs are stored per connection: a response is accepted only by the connection that asked. */
  connectorId: string;
  spEntityId: string;
  acsUrl: string;
  idp: {
    entityId: string;
    ssoUrl: string;
    /** PEM or bare base64; a signature by any of them is accepted, which is how rotation works. */
    certificates: readonly string[];
  };
  clockSkewMs: number;
  /** How long an AuthnRequest may wait for its answer. */
  requestTtlMs: number;
  requestStore: SamlRequestStore;
  /** Cap on the posted SAMLResponse field, in base64 characters. */
  maxResponseLength?: number;
  /** NameIDPolicy Format of the AuthnRequest; "unspecified" lets the IdP use what it is configured for. */
  nameIdFormat?: string;
}

export interface SamlAssertion {
  issuer: string;
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  /** The AuthnRequest this answers; the caller may match it against the browser that started it. */
  inResponseTo: string;
  attributes: Record<string, string | string[]>;
  /**
   * Every value of every attribute as the signed assertion has them, repeats and repeated
   * Attribute elements kept (node-saml's `attributes` keep the last of two elements): what rule 11
   * checks for a second email.
   */
  signedAttributeValues: Record<string, string[]>;
  /** As posted; not covered by any signature. */
  relayState?: string;
}

export interface SamlClient {
  buildLoginUrl(relayState: string): Promise<{ url: string; requestId: string }>;
  /** For IdPs that take AuthnRequests by HTTP-POST only: a self-submitting HTML form. */
  buildLoginForm(relayState: string): Promise<{ html: string; requestId: string }>;
  validatePostResponse(body: { SAMLResponse?: unknown; RelayState?: unknown }): Promise<SamlAssertion>;
}

const MAX_CLOCK_SKEW_MS = 5 * 60_000;
// Generous (the SAML bindings spec says 80 bytes, which few deployments honour) but bounded.
const MAX_RELAY_STATE_LENGTH = 4096;

export function createSamlClient(options: SamlClientOptions): SamlClient {
  checkOptions(options);
  const idpCertificates = options.idp.certificates.map(toPem);
  const maxResponseLength = options.maxResponseLength ?? SAML_RESPONSE_MAX_LENGTH;

  // node-saml's SAML object is cheap (a copy of its options) and holds per-call state (its cache
  // provider), so each login and each response gets its own.
  function samlFor(
    requestId: string | undefined,
    binding: SamlBinding = 'HTTP-Redirect',
  ): VerifiedResponseSaml {
    const cacheProvider = createSamlCacheProvider(options.requestStore, {
      connectorId: options.connectorId,
      requestTtlMs: options.requestTtlMs,
    });
    return new VerifiedResponseSaml(nodeSamlConfig(options, cacheProvider, requestId, binding));
  }

  // "_" first: SAML IDs are xs:ID (NCName), which must not start with a digit.
  const newRequestId = () => `_${randomBytes(20).toString('hex')}`;

  return {
    async buildLoginUrl(relayState) {
      const requestId = newRequestId();
      const url = await samlFor(requestId).getAuthorizeUrlAsync(relayState, undefined, {});
      return { url, requestId };
    },

    async buildLoginForm(relayState) {
      const requestId = newRequestId();
      const html = await samlFor(requestId, 'HTTP-POST').getAuthorizeFormAsync(relayState, undefined, {});
      return { html, requestId };
    },

    async validatePostResponse(body) {
      const relayState = readRelayState(body.RelayState);
      const { xml } = decodeSamlResponseField(body.SAMLResponse, maxResponseLength);
      const expectations = {
        idpEntityId: options.idp.entityId,
        spEntityId: options.spEntityId,
        acsUrl: options.acsUrl,
        clockSkewMs: options.clockSkewMs,
        idpCertificates,
      };
      const verified = inspectResponse(xml, { ...expectations, nowMs: Date.now() });

      let profile: Profile | null;
      try {
        ({ profile } = await samlFor(undefined).processVerifiedAssertion(
          verified.assertionXml,
          xml,
          verified.inResponseTo,
        ));
      } catch (error) {
        throw translateNodeSamlError(error);
      }
      if (!profile) throw new SamlValidationError('saml_response_invalid', 'The response carries no sign-in');
      const { attributeValues } = checkVerifiedAssertion(profile.getAssertionXml?.(), verified);
      return {
        ...toSamlAssertion(options, profile, verified.inResponseTo, relayState),
        signedAttributeValues: attributeValues,
      };
    },
  };
}

/**
 * What node-saml's validatePostResponseAsync does after its signature verification, for a response
 * whose every signature inspectResponse has verified: the request ID is consumed through the cache
 * provider first, then node-saml checks and reads the verified assertion bytes (issuer, subject
 * confirmations and their InResponseTo, conditions, audience, profile), and a refusal burns the
 * request ID, with the calls and in the order validatePostResponseAsync makes them. What it leaves
 * out (its parse of the posted document, its count of assertions there, its own verification of
 * the signatures) inspectResponse has done, more strictly.
 */
class VerifiedResponseSaml extends SAML {
  async processVerifiedAssertion(
    assertionXml: string,
    responseXml: string,
    inResponseTo: string,
  ): Promise<{ profile: Profile | null; loggedOut: boolean }> {
    try {
      await this.validateInResponseTo(inResponseTo);
      return await this.processValidlySignedAssertionAsync(assertionXml, responseXml, inResponseTo);
    } catch (error) {
      if (this.mustValidateInResponseTo(Boolean(inResponseTo)))
        await this.cacheProvider.removeAsync(inResponseTo);
      throw error;
    }
  }
}

// Connections are read per sign-in, so the same few certificates are parsed again and again.
const PEMS_CACHED = 256;
const pems = new Map<string, string>();

function toPem(certificate: string): string {
  const cached = pems.get(certificate);
  if (cached !== undefined) return cached;
  const parsed = parseCertificate(certificate);
  if (!parsed) throw new TypeError('A SAML connection certificate is not an X.509 certificate');
  const pem = parsed.toString();
  if (pems.size >= PEMS_CACHED) pems.delete(pems.keys().next().value as string);
  pems.set(certificate, pem);
  return pem;
}

function checkOptions(options: SamlClientOptions): void {
  if (options.idp.certificates.length === 0)
    throw new TypeError('A SAML connection needs at least one IdP certificate');
  // node-saml reads -1 as "skip every time check", so the range is enforced here.
  if (
    !Number.isFinite(options.clockSkewMs) ||
    options.clockSkewMs < 0 ||
    options.clockSkewMs > MAX_CLOCK_SKEW_MS
  ) {
    throw new TypeError(`clockSkewMs must be between 0 and ${MAX_CLOCK_SKEW_MS}`);
  }
  if (!Number.isFinite(options.requestTtlMs) || options.requestTtlMs <= 0)
    throw new TypeError('requestTtlMs must be positive');
}

function nodeSamlConfig(
  options: SamlClientOptions,
  cacheProvider: SamlConfig['cacheProvider'],
  requestId: string | undefined,
  binding: SamlBinding,
): SamlConfig {
  return {
    issuer: options.spEntityId,
    callbackUrl: options.acsUrl,
    entryPoint: options.idp.ssoUrl,
    idpIssuer: options.idp.entityId,
    idpCert: [...options.idp.certificates],
    audience: options.spEntityId,
    // Signatures: node-saml 5 with wantAssertionsSigned=true demands a signature ON the assertion
    // and refuses a response whose only signature is the Response's (Keycloak's default, an Entra
    // ID option). With both flags false it still requires a valid signature, on the Response or
    // else on the assertion, and then reads the assertion only from the bytes that signature
    // covers, so a response-only signature protects the assertion just as well. It would ignore a
    // broken signature beside a valid one; inspectResponse has refused that already. The SP
    // metadata still asks IdPs for signed assertions.
    wantAssertionsSigned: false,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: options.requestTtlMs,
    cacheProvider,
    acceptedClockSkewMs: options.clockSkewMs,
    // IdPs differ in which AuthnContext they can satisfy (Entra refuses unknown ones); MFA is the IdP's call.
    disableRequestedAuthnContext: true,
    identifierFormat: options.nameIdFormat ?? NAME_ID_FORMATS.unspecified,
    authnRequestBinding: binding,
    // The POST binding carries the request base64-encoded but not deflated (SAML bindings §3.5.4).
    skipRequestCompression: binding === 'HTTP-POST',
    ...(requestId === undefined ? {} : { generateUniqueId: () => requestId }),
  };
}

function readRelayState(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > MAX_RELAY_STATE_LENGTH) {
    throw new SamlValidationError('saml_response_malformed', 'RelayState must be a short string');
  }
  return value;
}

// node-saml reports failures as plain Errors; their messages are matched here only to pick a code,
// and never passed on: some of them quote values from the response.
export const NODE_SAML_ERRORS: [RegExp, SamlValidationErrorCode, string][] = [
  [/multiple assertions/i, 'saml_multiple_assertions', 'The response contains more than one assertion'],
  [
    /InResponseTo/i,
    'saml_unsolicited_response',
    'The response does not answer a pending sign-in request from this service',
  ],
  [
    /signature|signed|transform|reference/i,
    'saml_signature_invalid',
    'The response is not signed by this identity provider',
  ],
  [/not yet valid/i, 'saml_assertion_not_yet_valid', 'The assertion is not valid yet'],
  [/expired|subject confirmation/i, 'saml_assertion_expired', 'The assertion has expired'],
  [/audience/i, 'saml_audience_mismatch', 'The assertion is meant for another service provider'],
  [/decrypt|encrypted/i, 'saml_encrypted_assertion_unsupported', 'Encrypted assertions are not supported'],
];

export function translateNodeSamlError(error: unknown): Error {
  if (error instanceof SamlRequestStoreError || error instanceof SamlValidationError) return error;
  if (error instanceof SamlStatusError) {
    return new SamlValidationError('saml_idp_error', 'The identity provider refused the sign-in');
  }
  const message = error instanceof Error ? error.message : '';
  const known = NODE_SAML_ERRORS.find(([pattern]) => pattern.test(message));
  return known
    ? new SamlValidationError(known[1], known[2])
    : new SamlValidationError('saml_response_invalid', 'The SAML response could not be validated');
}

function toSamlAssertion(
  options: SamlClientOptions,
  profile: Profile,
  inResponseTo: string,
  relayState: string | undefined,
): Omit<SamlAssertion, 'signedAttributeValues'> {
  return {
    // checkVerifiedAssertion compared the trimmed issuer with the connection's; node-saml's copies
    // keep the whitespace of pretty-printed XML.
    issuer: options.idp.entityId,
    nameId: profile.nameID.trim(),
    ...(typeof profile.nameIDFormat === 'string' ? { nameIdFormat: profile.nameIDFormat } : {}),
    ...(typeof profile.sessionIndex === 'string' ? { sessionIndex: profile.sessionIndex } : {}),
    inResponseTo,
    attributes: textAttributes(profile.attributes),
    ...(relayState === undefined ? {} : { relayState }),
  };
}

/**
 * node-saml gives each attribute's text, a list of texts, or, for structured values (a NameID
 * inside an AttributeValue), an object; only text is kept. `__proto__` is dropped so the result can
 * be copied into plain objects safely.
 */
function textAttributes(raw: unknown): Record<string, string | string[]> {
  const result = new Map<string, string | string[]>();
  if (typeof raw !== 'object' || raw === null) return {};
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__proto__') continue;
    if (typeof value === 'string') {
      result.set(name, value.trim());
    } else if (Array.isArray(value)) {
      const texts = value
        .filter((item): item is string => typeof item === 'string')
        .map((item) => item.trim());
      if (texts.length > 0) result.set(name, texts);
    }
  }
  return Object.fromEntries(result);
}
