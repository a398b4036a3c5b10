import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cipher, hashSecret, issueSecret, sameHash } from '../../src/domain/secrets.js';
import { resolveMasterSecret } from '../../src/infra/master-secret.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('Cipher', () => {
  const cipher = new Cipher('m'.repeat(32));

  it('round-trips, with a fresh IV each time', () => {
    const plain = '-----BEGIN PRIVATE KEY-----\nMIIE… ünïcödé\n-----END PRIVATE KEY-----';
    const a = cipher.encrypt(plain);
    const b = cipher.encrypt(plain);
    expect(a).not.toBe(b);
    expect(a).not.toContain('PRIVATE');
    expect(cipher.decrypt(a)).toBe(plain);
    expect(cipher.decrypt(b)).toBe(plain);
    expect(cipher.decrypt(cipher.encrypt(''))).toBe('');
  });

  it('detects tampering and refuses another master key', () => {
    const sealed = cipher.encrypt('secret');
    const [v, iv, tag, body] = sealed.split('.') as [string, string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    expect(() => cipher.decrypt([v, iv, tag, flip(body)].join('.'))).toThrow();
    expect(() => cipher.decrypt([v, iv, flip(tag), body].join('.'))).toThrow();
    expect(() => cipher.decrypt([v, flip(iv), tag, body].join('.'))).toThrow();
    expect(() => cipher.decrypt(['v2', iv, tag, body].join('.'))).toThrow(/format/);
    expect(() => cipher.decrypt('garbage')).toThrow();
    expect(() => new Cipher('o'.repeat(32)).decrypt(sealed)).toThrow();
  });
});

describe('issued secrets', () => {
  it('are prefixed, high-entropy, and compared by hash in constant time', () => {
    const s = issueSecret('gh_test_');
    expect(s.value).toMatch(/^gh_test_[A-Za-z0-9_-]{43}$/);
    expect(s.displayPrefix).toBe(s.value.slice(0, 14));
    expect(issueSecret('gh_test_').value).not.toBe(s.value);
    expect(sameHash(s.hash, hashSecret(s.value))).toBe(true);
    expect(sameHash(s.hash, hashSecret(s.value + 'x'))).toBe(false);
    expect(sameHash(s.hash, Buffer.alloc(3))).toBe(false);
  });
});

describe('master key', () => {
  function tmp(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-secret-'));
    dirs.push(d);
    return path.join(d, 'data');
  }

  it('is generated once into DATA_DIR with mode 0600, logged once, then reused', () => {
    const dir = tmp();
    const logs: string[] = [];
    const first = resolveMasterSecret(undefined, dir, (m) => logs.push(m));
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = path.join(dir, 'master.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(file);
    expect(logs[0]).not.toContain(first);
    expect(resolveMasterSecret(undefined, dir, (m) => logs.push(m))).toBe(first);
    expect(logs).toHaveLength(1);
  });

  it('GATEHOUSE_SECRET wins and writes nothing', () => {
    const dir = tmp();
    expect(resolveMasterSecret('s'.repeat(32), dir, () => {})).toBe('s'.repeat(32));
    expect(fs.existsSync(path.join(dir, 'master.key'))).toBe(false);
  });
});
