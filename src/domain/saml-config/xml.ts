// XML as Gatehouse accepts it from outside (IdP metadata, SAML responses):
// no DTD at all (so no entities, internal or external), no parse errors.
import { DOMParser } from '@xmldom/xmldom';
import { Invalid, type ErrorCode } from '../errors.js';

export const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
} as const;

/** True when the text carries a DTD or an entity declaration (any case, anywhere). */
export function hasDoctype(text: string): boolean {
  return /<!\s*(DOCTYPE|ENTITY)/i.test(text);
}

/** Parses XML, refusing any DOCTYPE and any malformation (Invalid with `code`). */
export function parseXmlStrict(text: string, code: ErrorCode = 'invalid_xml'): Document {
  if (hasDoctype(text)) throw new Invalid('xml_doctype_refused', 'XML with a DOCTYPE (DTD or entities) is refused');
  const problems: string[] = [];
  const record = (m: string): void => {
    problems.push(m);
  };
  const doc = new DOMParser({ errorHandler: { warning: record, error: record, fatalError: record } }).parseFromString(text, 'text/xml');
  if (problems.length > 0 || !doc?.documentElement) {
    throw new Invalid(code, `The XML could not be parsed: ${(problems[0] ?? 'no document element').replace(/\s+/g, ' ').slice(0, 200)}`);
  }
  return doc as unknown as Document;
}

/** Element children of `parent` with this namespace and local name (direct children only). */
export function childrenNS(parent: Element | Document, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === localName) out.push(n as Element);
  }
  return out;
}

/** All descendants with this namespace and local name. */
export function descendantsNS(parent: Element | Document, ns: string, localName: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(ns, localName) as unknown as ArrayLike<Element>);
}

/** Concatenated text of an element's direct text children; null when it has element children or comments. */
export function pureText(el: Element): string | null {
  let s = '';
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 3 || n.nodeType === 4) s += n.nodeValue ?? '';
    else return null;
  }
  return s;
}
