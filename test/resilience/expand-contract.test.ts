// Expand/contract: during a rolling deploy the previous release keeps running
// against the new schema, so a migration only expands it (new tables, new
// nullable or defaulted columns, new indexes, new triggers); what the
// previous release reads or writes is dropped, renamed, retyped or tightened
// only by a later "contract" migration, shipped once no process of the
// release that used it runs, and listed below with the release it follows.
// This reads every migration's `up` statements and fails on a destructive one
// that is not listed.
import { describe, expect, it } from 'vitest';
import { migrationsList } from '../../migrations/index.js';

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
