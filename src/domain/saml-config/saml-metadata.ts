// The IdP's federation metadata (Entra's "App Federation Metadata URL"):
// fetched with a timeout, a size limit and a bounded number of redirects, and
// read without DTDs. Only the IDPSSODescriptor counts: Entra's document also
// carries WS-Federation RoleDescriptors with keys of their own.
import { Invalid } from '../errors.js';
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
/**
 * The one rule for which of the IdP's SingleSignOnService URLs sign-in uses
 * (and every edge shows): the HTTP-Redirect one, which AuthnRequests are sent
 * by. Imported metadata always has one; null before any import.
 */
export function signOnUrl(ssoUrls: readonly SsoUrl[]): string | null {
  return ssoUrls.find((s) => s.binding === HTTP_REDIRECT)?.location ?? null;
}

/**
 * The one rule for which of the IdP's SingleLogoutService URLs sign-out goes
 * on to (and every edge shows): HTTP-Redirect when listed (Entra's), else
 * HTTP-POST; null when the metadata lists none.
 */
export function logoutService(sloUrls: readonly SsoUrl[]): SsoUrl | null {
  return sloUrls.find((s) => s.binding === HTTP_REDIRECT) ?? sloUrls.find((s) => s.binding === HTTP_POST) ?? null;
}

/** Single logout is on when the IdP lists a SingleLogoutService and an active SP certificate can sign the LogoutRequest. */
export function singleLogoutActive(slo: SsoUrl | null, hasSigningCertificate: boolean): boolean {
  return slo !== null && hasSigningCertificate;
}

export const METADATA_MAX_BYTES = 1024 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
const MAX_REDIRECTS = 3;

/** Where the right URL is, said the same way in every refusal. */
const WHERE_IN_ENTRA = 'In Entra, open the enterprise application › Single sign-on › SAML Certificates and copy “App Federation Metadata Url” (it ends in federationmetadata.xml?appid=…).';

export function parseIdpMetadata(xml: string): IdpMetadata {
  if (xml.length > METADATA_MAX_BYTES) throw new Invalid('metadata_too_large', `Metadata larger than ${METADATA_MAX_BYTES} bytes is refused`);
  // A sign-in page or a portal page pasted instead of the metadata URL: say so, not "DOCTYPE refused".
  if (/^\s*(<\?xml[^>]*>\s*)?(<!doctype\s+html|<html[\s>])/i.test(xml.replace(/^\uFEFF/, ''))) {
    throw new Invalid('metadata_is_html', `This is a web page, not federation metadata. ${WHERE_IN_ENTRA}`, 'url');
  }
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
      throw new Invalid('metadata_fetch_failed', `Gatehouse could not fetch ${current}: ${networkReason(e)}. Check the address. ${WHERE_IN_ENTRA}`, 'url');
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (!location) throw new Invalid('metadata_fetch_failed', `The metadata URL answered ${res.status} without a Location`, 'url');
      if (hop >= MAX_REDIRECTS) throw new Invalid('metadata_fetch_failed', `The metadata URL redirected more than ${MAX_REDIRECTS} times`, 'url');
      current = checkUrl(new URL(location, current).toString());
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      const what = res.status === 404 ? 'there is no page at that address' : res.status === 401 || res.status === 403 ? 'it asks for a sign-in' : `its server answered HTTP ${res.status}`;
      throw new Invalid('metadata_fetch_failed', `The metadata URL does not work: ${what}. ${WHERE_IN_ENTRA}`, 'url');
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
      throw new Invalid('metadata_fetch_failed', `Reading the metadata failed: ${networkReason(e)}`, 'url');
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** Why a fetch failed, in words (undici hides the system error in `cause`). */
function networkReason(e: unknown): string {
  const err = e as Error & { cause?: { code?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `it did not answer within ${FETCH_TIMEOUT_MS / 1000} s (timed out)`;
  switch (err.cause?.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'no server has that name';
    case 'ECONNREFUSED':
      return 'the server refused the connection';
    case 'ECONNRESET':
      return 'the connection was cut';
    case 'CERT_HAS_EXPIRED':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return 'its HTTPS certificate is not valid';
    default:
      return err.cause?.code ? `network error ${err.cause.code}` : /bad port/i.test(String((err.cause as Error | undefined)?.message ?? '')) ? 'that port is not allowed' : 'network error';
  }
}

function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Invalid('invalid_metadata_url', `“${url.slice(0, 200)}” is not a web address. ${WHERE_IN_ENTRA}`, 'url');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Invalid('invalid_metadata_url', `The metadata URL must start with https://. ${WHERE_IN_ENTRA}`, 'url');
  if (u.username || u.password) throw new Invalid('invalid_metadata_url', 'The metadata URL must not carry a user name or password', 'url');
  return u.toString();
}
