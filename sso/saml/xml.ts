// Small, strict XML helpers shared by the metadata parser and the response checks. SAML XML comes
// from outside (uploads, fetched URLs, browser posts), so parsing is all-or-nothing: any complaint
// from the parser refuses the document rather than letting a lenient parser guess.
import { DOMParser } from '@xmldom/xmldom';
import { SaxesParser } from 'saxes';

export const SAML_NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  xmldsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

const ELEMENT_NODE = 1;
const PROCESSING_INSTRUCTION_NODE = 7;
const DOCUMENT_TYPE_NODE = 10;

/**
 * A DTD is how entity expansion ("billion laughs") and external entities (XXE) get in; SAML never
 * needs one, so its mere presence refuses the document, before any parser sees it.
 */
export function hasDoctypeOrEntity(xml: string): boolean {
  return /<!\s*(DOCTYPE|ENTITY)/i.test(xml);
}

export interface XmlShapeLimits {
  maxDepth: number;
  maxElements: number;
  /** Attributes, namespace declarations included, over the whole document. */
  maxAttributes: number;
}

export type XmlShape = 'ok' | 'too_complex' | 'malformed';

class TooComplex extends Error {}

/**
 * Building a DOM, canonicalizing it and running XPath over it (xmldom, xml-crypto, node-saml)
 * costs far more per element and attribute than reading the text does, and some of those passes
 * recurse. This streaming pass (no tree is built) stops at the first element or attribute over
 * the limits, so a hostile document costs a bounded amount before any of that runs. A document
 * the streaming parser finds malformed is refused too: a DOM parser would refuse it as well.
 */
export function checkXmlShape(xml: string, limits: XmlShapeLimits): XmlShape {
  const parser = new SaxesParser({ xmlns: false, position: false });
  let depth = 0;
  let elements = 0;
  let attributes = 0;
  parser.on('opentagstart', () => {
    depth += 1;
    elements += 1;
    if (depth > limits.maxDepth || elements > limits.maxElements) throw new TooComplex();
  });
  parser.on('attribute', () => {
    attributes += 1;
    if (attributes > limits.maxAttributes) throw new TooComplex();
  });
  parser.on('closetag', () => {
    depth -= 1;
  });
  try {
    parser.write(xml).close();
  } catch (error) {
    return error instanceof TooComplex ? 'too_complex' : 'malformed';
  }
  return 'ok';
}

/** Parses `xml`, or returns undefined if the parser reported anything at all. */
export function parseStrictXml(xml: string): Document | undefined {
  let complaints = 0;
  const complain = (): void => {
    complaints += 1;
  };
  let doc: Document;
  try {
    doc = new DOMParser({
      errorHandler: { warning: complain, error: complain, fatalError: complain },
    }).parseFromString(xml, 'text/xml');
  } catch {
    return undefined;
  }
  // xmldom returns a document without a root (instead of complaining) for input that is not XML.
  if (complaints > 0 || !doc?.documentElement) return undefined;
  for (let i = 0; i < doc.childNodes.length; i += 1) {
    if (doc.childNodes.item(i)?.nodeType === DOCUMENT_TYPE_NODE) return undefined;
  }
  return doc;
}

function isElement(node: Node | null | undefined): node is Element {
  return node?.nodeType === ELEMENT_NODE;
}

export function isNamed(element: Element, namespace: string, localName: string): boolean {
  return element.namespaceURI === namespace && element.localName === localName;
}

/** Direct children with this namespace and local name, in document order. */
export function childElements(parent: Element, namespace: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let i = 0; i < parent.childNodes.length; i += 1) {
    const child = parent.childNodes.item(i);
    if (isElement(child) && isNamed(child, namespace, localName)) found.push(child);
  }
  return found;
}

export function firstChildElement(
  parent: Element,
  namespace: string,
  localName: string,
): Element | undefined {
  return childElements(parent, namespace, localName)[0];
}

/** Every element below `root` (not `root` itself), depth first, in document order. */
export function descendantElements(root: Element): Element[] {
  const found: Element[] = [];
  const stack: Element[] = [root];
  while (stack.length > 0) {
    const current = stack.pop();
    if (!current) break;
    if (current !== root) found.push(current);
    for (let i = current.childNodes.length - 1; i >= 0; i -= 1) {
      const child = current.childNodes.item(i);
      if (isElement(child)) stack.push(child);
    }
  }
  return found;
}

/** True if a processing instruction sits anywhere inside `root`. */
export function containsProcessingInstruction(root: Element): boolean {
  for (const element of [root, ...descendantElements(root)]) {
    for (let i = 0; i < element.childNodes.length; i += 1) {
      if (element.childNodes.item(i)?.nodeType === PROCESSING_INSTRUCTION_NODE) return true;
    }
  }
  return false;
}

/** The element's text with surrounding whitespace removed (IdPs pretty-print their XML). */
export function textOf(element: Element): string {
  return (element.textContent ?? '').trim();
}

/** An attribute's value, or undefined when absent (xmldom returns '' for a missing attribute). */
export function attributeOf(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? (element.getAttribute(name) ?? undefined) : undefined;
}
