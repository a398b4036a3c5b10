// X.509 certificates: reading the IdP's (node:crypto), and making the SP's own
// self-signed one ("Generate Certificate"): an RSA 3072 key from node:crypto,
// the certificate signed with SHA-256 by node-forge.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import type Forge from 'node-forge';
import { Invalid } from '../errors.js';

export interface CertificateInfo {
  /** SHA-256 of the DER, lowercase hex with colons. */
  readonly fingerprint: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly pem: string;
}

const SP_KEY_BITS = 3072;
const SP_CERT_YEARS = 5;

/** Accepts a PEM or the bare base64 of a DER certificate (as in metadata). */
export function readCertificate(text: string): CertificateInfo {
  const b64 = text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) throw new Invalid('invalid_certificate', 'A certificate is not valid base64');
  const pem = `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(pem);
  } catch {
    throw new Invalid('invalid_certificate', 'A certificate could not be read as X.509');
  }
  const key = cert.publicKey;
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new Invalid('weak_certificate', 'RSA keys shorter than 2048 bits are refused');
  }
  return {
    fingerprint: cert.fingerprint256.toLowerCase(),
    subject: cert.subject.replace(/\n/g, ', '),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    pem,
  };
}

export interface GeneratedKeyPair {
  readonly certificate: CertificateInfo;
  readonly privateKeyPem: string;
}

/** A new SP signing key and self-signed certificate for `commonName` (the SP entity ID's host). */
export function generateSpCertificate(commonName: string, now = new Date()): GeneratedKeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: SP_KEY_BITS });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  // Loaded on first use, not at every start: only "Generate Certificate" needs it.
  const forge = createRequire(import.meta.url)('node-forge') as typeof Forge;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = serialHex(crypto.randomBytes(16));
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now);
  cert.validity.notAfter.setUTCFullYear(now.getUTCFullYear() + SP_CERT_YEARS);
  const attrs = [
    { shortName: 'CN', value: commonName.slice(0, 64) },
    { shortName: 'O', value: 'Gatehouse SAML SP' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  return { certificate: readCertificate(forge.pki.certificateToPem(cert)), privateKeyPem };
}

/**
 * A certificate serial from random bytes: positive and in minimal DER, its
 * first byte 0x01-0x7f (no sign bit, no padding). A zero byte before one
 * below 0x80 is "illegal padding" to OpenSSL, which refused about one
 * generated certificate in thirty that way.
 */
export function serialHex(random: Buffer): string {
  const b = Buffer.from(random);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

/** The certificate as metadata carries it: base64 DER without armour. */
export function certificateBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}
