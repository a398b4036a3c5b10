// EncryptedAssertion (SAML 2.0 core §2.3.4, XML Encryption 1.1), as Entra's
// "Token encryption" sends it: the assertion encrypted with a fresh AES key
// (CBC or GCM), that key wrapped for the SP's encryption certificate with
// RSA-OAEP. Decrypted here with node:crypto and a closed list of algorithms:
// RSA PKCS#1 v1.5 key transport and 3DES are refused (padding oracles), and
// every failure to decrypt (wrong key, truncated or altered cipher text, bad
// padding) is one and the same refusal, so none can be told from another.
import crypto from 'node:crypto';
import { childrenNS, NS } from '../domain/saml-config/xml.js';
import { LoginRefused } from './errors.js';

export const XENC = 'http://www.w3.org/2001/04/xmlenc#';
export const XENC11 = 'http://www.w3.org/2009/xmlenc11#';

interface ContentAlgorithm {
  readonly cipher: crypto.CipherGCMTypes | 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc';
  readonly keyBytes: number;
  readonly ivBytes: number;
  readonly gcm: boolean;
}

/** Content encryption: what Entra and the usual IdPs send. */
export const CONTENT_ALGORITHMS: Readonly<Record<string, ContentAlgorithm>> = {
  [`${XENC}aes128-cbc`]: { cipher: 'aes-128-cbc', keyBytes: 16, ivBytes: 16, gcm: false },
  [`${XENC}aes192-cbc`]: { cipher: 'aes-192-cbc', keyBytes: 24, ivBytes: 16, gcm: false },
  [`${XENC}aes256-cbc`]: { cipher: 'aes-256-cbc', keyBytes: 32, ivBytes: 16, gcm: false },
  [`${XENC11}aes128-gcm`]: { cipher: 'aes-128-gcm', keyBytes: 16, ivBytes: 12, gcm: true },
  [`${XENC11}aes192-gcm`]: { cipher: 'aes-192-gcm', keyBytes: 24, ivBytes: 12, gcm: true },
  [`${XENC11}aes256-gcm`]: { cipher: 'aes-256-gcm', keyBytes: 32, ivBytes: 12, gcm: true },
};

const DIGESTS: Readonly<Record<string, string>> = {
  'http://www.w3.org/2000/09/xmldsig#sha1': 'sha1',
  'http://www.w3.org/2001/04/xmlenc#sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384': 'sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512': 'sha512',
};
const MGFS: Readonly<Record<string, string>> = {
  'http://www.w3.org/2009/xmlenc11#mgf1sha1': 'sha1',
  'http://www.w3.org/2009/xmlenc11#mgf1sha256': 'sha256',
  'http://www.w3.org/2009/xmlenc11#mgf1sha384': 'sha384',
  'http://www.w3.org/2009/xmlenc11#mgf1sha512': 'sha512',
};
export const KEY_TRANSPORTS = [`${XENC}rsa-oaep-mgf1p`, `${XENC11}rsa-oaep`] as const;

const TOKEN_ENCRYPTION = 'In Entra: Enterprise application → Single sign-on → Token encryption';

/** Parsed private keys by PEM: a login must not parse an RSA key each time. */
const keyCache = new Map<string, crypto.KeyObject>();
function privateKey(pem: string): crypto.KeyObject {
  let key = keyCache.get(pem);
  if (!key) {
    if (keyCache.size >= 1000) keyCache.delete(keyCache.keys().next().value!);
    key = crypto.createPrivateKey(pem);
    keyCache.set(pem, key);
  }
  return key;
}

function one(parent: Element, ns: string, name: string, what: string): Element {
  const found = childrenNS(parent, ns, name);
  if (found.length !== 1) throw new LoginRefused('malformed_response', `The EncryptedAssertion must have exactly one ${what}, found ${found.length}`);
  return found[0]!;
}

