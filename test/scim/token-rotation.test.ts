// SCIM token rotation without a gap: `scim rotate` issues a new
// token while the old one keeps working for the overlap; each has its own
// last use; the old one ends at the overlap's end or on revoke-previous, on
// every process. Disable + enable (`scim enable` again) still ends the old
// token at once. Through the domain, the SCIM endpoint, a second process, the
// CLI and GraphQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDomain } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import type { Domain } from '../../src/domain/index.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { parseScimOverlap } from '../../src/domain/organization/organization.service.js';
import { runCliOn } from '../setup/cli.js';
import { codes, startHarness, type Harness } from '../graphql/harness.js';

let hx: Harness;
// A second "process": its own pool, listener and credential cache on the same database.
let other: Database;
let d2: Domain;
beforeAll(async () => {
  hx = await startHarness({ IMPORT_SCHEDULER: 'off' });
  other = await openDatabase({ url: hx.t.url, dataDir: '/nonexistent', poolSize: 2 });
  d2 = testDomain(other.db);
});
afterAll(async () => {
  await other.close();
  await hx.close();
});

const scimBase = () => hx.url.replace(/\/graphql$/, '/scim/v2');

async function scimGet(token: string): Promise<number> {
  const res = await fetch(`${scimBase()}/Users?count=1`, { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  return res.status;
}

const accepted = (d: Domain, token: string) =>
  d.organizations.authenticateScim(token).then(
    (a) => a.organizationId,
    (e: { kind?: string }) => {
      if (e.kind !== 'unauthenticated') throw e;
      return null;
    },
  );

async function eventually(what: string, check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cli = (...argv: string[]) => runCliOn(hx.t.url, argv, { PUBLIC_URL: 'https://gate.example.com' });

describe('SCIM token rotation with an overlap', () => {
  it('both tokens work during the overlap, each with its own last use; revoke-previous ends the old one on every process', async () => {
    const org = await buildOrg(hx.t.domain);
    const first = await hx.t.domain.organizations.enableScim(org.actor);
    expect(await scimGet(first.token)).toBe(200);
    // The other process remembers the old token before the rotation.
    expect(await accepted(d2, first.token)).toBe(org.id);

    const before = Date.now();
    const rotated = await hx.t.domain.organizations.rotateScimToken(org.actor, 24 * 60);
    expect(rotated.token).not.toBe(first.token);
    expect(rotated.status).toMatchObject({ enabled: true, tokenPrefix: rotated.token.slice(0, 14), tokenLastUsedAt: null, previousTokenPrefix: first.token.slice(0, 14) });
    // The old token's last use moved with it; the expiry is the overlap from now.
    expect(rotated.status.previousTokenLastUsedAt).not.toBeNull();
    const expires = rotated.status.previousTokenExpiresAt!.getTime();
    expect(expires).toBeGreaterThan(before + 24 * 3600_000 - 60_000);
    expect(expires).toBeLessThan(Date.now() + 24 * 3600_000 + 60_000);

    // Both work, over HTTP and on the other process.
    expect(await scimGet(first.token)).toBe(200);
    expect(await scimGet(rotated.token)).toBe(200);
    expect(await accepted(d2, first.token)).toBe(org.id);
    expect(await accepted(d2, rotated.token)).toBe(org.id);
    const status = await hx.t.domain.organizations.scimStatus(org.actor);
    expect(status.tokenLastUsedAt).not.toBeNull();
    expect(status.previousTokenLastUsedAt).not.toBeNull();

    // Hashed at rest: neither token is in the row.
    const row = await hx.t.domain.db.sql.one<{ t: string }>(`select row_to_json(o)::text as t from organizations o where organization_id = $1`, [org.id]);
    expect(row.t).not.toContain(first.token.slice(14));
    expect(row.t).not.toContain(rotated.token.slice(14));

    const revoked = await hx.t.domain.organizations.revokePreviousScimToken(org.actor);
    expect(revoked.revoked).toBe(true);
    expect(revoked.status).toMatchObject({ previousTokenPrefix: null, previousTokenExpiresAt: null, previousTokenLastUsedAt: null });
    expect(await scimGet(first.token)).toBe(401);
    expect(await scimGet(rotated.token)).toBe(200);
    await eventually('the old token is refused on the other process', async () => (await accepted(d2, first.token)) === null);
    expect(await accepted(d2, rotated.token)).toBe(org.id);
    // Again: nothing left to revoke, nothing changes, no error.
    expect((await hx.t.domain.organizations.revokePreviousScimToken(org.actor)).revoked).toBe(false);
    const audit = await hx.t.domain.audit.list(org.actor, { actionPrefix: 'scim.token.' });
    expect(audit.map((e) => e.action).sort()).toEqual(['scim.token.revoke_previous', 'scim.token.rotate']);
  });

  it('each token records its own last use', async () => {
    const org = await buildOrg(hx.t.domain);
    const first = await hx.t.domain.organizations.enableScim(org.actor);
    const rotated = await hx.t.domain.organizations.rotateScimToken(org.actor, 60);
    // Entra still has the old token: only the previous one's use moves.
    await hx.t.domain.db.sql.run(`update organizations set scim_previous_token_last_used_at = null where organization_id = $1`, [org.id]);
    expect(await scimGet(first.token)).toBe(200);
    let s = await hx.t.domain.organizations.scimStatus(org.actor);
    expect(s.previousTokenLastUsedAt).not.toBeNull();
    expect(s.tokenLastUsedAt).toBeNull();
    // Entra has the new one.
    expect(await scimGet(rotated.token)).toBe(200);
    s = await hx.t.domain.organizations.scimStatus(org.actor);
    expect(s.tokenLastUsedAt).not.toBeNull();
    expect(s.tokenLastUsedAt!.getTime()).toBeGreaterThanOrEqual(s.previousTokenLastUsedAt!.getTime());
  });

  it('the old token ends at the overlap end, on every process, without a notification', async () => {
    const org = await buildOrg(hx.t.domain);
    const first = await hx.t.domain.organizations.enableScim(org.actor);
    const rotated = await hx.t.domain.organizations.rotateScimToken(org.actor, 1);
    // Both processes remember the old token (a known token costs no statement)...
    expect(await accepted(d2, first.token)).toBe(org.id);
    expect(await accepted(hx.t.domain, first.token)).toBe(org.id);
    // ...then the overlap ends. Moving the expiry into the past by hand notifies (trigger); to prove the
    // processes' own expiry check, turn the clock instead: they must not trust what they remembered.
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + 61_000;
      expect(await accepted(d2, first.token)).toBeNull();
      expect(await accepted(hx.t.domain, first.token)).toBeNull();
    } finally {
      Date.now = realNow;
    }
    await hx.t.domain.db.sql.run(`update organizations set scim_previous_token_expires_at = now() - interval '1 second' where organization_id = $1`, [org.id]);
    await eventually('refused once the overlap has ended', async () => (await accepted(d2, first.token)) === null);
    expect(await scimGet(first.token)).toBe(401);
    expect(await scimGet(rotated.token)).toBe(200);
    // An ended previous token is not shown.
    expect(await hx.t.domain.organizations.scimStatus(org.actor)).toMatchObject({ previousTokenPrefix: null, previousTokenExpiresAt: null });
    expect((await hx.t.domain.organizations.revokePreviousScimToken(org.actor)).revoked).toBe(false);
  });

  it('a second rotation ends the first previous token at once; enable again and disable end every token at once', async () => {
    const org = await buildOrg(hx.t.domain);
    const a = await hx.t.domain.organizations.enableScim(org.actor);
    const b = await hx.t.domain.organizations.rotateScimToken(org.actor, 60);
    const c = await hx.t.domain.organizations.rotateScimToken(org.actor, 60);
    expect(await scimGet(a.token)).toBe(401);
    expect(await scimGet(b.token)).toBe(200);
    expect(await scimGet(c.token)).toBe(200);
    const d = await hx.t.domain.organizations.enableScim(org.actor);
    expect(d.status.previousTokenPrefix).toBeNull();
    expect(await scimGet(b.token)).toBe(401);
    expect(await scimGet(c.token)).toBe(401);
    expect(await scimGet(d.token)).toBe(200);
    const e = await hx.t.domain.organizations.rotateScimToken(org.actor, 60);
    await hx.t.domain.organizations.disableScim(org.actor);
    expect(await scimGet(d.token)).toBe(401);
    expect(await scimGet(e.token)).toBe(401);
    expect(await hx.t.domain.organizations.scimStatus(org.actor)).toMatchObject({ enabled: false, tokenPrefix: null, previousTokenPrefix: null });
    // Nothing to rotate while disabled.
    await expect(hx.t.domain.organizations.rotateScimToken(org.actor, 60)).rejects.toMatchObject({ kind: 'conflict', code: 'scim_disabled' });
  });

  it("another organisation's tokens, current or previous, are refused for this one", async () => {
    const mine = await buildOrg(hx.t.domain);
    const theirs = await buildOrg(hx.t.domain);
    const m1 = await hx.t.domain.organizations.enableScim(mine.actor);
    const t1 = await hx.t.domain.organizations.enableScim(theirs.actor);
    await hx.t.domain.organizations.rotateScimToken(mine.actor, 60);
    const t2 = await hx.t.domain.organizations.rotateScimToken(theirs.actor, 60);
    // Each token answers for its own organisation only.
    expect(await accepted(hx.t.domain, t1.token)).toBe(theirs.id);
    expect(await accepted(hx.t.domain, t2.token)).toBe(theirs.id);
    expect(await accepted(hx.t.domain, m1.token)).toBe(mine.id);
    // Revoking mine leaves theirs alone.
    await hx.t.domain.organizations.revokePreviousScimToken(mine.actor);
    expect(await accepted(hx.t.domain, m1.token)).toBeNull();
    expect(await accepted(hx.t.domain, t1.token)).toBe(theirs.id);
  });

  it('refuses an overlap that is not a duration from 1 minute to 30 days', async () => {
    for (const bad of ['', 'nonsense', '0m', '0', '24', '-1h', '31d', '1y', '24 hours', '1e3m', 'h']) {
      expect(() => parseScimOverlap(bad), bad).toThrowError(/overlap must be a duration/);
    }
    expect(parseScimOverlap('24h')).toBe(1440);
    expect(parseScimOverlap('90m')).toBe(90);
    expect(parseScimOverlap('2d')).toBe(2880);
    expect(parseScimOverlap('1h30m')).toBe(90);
    expect(parseScimOverlap('30d')).toBe(43_200);
    const org = await buildOrg(hx.t.domain);
    await hx.t.domain.organizations.enableScim(org.actor);
    await expect(hx.t.domain.organizations.rotateScimToken(org.actor, 0)).rejects.toMatchObject({ kind: 'invalid', code: 'invalid_overlap' });
    await expect(hx.t.domain.organizations.rotateScimToken(org.actor, 1.5)).rejects.toMatchObject({ kind: 'invalid', code: 'invalid_overlap' });
    expect((await hx.t.domain.organizations.scimStatus(org.actor)).previousTokenPrefix).toBeNull();
  });
});

describe('CLI: scim rotate and scim revoke-previous', () => {
  it('rotates with --overlap, shows both tokens in status, revokes the previous; bad --overlap is a usage error that changes nothing', async () => {
    await cli('org', 'create', '--name', 'Rotors', '--domain', 'rotors');
    const enabled = JSON.parse((await cli('scim', 'enable', '--org', 'rotors', '--json')).stdout) as { token: string };

    const bad = await cli('scim', 'rotate', '--org', 'rotors', '--overlap', 'nonsense');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--overlap must be a duration such as 24h/);
    expect(bad.stdout).toBe('');
    expect(await scimGet(enabled.token)).toBe(200);

    const r = await cli('scim', 'rotate', '--org', 'rotors', '--overlap', '2h', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rotated = JSON.parse(r.stdout) as { token: string; tenantUrl: string; status: { previousTokenExpiresAt: string } };
    expect(rotated.tenantUrl).toBe('https://gate.example.com/scim/v2');
    expect(Date.parse(rotated.status.previousTokenExpiresAt) - Date.now()).toBeGreaterThan(2 * 3600_000 - 60_000);
    expect(await scimGet(enabled.token)).toBe(200);
    expect(await scimGet(rotated.token)).toBe(200);

    const text = await cli('scim', 'status', '--org', 'rotors');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('previous');
    expect(text.stdout).toContain(enabled.token.slice(0, 14));
    expect(text.stdout).toContain(rotated.token.slice(0, 14));

    const human = await cli('scim', 'revoke-previous', '--org', 'rotors');
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/previous SCIM token no longer works/);
    expect(await scimGet(enabled.token)).toBe(401);
    expect(await scimGet(rotated.token)).toBe(200);
    const again = JSON.parse((await cli('scim', 'revoke-previous', '--org', 'rotors', '--json')).stdout) as { revoked: boolean };
    expect(again.revoked).toBe(false);

    const unknown = await cli('scim', 'rotate', '--org', 'no-such-org');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).not.toBe('');
  });
});

