import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, testDomain, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import { fetchMetadata, parseIdpMetadata } from '../../src/domain/saml-config/saml-metadata.js';
import { serialHex } from '../../src/domain/saml-config/saml-certificate.js';
import { openDatabase } from '../../src/infra/postgres/database.js';
import { makeKey, TestIdp } from './idp.js';

let t: TestDb;
let idp: TestIdp;
beforeAll(async () => {
  t = await createTestDb();
  idp = new TestIdp([makeKey(), makeKey()]);
  await idp.start();
});
afterAll(async () => {
  await idp.stop();
  await t.close();
});

describe('IdP metadata', () => {
  it('imports Entra-shaped metadata from a local URL, following a bounded number of redirects', async () => {
    const org = await buildOrg(t.domain);
    idp.routes.set('/r1', (_q, res) => res.writeHead(302, { location: '/r2' }).end());
    idp.routes.set('/r2', (_q, res) => res.writeHead(301, { location: idp.metadataUrl }).end());
    const s = await t.domain.saml.importMetadataUrl(org.actor, `${idp.baseUrl}/r1`);
    expect(s).toMatchObject({ configured: true, idpEntityId: idp.entityId, metadataUrl: `${idp.baseUrl}/r1`, allowIdpInitiated: true, lastRefreshError: null });
    expect(s.idpCertificates).toHaveLength(2);
    expect(s.ssoUrls).toContainEqual({ binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', location: idp.ssoUrl });
    expect(s.metadataFetchedAt).toBeInstanceOf(Date);

    idp.routes.set('/loop', (_q, res) => res.writeHead(302, { location: '/loop' }).end());
    await expect(fetchMetadata(`${idp.baseUrl}/loop`)).rejects.toMatchObject({ code: 'metadata_fetch_failed', message: expect.stringMatching(/redirected more than 3/) });
  });

  it('refuses oversize, slow, non-http and DOCTYPE metadata', async () => {
    idp.routes.set('/big', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<x>' + 'a'.repeat(2 * 1024 * 1024) + '</x>');
    });
    await expect(fetchMetadata(`${idp.baseUrl}/big`)).rejects.toMatchObject({ code: 'metadata_too_large' });
    idp.routes.set('/slow', () => undefined);
    await expect(fetchMetadata(`${idp.baseUrl}/slow`, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'metadata_fetch_failed', message: expect.stringMatching(/timed out/) });
    await expect(fetchMetadata('file:///etc/passwd')).rejects.toMatchObject({ code: 'invalid_metadata_url' });
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + idp.metadataXml().replace(/^<\?xml[^>]*>/, '');
    expect(() => parseIdpMetadata(xxe)).toThrow(expect.objectContaining({ code: 'xml_doctype_refused' }));
    expect(() => parseIdpMetadata('<not-metadata/>')).toThrow(expect.objectContaining({ code: 'invalid_metadata' }));
    expect(() => parseIdpMetadata('<unclosed')).toThrow(expect.objectContaining({ code: 'invalid_metadata' }));
  });

  it('keeps the previous configuration and records the error when a refresh fails', async () => {
    const org = await buildOrg(t.domain);
    let fail = false;
    idp.routes.set('/flaky', (_q, res) => (fail ? res.writeHead(500).end() : res.writeHead(200).end(idp.metadataXml())));
    await t.domain.saml.importMetadataUrl(org.actor, `${idp.baseUrl}/flaky`);
    fail = true;
    await expect(t.domain.saml.refreshMetadata(org.actor)).rejects.toMatchObject({ code: 'metadata_fetch_failed' });
    const s = await t.domain.saml.settings(org.actor);
    expect(s.idpEntityId).toBe(idp.entityId);
    expect(s.lastRefreshError).toMatch(/HTTP 500/);
    expect(s.warnings.join('\n')).toMatch(/last metadata refresh failed/);
  });

  it('the daily refresh: each due organisation is refreshed by exactly one of several processes', async () => {
    const org = await buildOrg(t.domain);
    let hits = 0;
    idp.routes.set('/counted', (_q, res) => {
      hits++;
      res.writeHead(200).end(idp.metadataXml());
    });
    await t.domain.saml.importMetadataUrl(org.actor, `${idp.baseUrl}/counted`);
    expect(hits).toBe(1);
    // Not due yet.
    expect((await t.domain.saml.refreshDue()).map((r) => r.organizationId)).not.toContain(org.id);
    await t.domain.db.sql.run(`update saml_settings set metadata_fetched_at = now() - interval '25 hours' where organization_id = $1`, [org.id]);
    const other = await openDatabase({ url: t.url, dataDir: '/nonexistent', poolSize: 2 });
    try {
      const second = testDomain(other.db);
      const [r1, r2] = await Promise.all([t.domain.saml.refreshDue(), second.saml.refreshDue()]);
      const mine = [...r1, ...r2].filter((r) => r.organizationId === org.id);
      expect(mine).toEqual([{ organizationId: org.id, error: null }]);
      expect(hits).toBe(2);
      const s = await t.domain.saml.settings(org.actor);
      expect(Date.now() - s.metadataFetchedAt!.getTime()).toBeLessThan(60_000);
    } finally {
      await other.close();
    }
  });

  it('warns when a certificate ends within 30 days', async () => {
    const org = await buildOrg(t.domain);
    await t.domain.saml.importMetadataXml(org.actor, idp.metadataXml());
    const s = await t.domain.saml.settings(org.actor);
    expect(s.warnings.filter((w) => /expires in/.test(w))).toEqual([]);
    const soon = new Date(s.idpCertificates[0]!.notAfter.getTime() - 10 * 86_400_000);
    const later = await t.domain.saml.settings(org.actor, soon);
    expect(later.idpCertificates[0]!.warning).toMatch(/expires in 10 days/);
    expect(later.warnings.some((w) => /IdP certificate .*expires in 10 days/.test(w))).toBe(true);
  });
});

describe('SP certificates ("Generate Certificate")', () => {
  it('generates RSA >= 2048 / SHA-256 / several years, encrypts the key at rest, and keeps the old one published until removed', async () => {
    const org = await buildOrg(t.domain);
    const first = await t.domain.saml.generateCertificate(org.actor, 'gatehouse.test');
    const { X509Certificate } = await import('node:crypto');
    const x = new X509Certificate(first.pem);
    expect(x.publicKey.asymmetricKeyDetails?.modulusLength).toBeGreaterThanOrEqual(2048);
    expect(forge.pki.certificateFromPem(first.pem).siginfo.algorithmOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
    expect(first.daysLeft).toBeGreaterThan(3 * 365);
    expect(x.verify(x.publicKey)).toBe(true);
    const row = await t.domain.db.sql.one<{ k: string }>(`select private_key_encrypted as k from saml_sp_certificates where organization_id = $1`, [org.id]);
    expect(row.k).not.toMatch(/PRIVATE KEY/);
    expect(row.k.startsWith('v1.')).toBe(true);

    const second = await t.domain.saml.generateCertificate(org.actor, 'gatehouse.test');
    let rt = await t.domain.saml.runtime(org.domain);
    expect(rt.spCertificates).toEqual([second.pem, first.pem]);
    expect(rt.signing?.certificatePem).toBe(second.pem);
    expect(rt.signing?.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    await expect(t.domain.saml.removeSpCertificate(org.actor, second.id)).rejects.toMatchObject({ code: 'certificate_active' });
    await t.domain.saml.removeSpCertificate(org.actor, first.id);
    rt = await t.domain.saml.runtime(org.domain);
    expect(rt.spCertificates).toEqual([second.pem]);
  });

  it('gives every certificate a serial OpenSSL reads: positive and in minimal DER, whatever the random bytes', () => {
    for (const first of [0x00, 0x01, 0x0f, 0x7f, 0x80, 0xff]) {
      for (const second of [0x00, 0x05, 0x80]) {
        const random = Buffer.alloc(16, 0xab);
        random[0] = first;
        random[1] = second;
        const hex = serialHex(random);
        expect(hex).toMatch(/^[0-9a-f]{32}$/);
        // A first byte of 0x01-0x7f: no sign bit, and no zero byte that pads a smaller one.
        expect(parseInt(hex.slice(0, 2), 16)).toBeGreaterThanOrEqual(0x01);
        expect(parseInt(hex.slice(0, 2), 16)).toBeLessThanOrEqual(0x7f);
        expect(hex.slice(2)).toBe(random.subarray(1).toString('hex'));
      }
    }
    // The random bytes handed in are left as they were.
    const random = Buffer.alloc(16, 0xff);
    serialHex(random);
    expect(random[0]).toBe(0xff);
  });

  it('is for administrators only', async () => {
    const org = await buildOrg(t.domain);
    const member = { kind: 'member' as const, organizationId: org.id, id: '00000000-0000-4000-8000-000000000000', label: 'x' };
    await expect(t.domain.saml.generateCertificate(member, 'x')).rejects.toMatchObject({ kind: 'forbidden' });
    await expect(t.domain.saml.settings(member)).rejects.toMatchObject({ kind: 'forbidden' });
  });
});
