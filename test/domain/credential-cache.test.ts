// SCIM tokens remembered per process while it hears every credential change
// (LISTEN/NOTIFY from a trigger): no statement for a known token, and a
// rotation or revocation anywhere stops the token on every process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, TEST_SECRET, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import { countStatements } from '../../src/infra/postgres/statement-count.js';
import { createDomain, type Domain } from '../../src/domain/index.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { makeKey, TestIdp } from '../saml/idp.js';

let t: TestDb;
// A second "process": its own ORM, pool, listener and cache on the same database.
let other: Database;
let d2: Domain;
beforeAll(async () => {
  t = await createTestDb();
  other = await openDatabase({ url: t.url, dataDir: '/nonexistent', poolSize: 2 });
  d2 = createDomain(other.db, TEST_SECRET);
});
afterAll(async () => {
  await other.close();
  await t.close();
});

/** Statements one authentication costs on `d`. */
async function cost(d: Domain, token: string): Promise<number> {
  return (await countStatements(() => d.organizations.authenticateScim(token))).statements;
}

async function eventually(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const refused = (d: Domain, token: string) =>
  d.organizations.authenticateScim(token).then(
    () => false,
    (e: { kind?: string }) => e.kind === 'unauthenticated',
  );

/** The backend of a domain's listening connection, as PostgreSQL sees it. */
async function listenerPids(): Promise<number[]> {
  const rows = await t.domain.db.sql.all<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and query like 'listen %'`);
  return rows.map((r) => r.pid);
}

describe('credential cache', () => {
  it('a known token costs no statement; a rotation on another process stops it here', async () => {
    const org = await buildOrg(t.domain);
    const { token } = await t.domain.organizations.enableScim(org.actor);
    // The first check reads (and records the use); once listening, later ones are free.
    await eventually('the token is remembered', async () => (await cost(d2, token)) === 0);
    expect(await cost(d2, token)).toBe(0);

    const rotated = await t.domain.organizations.enableScim(org.actor);
    await eventually('the rotated token is refused on the other process', () => refused(d2, token));
    expect((await d2.organizations.authenticateScim(rotated.token)).organizationId).toBe(org.id);
    // On the rotating process itself the old token is refused at once, without waiting for the notification.
    const again = await t.domain.organizations.enableScim(org.actor);
    await expect(t.domain.organizations.authenticateScim(rotated.token)).rejects.toMatchObject({ kind: 'unauthenticated' });
    expect((await t.domain.organizations.authenticateScim(again.token)).organizationId).toBe(org.id);
  });

  it('a change made by hand in SQL is heard too (the trigger sends it, not the service)', async () => {
    const org = await buildOrg(t.domain);
    const { token } = await t.domain.organizations.enableScim(org.actor);
    await eventually('remembered', async () => (await cost(d2, token)) === 0);
    await t.domain.db.sql.run(`update organizations set scim_enabled = false where organization_id = $1`, [org.id]);
    await eventually('refused after the manual change', () => refused(d2, token));
    // Recording the last use (an update of another column) forgets nothing: the token stays free.
    await t.domain.db.sql.run(`update organizations set scim_enabled = true where organization_id = $1`, [org.id]);
    await eventually('remembered again', async () => (await cost(d2, token)) === 0);
    await t.domain.db.sql.run(`update organizations set scim_token_last_used_at = null where organization_id = $1`, [org.id]);
    await new Promise((r) => setTimeout(r, 100));
    expect(await cost(d2, token)).toBe(0);
  });

  it('while its listening connection is lost a process remembers nothing, then listens again', async () => {
    const org = await buildOrg(t.domain);
    const { token } = await t.domain.organizations.enableScim(org.actor);
    await t.domain.organizations.authenticateScim(token);
    await eventually('remembered', async () => (await cost(d2, token)) === 0);
    await eventually('both processes listen', async () => (await listenerPids()).length === 2);
    const before = await listenerPids();
    // Cut every listening connection; a rotation made while they are down must not be missed.
    await t.domain.db.sql.all(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'listen %'`);
    await eventually('the loss is noticed', async () => (await cost(d2, token)) === 1);
    const rotated = await t.domain.organizations.enableScim(org.actor);
    expect(await refused(d2, token)).toBe(true);
    await eventually('listening again on new connections', async () => {
      const now = await listenerPids();
      return now.length === 2 && now.every((p) => !before.includes(p));
    });
    await eventually('remembered after reconnecting', async () => (await cost(d2, rotated.token)) === 0);
  });

  it('wrong tokens are never remembered and keep counting against the client', async () => {
    const org = await buildOrg(t.domain);
    const { token } = await t.domain.organizations.enableScim(org.actor);
    const wrong = token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA');
    for (let i = 0; i < 3; i++) expect(await cost(d2, wrong).catch(() => 'refused')).toBe('refused');
    const rows = await t.domain.db.sql.all<{ count: number }>(`select count from rate_limits where bucket = 'auth:cache-test'`);
    expect(rows).toEqual([]);
    for (let i = 0; i < 3; i++) await d2.organizations.authenticateScim(wrong, 'cache-test').catch(() => undefined);
    // Summed over windows: the three attempts may straddle the start of a new rate-limit window.
    expect(await t.domain.db.sql.all(`select sum(count)::int as count from rate_limits where bucket = 'auth:cache-test'`)).toEqual([{ count: 3 }]);
  });
});

