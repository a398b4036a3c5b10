// The PostgreSQL client under the domain's port: bound parameters, named
// prepared statements on a PostgreSQL server (bounded per connection), none
// on PGlite, constraint errors by SQLSTATE and name, transactions that commit
// or roll back whole.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../setup/test-db.js';
import { isForeignKeyViolation, isUniqueViolation } from '../../../src/domain/db-errors.js';
import { PostgresDb } from '../../../src/infra/postgres/client.js';
import { NAME_AFTER_RUNS } from '../../../src/infra/postgres/statements.js';
import { keepStatistics } from '../../../src/infra/postgres/statistics.js';
import { beginOpeningDatabase, openDatabase } from '../../../src/infra/postgres/database.js';
import { migrate } from '../../../src/infra/postgres/migrate.js';

let t: TestDb;
beforeAll(async () => {
  // One connection: every statement of the test runs on the session it inspects.
  t = await createTestDb({ poolSize: 1 });
});
afterAll(async () => {
  await t.close();
});

const prepared = (db: PostgresDb) => db.sql.all<{ name: string; statement: string }>(`select name, statement from pg_prepared_statements`);

describe('PostgresDb on a PostgreSQL server', () => {
  it('binds parameters (no inlining) and prepares a statement by name once it runs often', async () => {
    const text = `select $1::text as a, $2::int + 1 as b, $3 as quote`;
    const tricky = `it's "quoted" ? and \\ back`;
    expect(await t.domain.db.sql.one(text, [tricky, 41, null])).toEqual({ a: tricky, b: 42, quote: null });
    for (let i = 1; i < NAME_AFTER_RUNS; i++) await t.domain.db.sql.one(text, ['x', i, 'y']);
    expect((await prepared(t.database.db)).some((p) => p.statement.includes('$2::int + 1'))).toBe(false);
    expect(await t.domain.db.sql.one(text, ['x', 1, 'y'])).toEqual({ a: 'x', b: 2, quote: 'y' });
    expect((await prepared(t.database.db)).filter((p) => p.statement.includes('$2::int + 1'))).toHaveLength(1);
  });

  it('drops its prepared statements once they are old, and prepares them again (fresh plans for grown tables)', async () => {
    const db = new PostgresDb({ connection: t.database.connection, poolSize: 1, nameAfterRuns: 1, planRefreshMs: 300 });
    const text = `select count(*)::int as n from organizations where organization_id <> $1`;
    await db.sql.one(text, ['00000000-0000-0000-0000-000000000000']);
    await new Promise((r) => setTimeout(r, 350));
    await db.sql.one(text, ['00000000-0000-0000-0000-000000000000']);
    const mine = async () => (await prepared(db)).filter((p) => p.statement.includes('organization_id <> $1'));
    expect(await mine()).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 350));
    // The next use replaces the connection, and its prepared statements go with it...
    expect((await prepared(db)).length).toBeLessThanOrEqual(1);
    expect(await mine()).toHaveLength(0);
    // ...and the statement is prepared again on its next run, with the same answer.
    expect(await db.sql.one(text, ['00000000-0000-0000-0000-000000000000'])).toEqual({ n: expect.any(Number) });
    expect(await mine()).toHaveLength(1);
  });

  it('listens: live once it hears its own probe; probes of other processes are not notifications; a real one is', async () => {
    const timing = { probeEveryMs: 50, probeTimeoutMs: 2000 };
    const heard: string[][] = [[], []];
    const live = [false, false];
    const other = await openDatabase({ url: t.url, dataDir: '/nonexistent', poolSize: 1 });
    const dbs = [t.database.db, other.db];
    const subs = dbs.map((db, i) => db.listen('db_test_channel', { notified: (p) => heard[i]!.push(p), live: (v) => (live[i] = v) }, timing));
    try {
      const until = Date.now() + 5000;
      while (!(live[0] && live[1]) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(live).toEqual([true, true]);
      // Both keep probing (every 50 ms) and hear each other's probes: none of them is a change.
      await new Promise((r) => setTimeout(r, 300));
      expect(heard).toEqual([[], []]);
      await t.domain.db.sql.run(`select pg_notify('db_test_channel', 'changed')`);
      const until2 = Date.now() + 2000;
      while (heard.some((h) => h.length === 0) && Date.now() < until2) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toEqual([['changed'], ['changed']]);
    } finally {
      for (const sub of subs) sub.close();
      await other.close();
    }
    expect(live).toEqual([false, false]);
  });

  it('analyses a table that grew fast, without waiting for autovacuum', async () => {
    await t.domain.db.sql.run(`create table stats_test (organization_id uuid not null, n int not null)`);
    await t.domain.db.sql.run(`insert into stats_test select gen_random_uuid(), i from generate_series(1, 3000) i`);
    const analysed = () => t.domain.db.sql.one<{ done: boolean }>(`select last_analyze is not null or last_autoanalyze is not null as done from pg_stat_user_tables where relname = 'stats_test'`);
    expect((await analysed()).done).toBe(false);
    const keeper = keepStatistics(t.database.db, ['stats_test'], 100);
    try {
      const until = Date.now() + 10_000;
      while (!(await analysed()).done && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect((await analysed()).done).toBe(true);
      expect((await t.domain.db.sql.one<{ n: number }>(`select reltuples::int as n from pg_class where relname = 'stats_test'`)).n).toBe(3000);
    } finally {
      keeper.close();
      await t.domain.db.sql.run(`drop table stats_test`);
    }
  });

  it('takes $n placeholders (one used twice) and arrays as parameters, elements quoted by the driver', async () => {
    const tricky = ['plain', 'it\'s', 'a,b', '{braces}', '"quoted"', 'back\\slash', 'NULL', ''];
    const row = await t.domain.db.sql.one<{ same: boolean; n: number; back: string[] }>(
      `select $1::text = $1::text as same, cardinality($2::text[]) as n, $2::text[] as back`,
      ['x', tricky],
    );
    expect(row).toEqual({ same: true, n: tricky.length, back: tricky });
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    expect(await t.domain.db.sql.all(`select x from unnest($1::uuid[]) as x order by x`, [ids])).toEqual([...ids].sort().map((x) => ({ x })));
  });

  it('refuses a statement whose placeholders and parameters disagree', async () => {
    await expect(t.domain.db.sql.all(`select $1::int`, [1, 2])).rejects.toThrow(/1 placeholders but 2 parameters/);
  });

  it('keeps at most 200 named statements per connection; past that, new texts still run (unnamed)', async () => {
    // Prepared from the second run here, to reach the bound quickly.
    const db = new PostgresDb({ connection: t.database.connection, poolSize: 1, nameAfterRuns: 1 });
    for (let i = 0; i < 240; i++) {
      const text = `select $1::int + ${i} as n`;
      expect(await db.sql.one(text, [1])).toEqual({ n: 1 + i });
      expect(await db.sql.one(text, [2])).toEqual({ n: 2 + i });
    }
    const named = await prepared(db);
    expect(named.length).toBeLessThanOrEqual(200);
    expect(named.length).toBeGreaterThan(150);
  });

  it('translates constraint errors inside and outside transactions, and rolls a failed transaction back whole', async () => {
    await t.domain.db.sql.run(`create table if not exists db_test (organization_id uuid not null, k text primary key)`);
    await t.domain.db.sql.run(`insert into db_test values (gen_random_uuid(), 'one')`);
    const dup = await t.domain.db.sql.run(`insert into db_test values (gen_random_uuid(), 'one')`).catch((e: unknown) => e);
    // Recognised by SQLSTATE and the constraint's name, never by its message.
    expect(isUniqueViolation(dup, 'db_test_pkey')).toBe(true);
    expect(isUniqueViolation(dup, 'another_constraint')).toBe(false);
    expect(isForeignKeyViolation(dup)).toBe(false);
    const inTx = await t.domain.db
      .transaction(async (tx) => {
        await tx.run(`insert into db_test values (gen_random_uuid(), 'two')`);
        await tx.run(`insert into db_test values (gen_random_uuid(), 'one')`);
      })
      .catch((e: unknown) => e);
    expect(isUniqueViolation(inTx)).toBe(true);
    expect(await t.domain.db.sql.all(`select k from db_test order by k`)).toEqual([{ k: 'one' }]);
    // A domain error thrown inside a transaction passes through as it is.
    const own = new Error('mine');
    await expect(t.domain.db.transaction(() => Promise.reject(own))).rejects.toBe(own);
    await t.domain.db.sql.run(`drop table db_test`);
  });
});

