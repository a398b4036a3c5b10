// Secrets: bearer credentials (SCIM tokens, API keys, sessions) are random,
// carry a recognisable prefix, are shown once and stored only as a SHA-256
// hash; private keys are encrypted at rest with the master key (AES-256-GCM).
import crypto from 'node:crypto';

export interface IssuedSecret {
  /** The whole secret: shown to the user once, never stored. */
  readonly value: string;
  readonly hash: Buffer;
  /** A short, non-secret prefix to recognise it in lists. */
  readonly displayPrefix: string;
}

export function issueSecret(prefix: string): IssuedSecret {
  const value = `${prefix}${crypto.randomBytes(32).toString('base64url')}`;
  return { value, hash: hashSecret(value), displayPrefix: value.slice(0, prefix.length + 6) };
}

export function hashSecret(value: string): Buffer {
  // The one-shot form: every SCIM request hashes its token, and a Hash object per call cost more than the hashing.
  return crypto.hash('sha256', value, 'buffer');
}

/** Constant-time equality of two hashes (lookups are by hash; this is the final check). */
export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export class Cipher {
  private readonly key: Buffer;

  constructor(masterSecret: string) {
    this.key = Buffer.from(crypto.hkdfSync('sha256', masterSecret, 'gatehouse', 'at-rest-encryption-v1', 32));
  }

  encrypt(plain: string): string {
    const iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `v1.${iv.toString('base64url')}.${c.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
  }

  decrypt(sealed: string): string {
    const [v, iv, tag, body] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('Unknown secret format');
    const d = crypto.createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(body, 'base64url')), d.final()]).toString('utf8');
  }
}