describe('GraphQL: rotateScimToken and revokePreviousScimToken', () => {
  const STATUS = 'enabled tokenPrefix tokenLastUsedAt previousTokenPrefix previousTokenLastUsedAt previousTokenExpiresAt';
  it('rotates for admin keys (token returned once), shows both last uses, revokes; readers and bad overlaps are refused', async () => {
    const o = await hx.org();
    const disabled = await hx.gql(`mutation { rotateScimToken { token } }`, {}, { apiKey: o.admin });
    expect(codes(disabled)).toEqual(['CONFLICT']);
    const first = await hx.t.domain.organizations.enableScim(o.actor);
    expect(await scimGet(first.token)).toBe(200);

    const reader = await hx.gql(`mutation { rotateScimToken(overlap: "1h") { token } }`, {}, { apiKey: o.reader });
    expect(codes(reader)).toEqual(['FORBIDDEN']);
    const nonsense = await hx.gql(`mutation { rotateScimToken(overlap: "soon") { token } }`, {}, { apiKey: o.admin });
    expect(nonsense.status).toBeLessThan(500);
    expect(codes(nonsense)).toEqual(['BAD_USER_INPUT']);
    expect(await scimGet(first.token)).toBe(200);
    expect((await hx.t.domain.organizations.scimStatus(o.actor)).previousTokenPrefix).toBeNull();

    const res = await hx.gql(`mutation { rotateScimToken(overlap: "1h") { token tenantUrl status { ${STATUS} } } }`, {}, { apiKey: o.admin });
    expect(res.body.errors).toBeUndefined();
    const rotation = res.body.data!.rotateScimToken as { token: string; status: Record<string, unknown> };
    expect(rotation.status).toMatchObject({ enabled: true, tokenLastUsedAt: null, previousTokenPrefix: first.token.slice(0, 14) });
    expect(await scimGet(rotation.token)).toBe(200);
    expect(await scimGet(first.token)).toBe(200);

    const status = await hx.gql(`{ scimStatus { ${STATUS} } }`, {}, { apiKey: o.admin });
    const s = status.body.data!.scimStatus as Record<string, string | null>;
    expect(s.tokenLastUsedAt).not.toBeNull();
    expect(s.previousTokenLastUsedAt).not.toBeNull();
    expect(JSON.stringify(status.body)).not.toContain(rotation.token);

    expect(codes(await hx.gql(`mutation { revokePreviousScimToken { previousTokenPrefix } }`, {}, { apiKey: o.reader }))).toEqual(['FORBIDDEN']);
    const revoked = await hx.gql(`mutation { revokePreviousScimToken { ${STATUS} } }`, {}, { apiKey: o.admin });
    expect(revoked.body.data!.revokePreviousScimToken).toMatchObject({ previousTokenPrefix: null, previousTokenExpiresAt: null });
    expect(await scimGet(first.token)).toBe(401);
    expect(await scimGet(rotation.token)).toBe(200);
  });
});