describe('PostgresDb on PGlite', () => {
  it('hands its client before the database is open (the server builds its app meanwhile); one that cannot open rejects, closing it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-db-'));
    const opening = beginOpeningDatabase({ url: undefined, dataDir: dir, poolSize: 2 });
    try {
      expect(opening.db.isOpen).toBe(true);
      const database = await opening.opened;
      expect(database.db).toBe(opening.db);
      expect(await opening.db.sql.one<{ n: number }>(`select 2 as n`)).toEqual({ n: 2 });
      await database.close();
      // A data directory that cannot be made (under a file): rejected, and the client handed out is closed.
      fs.writeFileSync(path.join(dir, 'a-file'), '');
      const failing = beginOpeningDatabase({ url: undefined, dataDir: path.join(dir, 'a-file', 'data'), poolSize: 2 });
      await expect(failing.opened).rejects.toThrow(/ENOTDIR/);
      expect(failing.db.isOpen).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  // A fresh PGlite (initdb and every migration) takes 15–30 s on a loaded two-core machine.
  it('runs the same statements with no named prepared statement (one session serves every connection)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-db-'));
    const database = await openDatabase({ url: undefined, dataDir: dir, poolSize: 3 });
    try {
      await migrate(database.connection);
      const db = database.db;
      // Several connections at once, the same text many times: with names they would clash in the one session.
      const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => db.sql.one<{ n: number }>(`select $1::int * 2 as n`, [i])));
      expect(runs.map((r) => r.n)).toEqual(Array.from({ length: 12 }, (_, i) => i * 2));
      expect(await prepared(db)).toEqual([]);
      // No notifications on PGlite: a listener never claims to be live (so credentials are always checked in the database).
      let live = false;
      const sub = db.listen('db_test_channel', { notified: () => undefined, live: (v) => (live = v) }, { probeEveryMs: 50, probeTimeoutMs: 200 });
      await new Promise((r) => setTimeout(r, 500));
      sub.close();
      expect(live).toBe(false);
      // PGlite has no autovacuum and counts no changes: the statistics keeper goes by the pages a table grew.
      await db.sql.run(`create table stats_test (organization_id uuid not null, n int not null)`);
      await db.sql.run(`insert into stats_test select gen_random_uuid(), i from generate_series(1, 3000) i`);
      const keeper = keepStatistics(db, ['stats_test'], 100);
      const tuples = async () => (await db.sql.one<{ n: number }>(`select reltuples::int as n from pg_class where relname = 'stats_test'`)).n;
      const until = Date.now() + 10_000;
      while ((await tuples()) !== 3000 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      keeper.close();
      expect(await tuples()).toBe(3000);
    } finally {
      await database.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
