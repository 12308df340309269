// The SP metadata an org admin uploads to their IdP. node-saml writes the document; it only knows
// one NameIDFormat, so the others this SP accepts are added to its output.
import { generateServiceProviderMetadata } from '@node-saml/node-saml';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SAML_NS, childElements } from './xml';

export const NAME_ID_FORMATS = {
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

export interface SpMetadataOptions {
  spEntityId: string;
  acsUrl: string;
  /** In order of preference; defaults to email address, persistent, unspecified. */
  nameIdFormats?: readonly string[];
}

const TEXT_NODE = 3;
const DEFAULT_NAME_ID_FORMATS = [
  NAME_ID_FORMATS.emailAddress,
  NAME_ID_FORMATS.persistent,
  NAME_ID_FORMATS.unspecified,
];

/**
 * SP metadata XML: the ACS URL with the HTTP-POST binding, unsigned AuthnRequests (this SP has no
 * signing key) and WantAssertionsSigned="true", which tells the IdP to sign every assertion.
 */
export function buildSpMetadata(options: SpMetadataOptions): string {
  const [firstFormat, ...otherFormats] = options.nameIdFormats ?? DEFAULT_NAME_ID_FORMATS;
  const xml = generateServiceProviderMetadata({
    issuer: options.spEntityId,
    callbackUrl: options.acsUrl,
    identifierFormat: firstFormat ?? null,
    wantAssertionsSigned: true,
  });
  if (otherFormats.length === 0) return xml;

  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const descriptor = childElements(doc.documentElement, SAML_NS.metadata, 'SPSSODescriptor')[0];
  const first = descriptor && childElements(descriptor, SAML_NS.metadata, 'NameIDFormat')[0];
  if (!descriptor || !first) throw new Error('node-saml metadata has no SPSSODescriptor/NameIDFormat');
  // The schema orders NameIDFormat elements together, before AssertionConsumerService; the
  // indentation node-saml put before the first one is repeated to keep the document readable.
  const indent = first.previousSibling?.nodeType === TEXT_NODE ? (first.previousSibling.nodeValue ?? '') : '';
  let previous: Element = first;
  for (const format of otherFormats) {
    const element = doc.createElementNS(SAML_NS.metadata, 'NameIDFormat');
    element.appendChild(doc.createTextNode(format));
    descriptor.insertBefore(doc.createTextNode(indent), previous.nextSibling);
    descriptor.insertBefore(element, previous.nextSibling?.nextSibling ?? null);
    previous = element;
  }
  return new XMLSerializer().serializeToString(doc);
}