describe('SAML configuration cache', () => {
  /** Statements reading the organisation's SAML runtime costs on `d`. */
  const runtimeCost = async (d: Domain, orgDomain: string) => (await countStatements(() => d.saml.runtime(orgDomain))).statements;

  it('a known configuration costs no statement; an IdP certificate removed by hand in SQL stops being trusted on every process', async () => {
    const org = await buildOrg(t.domain);
    const idp = new TestIdp([makeKey(), makeKey()]);
    await t.domain.saml.importMetadataXml(org.actor, idp.metadataXml());
    await eventually('remembered on the other process', async () => (await runtimeCost(d2, org.domain)) === 0);
    expect((await d2.saml.runtime(org.domain)).idpCertificates).toHaveLength(2);

    const [first] = (await t.domain.saml.settings(org.actor)).idpCertificates;
    await t.domain.db.sql.run(`delete from saml_idp_certificates where organization_id = $1 and fingerprint = $2`, [org.id, first!.fingerprint]);
    await eventually('the removal is heard', async () => (await d2.saml.runtime(org.domain)).idpCertificates.length === 1);
    await eventually('remembered again', async () => (await runtimeCost(d2, org.domain)) === 0);
    // A flag an edge checks on every sign-in, changed by hand too.
    await t.domain.db.sql.run(`update saml_settings set require_encryption = true where organization_id = $1`, [org.id]);
    await eventually('the flag is heard', async () => (await d2.saml.runtime(org.domain)).requireEncryption);
    // Bookkeeping of the metadata refresh changes nothing a sign-in reads: still remembered.
    await eventually('remembered again', async () => (await runtimeCost(d2, org.domain)) === 0);
    await t.domain.db.sql.run(`update saml_settings set metadata_refreshed_at = now() where organization_id = $1`, [org.id]);
    await new Promise((r) => setTimeout(r, 100));
    expect(await runtimeCost(d2, org.domain)).toBe(0);
  });

  it('a change made through the service is seen by its own process at once, before the notification', async () => {
    const org = await buildOrg(t.domain);
    const idp = new TestIdp([makeKey()]);
    await t.domain.saml.importMetadataXml(org.actor, idp.metadataXml());
    await eventually('remembered', async () => (await runtimeCost(t.domain, org.domain)) === 0);
    const generated = await t.domain.saml.generateCertificate(org.actor, 'gatehouse.test');
    expect((await t.domain.saml.runtime(org.domain)).signing?.certificatePem).toBe(generated.pem);
    const rolled = new TestIdp([makeKey()]);
    await t.domain.saml.importMetadataXml(org.actor, rolled.metadataXml());
    expect((await t.domain.saml.runtime(org.domain)).idpCertificates).toEqual([rolled.keys[0]!.certificatePem]);
    await t.domain.saml.setIdpInitiated(org.actor, false);
    expect((await t.domain.saml.runtime(org.domain)).allowIdpInitiated).toBe(false);
  });

  it('an unknown domain is never remembered', async () => {
    const name = `nobody-${Date.now()}`;
    await expect(d2.saml.runtime(name)).rejects.toMatchObject({ kind: 'not_found' });
    expect(await runtimeCost(d2, name).catch(() => 'refused')).toBe('refused');
    const org = await t.domain.organizations.create({ name: 'Late', domain: name });
    expect((await d2.saml.runtime(name)).organization.id).toBe(org.id);
  });
});
