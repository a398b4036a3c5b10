// Certificate rollover without a failed sign-in: Entra's new signing
// certificate makes Gatehouse refetch the metadata URL once (rate-limited per
// organisation) and check again; an SP certificate can be published as "next"
// before it signs, then promoted.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { makeKey, TestIdp } from './idp.js';
import { postAcs, startApp, startLogin, urlsFor, type RunningApp } from './harness.js';

let t: TestDb;
let a: RunningApp;

beforeAll(async () => {
  t = await createTestDb();
  a = await startApp(t);
});
afterAll(async () => {
  await a.close();
  await t.close();
});

describe('IdP certificate rollover', () => {
  it('a response signed by a certificate new to the metadata triggers one refetch, then signs in; at most one refetch per few minutes', async () => {
    const oldKey = makeKey();
    const newKey = makeKey();
    makeKeyOnce(); // made before any request: generating blocks long enough for kept-alive connections to close
    await new Promise((r) => setTimeout(r, 50));
    const idp = new TestIdp([oldKey]);
    await idp.start();
    try {
      const org = await buildOrg(t.domain);
      await t.domain.saml.importMetadataUrl(org.actor, idp.metadataUrl);
      const bob = await buildMember(t.domain, org.actor, { userName: `bob.${crypto.randomBytes(3).toString('hex')}@contoso.com` });
      const u = urlsFor(org.domain);
      const base = { acsUrl: u.acsUrl, audience: u.entityId, nameId: bob.userName };
      expect(idp.metadataFetches).toBe(1);
      // Entra rolls over: the metadata lists the new certificate, which signs at once.
      idp.published = [oldKey, newKey];
      const { requestId } = await startLogin(a.url, org.domain);
      const res = await postAcs(a.url, org.domain, idp.response({ ...base, signWith: newKey, inResponseTo: requestId }));
      expect(res.status, await res.clone().text()).toBe(303);
      expect(idp.metadataFetches).toBe(2);
      expect((await t.domain.saml.settings(org.actor)).idpCertificates).toHaveLength(2);
      // Forged responses with unknown certificates: refused, and no further fetch within the window.
      for (let i = 0; i < 3; i++) {
        const forged = await postAcs(a.url, org.domain, idp.response({ ...base, signWith: makeKeyOnce() }));
        expect(forged.status).toBe(400);
        expect(await forged.text()).toContain('invalid_signature');
      }
      expect(idp.metadataFetches).toBe(2);
      // After the window a new unknown certificate may refetch again (once).
      await t.database.db.sql.run(`update saml_settings set rollover_refetch_at = now() - interval '6 minutes' where organization_id = $1`, [org.id]);
      expect((await postAcs(a.url, org.domain, idp.response({ ...base, signWith: makeKeyOnce() }))).status).toBe(400);
      expect(idp.metadataFetches).toBe(3);
      // A response signed by a known certificate but altered never refetches.
      const altered = idp.responseXml({ ...base, signWith: oldKey }).replace(bob.userName, `x${bob.userName}`);
      expect((await postAcs(a.url, org.domain, Buffer.from(altered).toString('base64'))).status).toBe(400);
      await t.database.db.sql.run(`update saml_settings set rollover_refetch_at = null where organization_id = $1`, [org.id]);
      expect((await postAcs(a.url, org.domain, Buffer.from(altered).toString('base64'))).status).toBe(400);
      expect(idp.metadataFetches).toBe(3);
    } finally {
      await idp.stop();
    }
  }, 120_000);
});

let stranger: ReturnType<typeof makeKey> | undefined;
/** One key pair unknown to every metadata (RSA generation is slow). */
function makeKeyOnce() {
  return (stranger ??= makeKey());
}

describe('SP certificate rollover', () => {
  it('a "next" certificate is published (signing and encryption) before it signs, then promoted', async () => {
    const org = await buildOrg(t.domain);
    const first = await t.domain.saml.generateCertificate(org.actor, 'gatehouse.test');
    const next = await t.domain.saml.generateCertificate(org.actor, 'gatehouse.test', { next: true });
    expect(next.active).toBe(false);
    const body = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    const metadata = await (await fetch(`${a.url}/saml/${org.domain}/metadata`)).text();
    for (const use of ['signing', 'encryption']) {
      expect(metadata).toContain(`<KeyDescriptor use="${use}"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body(next.pem)}`);
    }
    expect((await t.domain.saml.runtime(org.domain)).signing?.certificatePem).toBe(first.pem);
    const promoted = await t.domain.saml.promoteSpCertificate(org.actor, next.id);
    expect(promoted.active).toBe(true);
    const rt = await t.domain.saml.runtime(org.domain);
    expect(rt.signing?.certificatePem).toBe(next.pem);
    expect(rt.spCertificates).toContain(first.pem);
    await expect(t.domain.saml.promoteSpCertificate(org.actor, crypto.randomUUID())).rejects.toMatchObject({ kind: 'not_found' });
  });
});
