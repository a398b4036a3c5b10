// A test identity provider shaped like Microsoft Entra: a signed Assertion
// (optionally a signed Response too) inside an unsigned Response, NameID =
// the UPN, bearer SubjectConfirmationData with Recipient/InResponseTo/
// NotOnOrAfter, AudienceRestriction, AuthnStatement. Real signatures
// (xml-crypto); federation metadata served from a local HTTP server.
import crypto from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { SignedXml } from 'xml-crypto';
import { generateSpCertificate, certificateBody } from '../../src/domain/saml-config/saml-certificate.js';

export interface IdpKey {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

export function makeKey(cn = 'Microsoft Azure Federated SSO Certificate'): IdpKey {
  const g = generateSpCertificate(cn);
  return { privateKeyPem: g.privateKeyPem, certificatePem: g.certificate.pem };
}

export interface ResponseOptions {
  readonly acsUrl: string;
  /** The SP entity ID. */
  readonly audience: string;
  readonly nameId: string;
  readonly inResponseTo?: string;
  readonly destination?: string | null;
  readonly recipient?: string;
  readonly issuer?: string;
  /** Offsets in seconds from now. */
  readonly notBeforeOffset?: number;
  readonly notOnOrAfterOffset?: number;
  readonly bearerNotOnOrAfterOffset?: number;
  readonly status?: string;
  /** Key to sign with (default: the IdP's first key); null: unsigned. */
  readonly signWith?: IdpKey | null;
  readonly algorithm?: 'sha256' | 'sha1';
  /** Same as sign: 'both' (kept for older tests). */
  readonly signResponse?: boolean;
  /** Entra's Signing Option: the assertion (default), the response, or both. */
  readonly sign?: SigningOption;
  readonly assertionId?: string;
  /** Encrypt the assertion for this SP certificate (Entra's Token encryption). */
  readonly encryptFor?: string;
  readonly encryption?: EncryptionOptions;
  /** Changes the (signed) assertion XML just before it is encrypted: wrapping attacks inside the cipher text. */
  readonly beforeEncrypt?: (assertionXml: string) => string;
}

export type SigningOption = 'assertion' | 'response' | 'both';

export interface EncryptionOptions {
  /** Content encryption algorithm URI (default aes256-cbc); an unknown one is sent as named, the content AES-256-CBC. */
  readonly content?: string;
  /** Key transport algorithm URI (default rsa-oaep-mgf1p). */
  readonly transport?: string;
  /** OAEP digest name (default sha1). */
  readonly oaepDigest?: 'sha1' | 'sha256';
  /** Put the EncryptedKey beside the EncryptedData instead of inside its KeyInfo. */
  readonly keyBeside?: boolean;
  /** Changes the encrypted content bytes (truncation, bit flips). */
  readonly mangle?: (cipherText: Buffer) => Buffer;
}

export const XENC = 'http://www.w3.org/2001/04/xmlenc#';
export const XENC11 = 'http://www.w3.org/2009/xmlenc11#';
const CIPHERS: Record<string, { name: string; key: number; iv: number; gcm: boolean }> = {
  [`${XENC}aes128-cbc`]: { name: 'aes-128-cbc', key: 16, iv: 16, gcm: false },
  [`${XENC}aes256-cbc`]: { name: 'aes-256-cbc', key: 32, iv: 16, gcm: false },
  [`${XENC11}aes128-gcm`]: { name: 'aes-128-gcm', key: 16, iv: 12, gcm: true },
  [`${XENC11}aes256-gcm`]: { name: 'aes-256-gcm', key: 32, iv: 12, gcm: true },
};
const DIGEST_URI = { sha1: 'http://www.w3.org/2000/09/xmldsig#sha1', sha256: 'http://www.w3.org/2001/04/xmlenc#sha256' } as const;

/** An EncryptedAssertion as XML Encryption 1.1 and Entra shape it (written here with node:crypto). */
export function encryptAssertion(assertionXml: string, certificatePem: string, o: EncryptionOptions = {}): string {
  const contentUri = o.content ?? `${XENC}aes256-cbc`;
  const c = CIPHERS[contentUri] ?? CIPHERS[`${XENC}aes256-cbc`]!;
  const key = crypto.randomBytes(c.key);
  const iv = crypto.randomBytes(c.iv);
  const plain = Buffer.from(assertionXml, 'utf8');
  let data: Buffer;
  if (c.gcm) {
    const cipher = crypto.createCipheriv(c.name as crypto.CipherGCMTypes, key, iv);
    data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  } else {
    const pad = 16 - (plain.length % 16);
    const padding = Buffer.concat([crypto.randomBytes(pad - 1), Buffer.from([pad])]);
    const cipher = crypto.createCipheriv(c.name, key, iv).setAutoPadding(false);
    data = Buffer.concat([iv, cipher.update(Buffer.concat([plain, padding])), cipher.final()]);
  }
  if (o.mangle) data = o.mangle(data);
  const transport = o.transport ?? `${XENC}rsa-oaep-mgf1p`;
  const digest = o.oaepDigest ?? 'sha1';
  const wrapped = crypto.publicEncrypt({ key: certificatePem, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: digest }, key);
  const encryptedKey =
    `<xenc:EncryptedKey xmlns:xenc="${XENC}"><xenc:EncryptionMethod Algorithm="${transport}"><ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="${DIGEST_URI[digest]}"/></xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue>${wrapped.toString('base64')}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>`;
  return (
    `<EncryptedAssertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="${XENC}" Type="${XENC}Element">` +
    `<xenc:EncryptionMethod Algorithm="${contentUri}"/>` +
    (o.keyBeside ? '' : `<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${encryptedKey}</ds:KeyInfo>`) +
    `<xenc:CipherData><xenc:CipherValue>${data.toString('base64')}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>` +
    (o.keyBeside ? encryptedKey : '') +
    `</EncryptedAssertion>`
  );
}

const ALG = {
  sha256: { sig: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256' },
  sha1: { sig: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digest: 'http://www.w3.org/2000/09/xmldsig#sha1' },
} as const;
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

export function newId(): string {
  return '_' + crypto.randomUUID();
}

export class TestIdp {
  readonly tenant = crypto.randomUUID();
  readonly entityId = `https://sts.windows.net/${this.tenant}/`;
  readonly ssoUrl = `https://login.microsoftonline.com/${this.tenant}/saml2`;
  /** Certificates published in the metadata (Entra lists two during a rollover). */
  published: IdpKey[];
  private server: http.Server | undefined;
  /** Extra routes for metadata-fetch tests: path → handler. */
  readonly routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();
  baseUrl = '';
  /** How often the federation metadata was fetched. */
  metadataFetches = 0;
  /** Whether the metadata lists a SingleLogoutService (at sloUrl). */
  offersLogout = true;
  /** The binding of that SingleLogoutService: HTTP-Redirect as Entra's, or HTTP-POST only. */
  logoutBinding: 'redirect' | 'post' = 'redirect';
  get sloUrl(): string {
    return `${this.ssoUrl}/logout`;
  }

  constructor(readonly keys: IdpKey[] = [makeKey()]) {
    this.published = [...keys];
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const route = this.routes.get(req.url ?? '');
      if (route) return route(req, res);
      if (req.url === `/${this.tenant}/federationmetadata/2007-06/federationmetadata.xml`) {
        this.metadataFetches++;
        res.writeHead(200, { 'content-type': 'application/xml' }).end(this.metadataXml());
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get metadataUrl(): string {
    return `${this.baseUrl}/${this.tenant}/federationmetadata/2007-06/federationmetadata.xml`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** Entra-like federation metadata: a WS-Fed RoleDescriptor (ignored) and the IDPSSODescriptor. */
  metadataXml(): string {
    const keyDescriptors = this.published
      .map(
        (k) =>
          `<KeyDescriptor use="signing"><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>${certificateBody(k.certificatePem)}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`,
      )
      .join('');
    return (
      `<?xml version="1.0" encoding="utf-8"?>` +
      `<EntityDescriptor ID="_${crypto.randomUUID()}" entityID="${this.entityId}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` +
      `<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">${keyDescriptors}</RoleDescriptor>` +
      `<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keyDescriptors}` +
      (this.offersLogout
        ? `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${this.logoutBinding === 'post' ? 'HTTP-POST' : 'HTTP-Redirect'}" Location="${this.sloUrl}"/>`
        : '') +
      `<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${this.ssoUrl}"/>` +
      `<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${this.ssoUrl}"/>` +
      `</IDPSSODescriptor></EntityDescriptor>`
    );
  }

  /** The Response XML, signed as asked. */
  responseXml(o: ResponseOptions): string {
    const now = Date.now();
    const at = (s: number) => new Date(now + s * 1000).toISOString().replace(/\.\d{3}Z$/, '.000Z');
    const issuer = o.issuer ?? this.entityId;
    const assertionId = o.assertionId ?? newId();
    const irt = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
    const destination = o.destination === null ? '' : ` Destination="${esc(o.destination ?? o.acsUrl)}"`;
    const status = o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success';
    const notBefore = at(o.notBeforeOffset ?? -300);
    const notOnOrAfter = at(o.notOnOrAfterOffset ?? 3600);
    const bearerUntil = at(o.bearerNotOnOrAfterOffset ?? o.notOnOrAfterOffset ?? 300);
    let xml =
      `<samlp:Response ID="${newId()}" Version="2.0" IssueInstant="${at(0)}"${destination}${irt} xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` +
      `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${esc(issuer)}</Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${status}"/></samlp:Status>` +
      `<Assertion ID="${assertionId}" IssueInstant="${at(0)}" Version="2.0" xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` +
      `<Issuer>${esc(issuer)}</Issuer>` +
      `<Subject><NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.nameId)}</NameID>` +
      `<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData${irt} NotOnOrAfter="${bearerUntil}" Recipient="${esc(o.recipient ?? o.acsUrl)}"/></SubjectConfirmation></Subject>` +
      `<Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><AudienceRestriction><Audience>${esc(o.audience)}</Audience></AudienceRestriction></Conditions>` +
      `<AttributeStatement><Attribute Name="http://schemas.microsoft.com/identity/claims/tenantid"><AttributeValue>${this.tenant}</AttributeValue></Attribute>` +
      `<Attribute Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"><AttributeValue>${esc(o.nameId)}</AttributeValue></Attribute></AttributeStatement>` +
      `<AuthnStatement AuthnInstant="${at(-5)}" SessionIndex="${assertionId}"><AuthnContext><AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef></AuthnContext></AuthnStatement>` +
      `</Assertion></samlp:Response>`;
    const key = o.signWith === undefined ? this.keys[0]! : o.signWith;
    const mode: SigningOption = o.sign ?? (o.signResponse ? 'both' : 'assertion');
    if (key && mode !== 'response') xml = sign(xml, key, o.algorithm ?? 'sha256', 'Assertion');
    if (o.encryptFor) {
      const assertion = /<Assertion [\s\S]*<\/Assertion>/.exec(xml)![0];
      const inner = o.beforeEncrypt ? o.beforeEncrypt(assertion) : assertion;
      xml = xml.replace(assertion, () => encryptAssertion(inner, o.encryptFor!, o.encryption));
    }
    if (key && mode !== 'assertion') xml = sign(xml, key, o.algorithm ?? 'sha256', 'Response');
    return xml;
  }

  /** A LogoutRequest as Entra sends it when the person signs out elsewhere (unsigned; see redirectQuery / signRoot). */
  logoutRequestXml(o: { destination: string; nameId: string; id?: string; issuer?: string; issueInstantOffset?: number; sessionIndex?: string }): string {
    const at = new Date(Date.now() + (o.issueInstantOffset ?? 0) * 1000).toISOString();
    return (
      `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${o.id ?? newId()}" Version="2.0" IssueInstant="${at}" Destination="${esc(o.destination)}">` +
      `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${esc(o.issuer ?? this.entityId)}</Issuer>` +
      `<NameID xmlns="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${esc(o.nameId)}</NameID>` +
      (o.sessionIndex ? `<samlp:SessionIndex>${esc(o.sessionIndex)}</samlp:SessionIndex>` : '') +
      `</samlp:LogoutRequest>`
    );
  }

  /** Entra's LogoutResponse to a LogoutRequest the SP sent. */
  logoutResponseXml(o: { destination: string; inResponseTo: string; status?: string; issuer?: string }): string {
    return (
      `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${newId()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${esc(o.destination)}" InResponseTo="${esc(o.inResponseTo)}">` +
      `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${esc(o.issuer ?? this.entityId)}</Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${o.status ?? 'urn:oasis:names:tc:SAML:2.0:status:Success'}"/></samlp:Status>` +
      `</samlp:LogoutResponse>`
    );
  }

  /**
   * The HTTP-Redirect binding's query for a message: DEFLATE, base64, URL-encode, then the
   * signature over `SAMLRequest=…&RelayState=…&SigAlg=…` (key null: unsigned).
   */
  redirectQuery(type: 'SAMLRequest' | 'SAMLResponse', xml: string, o: { relayState?: string; signWith?: IdpKey | null; algorithm?: 'sha256' | 'sha1' } = {}): string {
    let q = `${type}=${encodeURIComponent(zlib.deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`;
    if (o.relayState !== undefined) q += `&RelayState=${encodeURIComponent(o.relayState)}`;
    const key = o.signWith === undefined ? this.keys[0]! : o.signWith;
    if (!key) return q;
    const alg = o.algorithm ?? 'sha256';
    q += `&SigAlg=${encodeURIComponent(ALG[alg].sig)}`;
    const signature = crypto.sign(alg === 'sha1' ? 'RSA-SHA1' : 'RSA-SHA256', Buffer.from(q, 'utf8'), key.privateKeyPem).toString('base64');
    return `${q}&Signature=${encodeURIComponent(signature)}`;
  }

  /** An enveloped XML signature over the root element (HTTP-POST binding). */
  signRoot(xml: string, key: IdpKey = this.keys[0]!, algorithm: 'sha256' | 'sha1' = 'sha256'): string {
    return sign(xml, key, algorithm, 'Root');
  }

  /** The base64 SAMLResponse form value. */
  response(o: ResponseOptions): string {
    return encode(this.responseXml(o));
  }
}

export function encode(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

export function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

function sign(xml: string, key: IdpKey, algorithm: 'sha256' | 'sha1', what: 'Assertion' | 'Response' | 'Root'): string {
  const sig = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    signatureAlgorithm: ALG[algorithm].sig,
    canonicalizationAlgorithm: EXC_C14N,
  });
  const target = what === 'Assertion' ? "//*[local-name(.)='Assertion']" : what === 'Response' ? "/*[local-name(.)='Response']" : '/*';
  sig.addReference({ xpath: target, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: ALG[algorithm].digest });
  sig.computeSignature(xml, { prefix: '', location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}