function base64Of(el: Element, what: string): Buffer {
  const text = (el.textContent ?? '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*=*$/.test(text) || text.length === 0) throw new LoginRefused('malformed_response', `The ${what} is not base64`);
  return Buffer.from(text, 'base64');
}

export interface Decrypted {
  /** The assertion's XML, as the IdP serialised it before encrypting. */
  readonly xml: string;
  /** The SP private key that opened it. */
  readonly keyPem: string;
  readonly algorithm: string;
}

/**
 * Decrypts an saml:EncryptedAssertion with the first of `keys` (the SP's
 * private keys, active first) that unwraps its content key.
 */
export function decryptAssertion(encrypted: Element, keys: readonly string[]): Decrypted {
  if (keys.length === 0) {
    throw new LoginRefused(
      'no_encryption_key',
      `The assertion is encrypted but this organisation has no SP certificate to decrypt it with. Generate one (saml certificate) and upload it in Entra, or turn Token encryption off. ${TOKEN_ENCRYPTION}`,
    );
  }
  const data = one(encrypted, XENC, 'EncryptedData', 'xenc:EncryptedData');
  const contentAlgorithm = one(data, XENC, 'EncryptionMethod', 'EncryptionMethod of the EncryptedData').getAttribute('Algorithm') ?? '';
  const content = CONTENT_ALGORITHMS[contentAlgorithm];
  if (!content) {
    throw new LoginRefused(
      'unsupported_encryption_algorithm',
      `The assertion is encrypted with ${contentAlgorithm || '(no algorithm)'}, which Gatehouse does not accept (AES-CBC or AES-GCM only). ${TOKEN_ENCRYPTION}: keep the default algorithm.`,
      400,
      { algorithm: contentAlgorithm },
    );
  }
  // The wrapped key: inside EncryptedData's KeyInfo, or beside EncryptedData in the EncryptedAssertion.
  const keyInfo = childrenNS(data, NS.ds, 'KeyInfo')[0];
  const wrapped = [...(keyInfo ? childrenNS(keyInfo, XENC, 'EncryptedKey') : []), ...childrenNS(encrypted, XENC, 'EncryptedKey')];
  if (wrapped.length === 0) throw new LoginRefused('malformed_response', 'The EncryptedAssertion carries no EncryptedKey');
  if (wrapped.length > 4) throw new LoginRefused('malformed_response', 'The EncryptedAssertion carries too many EncryptedKeys');
  const cipherValue = base64Of(one(one(data, XENC, 'CipherData', 'CipherData'), XENC, 'CipherValue', 'CipherValue'), 'CipherValue');

  for (const ek of wrapped) {
    const method = one(ek, XENC, 'EncryptionMethod', 'EncryptionMethod of the EncryptedKey');
    const transport = method.getAttribute('Algorithm') ?? '';
    if (!(KEY_TRANSPORTS as readonly string[]).includes(transport)) {
      throw new LoginRefused(
        'unsupported_encryption_algorithm',
        `The content key is wrapped with ${transport || '(no algorithm)'}, which Gatehouse does not accept (RSA-OAEP only). ${TOKEN_ENCRYPTION}: keep the default algorithm.`,
        400,
        { algorithm: transport },
      );
    }
    const digestUri = childrenNS(method, NS.ds, 'DigestMethod')[0]?.getAttribute('Algorithm') ?? 'http://www.w3.org/2000/09/xmldsig#sha1';
    const digest = DIGESTS[digestUri];
    // xenc11#rsa-oaep names its MGF (default MGF1-SHA1). For rsa-oaep-mgf1p the MGF is the
    // digest's, as the IdP libraries built on node:crypto and xml-encryption produce it.
    const mgfUri = childrenNS(method, XENC11, 'MGF')[0]?.getAttribute('Algorithm');
    const mgf = transport.endsWith('rsa-oaep-mgf1p') ? digest : mgfUri ? MGFS[mgfUri] : 'sha1';
    // node:crypto uses one hash for OAEP and its MGF1.
    if (!digest || !mgf || digest !== mgf) {
      throw new LoginRefused(
        'unsupported_encryption_algorithm',
        `The content key is wrapped with RSA-OAEP using digest ${digestUri} and MGF ${mgfUri ?? 'MGF1-SHA1'}, a combination Gatehouse does not accept. ${TOKEN_ENCRYPTION}: keep the default algorithm.`,
        400,
        { algorithm: transport, digest: digestUri },
      );
    }
    const wrappedKey = base64Of(one(one(ek, XENC, 'CipherData', 'CipherData'), XENC, 'CipherValue', 'CipherValue'), 'EncryptedKey CipherValue');
    for (const pem of keys) {
      let symmetric: Buffer;
      try {
        symmetric = crypto.privateDecrypt({ key: privateKey(pem), padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: digest }, wrappedKey);
      } catch {
        continue; // another key of ours, or another EncryptedKey, may open it
      }
      if (symmetric.length !== content.keyBytes) continue;
      const xml = decryptContent(content, symmetric, cipherValue);
      if (xml === null) break; // the right key, but the content does not decrypt: no other key will do better
      return { xml, keyPem: pem, algorithm: contentAlgorithm };
    }
  }
  throw new LoginRefused(
    'decryption_failed',
    `The encrypted assertion could not be decrypted with any of Gatehouse's SP certificates (a certificate Gatehouse does not hold, or altered or truncated cipher text). ${TOKEN_ENCRYPTION}: upload the certificate from this organisation's SP metadata (its use="encryption" key).`,
  );
}

/** AES content decryption; null on any failure (tag, padding, length), which are not told apart. */
function decryptContent(alg: ContentAlgorithm, key: Buffer, data: Buffer): string | null {
  try {
    if (alg.gcm) {
      if (data.length < alg.ivBytes + 16 + 1) return null;
      const decipher = crypto.createDecipheriv(alg.cipher as crypto.CipherGCMTypes, key, data.subarray(0, alg.ivBytes));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(alg.ivBytes, data.length - 16)), decipher.final()]);
      return plain.toString('utf8');
    }
    const body = data.subarray(alg.ivBytes);
    if (body.length === 0 || body.length % 16 !== 0) return null;
    const decipher = crypto.createDecipheriv(alg.cipher, key, data.subarray(0, alg.ivBytes));
    decipher.setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(body), decipher.final()]);
    // XML Encryption pads as ISO 10126: only the last byte (the pad length) is defined.
    const pad = plain[plain.length - 1]!;
    if (pad < 1 || pad > 16) return null;
    return plain.subarray(0, plain.length - pad).toString('utf8');
  } catch {
    return null;
  }
}
