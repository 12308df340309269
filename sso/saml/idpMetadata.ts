// IdP metadata (uploaded by an org admin or fetched from a URL they gave) becomes the settings of
// a SAML connection. The document is hostile input: it is size-capped, refused if it carries a
// DTD, parsed strictly, and only the few values a connection needs are taken from it.
import { X509Certificate } from 'node:crypto';
import { idpUrlProblem, type InsecureHttpPolicy } from '../../domain/idpUrls';
import { SamlMetadataError } from './errors';
import {
  SAML_NS,
  attributeOf,
  childElements,
  descendantElements,
  hasDoctypeOrEntity,
  isNamed,
  parseStrictXml,
  textOf,
} from './xml';

export type SamlBinding = 'HTTP-Redirect' | 'HTTP-POST';

export interface IdpMetadata {
  entityId: string;
  /** Where AuthnRequests go, for {@link ssoBinding}. */
  ssoUrl: string;
  ssoBinding: SamlBinding;
  /** Every signing certificate (PEM), so a response signed by any of them is accepted during rotation. */
  certificates: string[];
  /** The IdP asks for signed AuthnRequests; this SP does not sign them, so the admin should be told. */
  wantAuthnRequestsSigned: boolean;
}

export interface ParseIdpMetadataOptions {
  /** Refuse larger documents (UTF-8 bytes). */
  maxBytes?: number;
  /** Plain-http SSO URLs: refused in production; loopback only by default. */
  insecureHttp?: InsecureHttpPolicy;
  /** For `validUntil`; defaults to the current time. */
  now?: Date;
}

/** Real IdP metadata is a few tens of KB; federation aggregates (megabytes) are not supported. */
export const IDP_METADATA_MAX_BYTES = 512 * 1024;

const BINDING_URNS: Record<SamlBinding, string> = {
  'HTTP-Redirect': 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  'HTTP-POST': 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
};
// This SP sends AuthnRequests by redirect, so a Redirect endpoint wins when the IdP offers both.
const BINDING_PREFERENCE: SamlBinding[] = ['HTTP-Redirect', 'HTTP-POST'];
const MAX_ENTITY_ID_LENGTH = 1024;

function invalid(message: string): SamlMetadataError {
  return new SamlMetadataError('saml_metadata_invalid', message);
}

export function parseIdpMetadata(xml: string, options: ParseIdpMetadataOptions = {}): IdpMetadata {
  const maxBytes = options.maxBytes ?? IDP_METADATA_MAX_BYTES;
  if (typeof xml !== 'string' || xml.trim() === '') throw invalid('The IdP metadata is empty');
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) {
    throw new SamlMetadataError(
      'saml_metadata_too_large',
      `The IdP metadata is larger than ${maxBytes} bytes`,
    );
  }
  if (hasDoctypeOrEntity(xml)) {
    throw new SamlMetadataError(
      'saml_doctype_forbidden',
      'The IdP metadata must not contain a DOCTYPE or ENTITY declaration',
    );
  }
  const doc = parseStrictXml(xml);
  if (!doc) throw invalid('The IdP metadata is not well-formed XML');

  const root = doc.documentElement;
  checkValidUntil(root, options.now ?? new Date());
  const entity = selectIdpEntity(root);
  checkValidUntil(entity, options.now ?? new Date());

  const entityId = attributeOf(entity, 'entityID')?.trim() ?? '';
  if (entityId === '' || entityId.length > MAX_ENTITY_ID_LENGTH) {
    throw invalid('The IdP metadata has no usable entityID');
  }
  const descriptor = idpDescriptorOf(entity);
  if (!descriptor) throw invalid('The IdP metadata has no SAML 2.0 IDPSSODescriptor');

  const { ssoUrl, ssoBinding } = selectSsoService(descriptor, options.insecureHttp ?? 'loopback');
  const certificates = signingCertificates(descriptor);
  if (certificates.length === 0) throw invalid('The IdP metadata has no signing certificate');

  return {
    entityId,
    ssoUrl,
    ssoBinding,
    certificates,
    wantAuthnRequestsSigned: attributeOf(descriptor, 'WantAuthnRequestsSigned') === 'true',
  };
}

