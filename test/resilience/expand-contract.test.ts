// Expand/contract: during a rolling deploy the previous release keeps running
// against the new schema, so a migration only expands it (new tables, new
// nullable or defaulted columns, new indexes, new triggers); what the
// previous release reads or writes is dropped, renamed, retyped or tightened
// only by a later "contract" migration, shipped once no process of the
// release that used it runs, and listed below with the release it follows.
// This reads every migration's `up` statements and fails on a destructive one
// that is not listed; and it prepares the previous release's statements
// (previous-release-statements.json, recorded by `npm run
// statements:snapshot`, scripts/snapshot-statements.ts) on a database
// migrated to the newest schema: each must still parse there (its tables,
// columns, functions and types exist with types it can use).
import fs from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrationsList } from '../../migrations/index.js';
import { SNAPSHOT, type StatementSnapshot } from '../../scripts/snapshot-statements.js';
import { createTestDatabaseUrl } from '../setup/test-db.js';

/** Contract migrations: name → why the previous release no longer needs what it removes. None yet. */
const CONTRACT_MIGRATIONS: Record<string, string> = {};

/** Changes the previous release's statements may trip over. */
const DESTRUCTIVE: readonly [RegExp, string][] = [
  [/\bdrop\s+table\b/i, 'drops a table'],
  [/\bdrop\s+column\b/i, 'drops a column'],
  [/\brename\b/i, 'renames'],
  [/\balter\s+column\s+\S+\s+(set\s+data\s+)?type\b/i, 'changes a column type'],
  [/\bset\s+not\s+null\b/i, 'makes a column not null'],
  [/\bdrop\s+(view|function|type)\b/i, 'drops a view, function or type'],
];

async function upStatements(cls: unknown): Promise<string[]> {
  const Migration = cls as new (driver: unknown, config: unknown) => { up(): Promise<void> | void; getQueries(): unknown[] };
  const m = new Migration({ config: { get: () => undefined } }, { get: () => undefined });
  await m.up();
  return m.getQueries().map((q) => (typeof q === 'string' ? q : String((q as { sql?: string }).sql ?? q)));
}

describe('migrations expand, contract later', () => {
  it('no migration drops, renames, retypes or tightens what the previous release uses, unless listed as a contract', async () => {
    const found: string[] = [];
    for (const { name, class: cls } of migrationsList) {
      const sql = (await upStatements(cls)).join('\n');
      expect(sql.length, name).toBeGreaterThan(0);
      if (CONTRACT_MIGRATIONS[name]) continue;
      for (const [pattern, what] of DESTRUCTIVE) if (pattern.test(sql)) found.push(`${name} ${what}`);
    }
    expect(found).toEqual([]);
  });

  it('catches a destructive statement', () => {
    const sample = 'alter table members drop column display_name; alter table groups rename to teams;';
    expect(DESTRUCTIVE.filter(([p]) => p.test(sample)).map(([, w]) => w)).toEqual(['drops a column', 'renames']);
  });
});

/** Prepares every statement on `url` (parse and analysis: what a schema change can break); returns those that fail, with why. */
async function unpreparable(url: string, statements: readonly string[]): Promise<string[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const failed: string[] = [];
  try {
    for (const [i, text] of statements.entries()) {
      try {
        await c.query(`prepare previous_${i} as ${text}`);
        await c.query(`deallocate previous_${i}`);
      } catch (e) {
        failed.push(`${(e as Error).message}: ${text.replace(/\s+/g, ' ').slice(0, 200)}`);
      }
    }
  } finally {
    await c.end();
  }
  return failed;
}

describe("the previous release's statements against the newest schema", () => {
  const snapshot = JSON.parse(fs.readFileSync(SNAPSHOT, 'utf8')) as StatementSnapshot;

  it('was recorded on a release whose migrations are all still here, in order, and holds the application statements', () => {
    const current = migrationsList.map((m) => m.name);
    expect(current.slice(0, snapshot.migrations.length)).toEqual(snapshot.migrations);
    expect(snapshot.commit).toMatch(/^[0-9a-f]{40}$/);
    // Far from empty: the hot paths of SCIM, GraphQL, sign-in and access are all there.
    expect(snapshot.statements.length).toBeGreaterThan(300);
    for (const table of ['members', 'groups', 'group_members', 'shares', 'locks', 'places', 'api_keys', 'sessions', 'audit_events', 'access_changes', 'access_entries', 'organizations']) {
      expect(snapshot.statements.some((s) => new RegExp(`\\b(from|into|update)\\s+${table}\\b`, 'i').test(s)), table).toBe(true);
    }
  });

  it('prepares every one of them on a database migrated to the newest schema', async () => {
    const db = await createTestDatabaseUrl();
    try {
      expect(await unpreparable(db.url, snapshot.statements)).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it('fails when a migration contracts what they use', async () => {
    const db = await createTestDatabaseUrl();
    try {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query('alter table places rename column name to title');
      await c.end();
      const failed = await unpreparable(db.url, snapshot.statements);
      // The place statements (insert, lists, lookups) fail, each for that column.
      expect(failed.length).toBeGreaterThan(3);
      for (const f of failed) expect(f).toMatch(/column "name" (of relation "places" )?does not exist|column \S+\.name does not exist/);
      expect(failed.some((f) => /insert into places/.test(f))).toBe(true);
    } finally {
      await db.drop();
    }
  });
});
