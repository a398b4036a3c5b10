// The IdP's federation metadata (Entra's "App Federation Metadata URL"):
// fetched with a timeout, a size limit and a bounded number of redirects, and
// read without DTDs. Only the IDPSSODescriptor counts: Entra's document also
// carries WS-Federation RoleDescriptors with keys of their own.
import { Invalid, Unavailable } from '../errors.js';
import { readCertificate, type CertificateInfo } from './saml-certificate.js';
import { childrenNS, descendantsNS, NS, parseXmlStrict, pureText } from './xml.js';

export interface SsoUrl {
  readonly binding: string;
  readonly location: string;
}

export interface IdpMetadata {
  readonly entityId: string;
  readonly ssoUrls: readonly SsoUrl[];
  /** SingleLogoutService endpoints (Entra lists one, HTTP-Redirect); empty when the IdP offers none. */
  readonly sloUrls: readonly SsoUrl[];
  /** Every signing certificate listed (Entra lists two during a rollover). */
  readonly certificates: readonly CertificateInfo[];
}

export const HTTP_REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
export const HTTP_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
export const METADATA_MAX_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;

export function parseIdpMetadata(xml: string): IdpMetadata {
  if (xml.length > METADATA_MAX_BYTES) throw new Invalid('metadata_too_large', `Metadata larger than ${METADATA_MAX_BYTES} bytes is refused`);
  const doc = parseXmlStrict(xml, 'invalid_metadata');
  const root = doc.documentElement;
  let entity: Element | undefined;
  if (root.namespaceURI === NS.md && root.localName === 'EntityDescriptor') entity = root;
  else if (root.namespaceURI === NS.md && root.localName === 'EntitiesDescriptor') {
    entity = descendantsNS(root, NS.md, 'EntityDescriptor').find((e) => childrenNS(e, NS.md, 'IDPSSODescriptor').length > 0);
  }
  if (!entity) throw new Invalid('invalid_metadata', 'This is not SAML 2.0 metadata (no md:EntityDescriptor)');
  const entityId = entity.getAttribute('entityID')?.trim();
  if (!entityId) throw new Invalid('invalid_metadata', 'The EntityDescriptor has no entityID');
  const idp = childrenNS(entity, NS.md, 'IDPSSODescriptor')[0];
  if (!idp) throw new Invalid('invalid_metadata', 'The metadata describes no identity provider (no IDPSSODescriptor)');

  const certificates = new Map<string, CertificateInfo>();
  for (const kd of childrenNS(idp, NS.md, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    if (use && use !== 'signing') continue;
    for (const x of descendantsNS(kd, NS.ds, 'X509Certificate')) {
      const text = pureText(x);
      if (!text) continue;
      const info = readCertificate(text);
      certificates.set(info.fingerprint, info);
    }
  }
  if (certificates.size === 0) throw new Invalid('invalid_metadata', 'The metadata lists no signing certificate for the identity provider');

  const ssoUrls: SsoUrl[] = [];
  for (const s of childrenNS(idp, NS.md, 'SingleSignOnService')) {
    const binding = s.getAttribute('Binding') ?? '';
    const location = s.getAttribute('Location') ?? '';
    if (!/^https?:\/\//i.test(location)) continue;
    ssoUrls.push({ binding, location });
  }
  if (!ssoUrls.some((s) => s.binding === HTTP_REDIRECT)) {
    throw new Invalid('invalid_metadata', 'The metadata has no SingleSignOnService with the HTTP-Redirect binding');
  }
  const sloUrls: SsoUrl[] = [];
  for (const s of childrenNS(idp, NS.md, 'SingleLogoutService')) {
    const binding = s.getAttribute('Binding') ?? '';
    const location = s.getAttribute('Location') ?? '';
    if (/^https?:\/\//i.test(location) && (binding === HTTP_REDIRECT || binding === HTTP_POST)) sloUrls.push({ binding, location });
  }
  return { entityId, ssoUrls, sloUrls, certificates: [...certificates.values()] };
}

/** Downloads metadata: http(s) only, 10 s, 1 MiB, at most 3 redirects. */
export async function fetchMetadata(url: string, opts: { timeoutMs?: number; maxBytes?: number } = {}): Promise<string> {
  let current = checkUrl(url);
  const signal = AbortSignal.timeout(opts.timeoutMs ?? FETCH_TIMEOUT_MS);
  const maxBytes = opts.maxBytes ?? METADATA_MAX_BYTES;
  for (let hop = 0; ; hop++) {
    let res: Response;
    try {
      res = await fetch(current, { redirect: 'manual', signal, headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' } });
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? 'timed out' : (e as Error).message;
      throw new Unavailable('metadata_fetch_failed', `Fetching the metadata from ${current} failed: ${why}`);
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (!location) throw new Unavailable('metadata_fetch_failed', `The metadata URL answered ${res.status} without a Location`);
      if (hop >= MAX_REDIRECTS) throw new Unavailable('metadata_fetch_failed', `The metadata URL redirected more than ${MAX_REDIRECTS} times`);
      current = checkUrl(new URL(location, current).toString());
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Unavailable('metadata_fetch_failed', `The metadata URL answered HTTP ${res.status}`);
    }
    const declared = Number(res.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await res.body?.cancel();
      throw new Invalid('metadata_too_large', `The metadata is larger than ${maxBytes} bytes`);
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      const reader = res.body?.getReader();
      for (;;) {
        if (!reader) break;
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) {
          await reader.cancel();
          throw new Invalid('metadata_too_large', `The metadata is larger than ${maxBytes} bytes`);
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof Invalid) throw e;
      throw new Unavailable('metadata_fetch_failed', `Reading the metadata failed: ${(e as Error).message}`);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Invalid('invalid_metadata_url', `Not a URL: ${url}`, 'metadataUrl');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Invalid('invalid_metadata_url', 'The metadata URL must be http(s)', 'metadataUrl');
  if (u.username || u.password) throw new Invalid('invalid_metadata_url', 'The metadata URL must not carry credentials', 'metadataUrl');
  return u.toString();
}