/** The root itself, or the single IdP inside an EntitiesDescriptor. */
function selectIdpEntity(root: Element): Element {
  if (isNamed(root, SAML_NS.metadata, 'EntityDescriptor')) return root;
  if (!isNamed(root, SAML_NS.metadata, 'EntitiesDescriptor')) {
    throw invalid('The IdP metadata must be an EntityDescriptor');
  }
  const idps = descendantElements(root).filter(
    (element) =>
      isNamed(element, SAML_NS.metadata, 'EntityDescriptor') && idpDescriptorOf(element) !== undefined,
  );
  const [only, ...others] = idps;
  if (!only || others.length > 0)
    throw invalid('The IdP metadata must describe exactly one identity provider');
  return only;
}

function idpDescriptorOf(entity: Element): Element | undefined {
  return childElements(entity, SAML_NS.metadata, 'IDPSSODescriptor').find((descriptor) =>
    (attributeOf(descriptor, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(SAML_NS.protocol),
  );
}

function checkValidUntil(element: Element, now: Date): void {
  const validUntil = attributeOf(element, 'validUntil');
  if (validUntil === undefined) return;
  const at = Date.parse(validUntil);
  if (Number.isNaN(at)) throw invalid('The IdP metadata has an unreadable validUntil');
  if (at <= now.getTime())
    throw new SamlMetadataError('saml_metadata_expired', 'The IdP metadata has expired (validUntil)');
}

function selectSsoService(
  descriptor: Element,
  insecureHttp: InsecureHttpPolicy,
): { ssoUrl: string; ssoBinding: SamlBinding } {
  const services = childElements(descriptor, SAML_NS.metadata, 'SingleSignOnService');
  for (const binding of BINDING_PREFERENCE) {
    const service = services.find((candidate) => attributeOf(candidate, 'Binding') === BINDING_URNS[binding]);
    if (!service) continue;
    const location = attributeOf(service, 'Location')?.trim() ?? '';
    return { ssoUrl: checkedSsoUrl(location, insecureHttp), ssoBinding: binding };
  }
  throw invalid('The IdP metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding');
}

// Browsers are sent to this URL, so it must be a web URL (never javascript: or data:).
function checkedSsoUrl(location: string, insecureHttp: InsecureHttpPolicy): string {
  const problem = idpUrlProblem(location, insecureHttp);
  if (problem) throw invalid(`The IdP SingleSignOnService Location ${problem}`);
  return new URL(location).href;
}

/** Certificates of KeyDescriptors for signing (or with no `use`, which means both), deduplicated. */
function signingCertificates(descriptor: Element): string[] {
  const byFingerprint = new Map<string, string>();
  for (const keyDescriptor of childElements(descriptor, SAML_NS.metadata, 'KeyDescriptor')) {
    const use = attributeOf(keyDescriptor, 'use');
    if (use !== undefined && use !== 'signing') continue;
    for (const keyInfo of childElements(keyDescriptor, SAML_NS.xmldsig, 'KeyInfo')) {
      for (const x509Data of childElements(keyInfo, SAML_NS.xmldsig, 'X509Data')) {
        for (const element of childElements(x509Data, SAML_NS.xmldsig, 'X509Certificate')) {
          const certificate = parseCertificate(textOf(element));
          byFingerprint.set(certificate.fingerprint256, certificate.toString());
        }
      }
    }
  }
  return [...byFingerprint.values()];
}

function parseCertificate(base64Text: string): X509Certificate {
  const body = base64Text.replace(/\s+/g, '');
  if (body === '' || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    throw invalid('The IdP metadata contains a certificate that is not base64');
  }
  try {
    return new X509Certificate(Buffer.from(body, 'base64'));
  } catch {
    throw invalid('The IdP metadata contains a certificate that is not a valid X.509 certificate');
  }
}
