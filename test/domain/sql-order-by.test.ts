// PostgreSQL resolves a bare ORDER BY name to an output column before a table
// column: `select id::text, txid::text … order by txid, id` sorts as text, and a
// numeric cursor then skips and repeats rows once a value crosses a power of ten
// (the access feed once lost entries that way). This reads every statement
// in src/ and fails when an ORDER BY names, unqualified, an output column that
// the select list produces with a cast. Qualify the sort column (`c.id`) instead.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Template literals and quoted strings that look like a statement with an ORDER BY. */
function statements(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/`([^`]*)`|'((?:[^'\\\n]|\\.)*)'/g)) {
    const s = m[1] ?? m[2] ?? '';
    if (/\bselect\b/i.test(s) && /\border\s+by\b/i.test(s)) out.push(s);
  }
  return out;
}

/** Output names given by a cast: `x::text` (named x) and `expr::text as y` (named y). */
function castOutputs(stmt: string): Set<string> {
  const names = new Set<string>();
  for (const m of stmt.matchAll(/(?:\b(\w+)\.)?\b(\w+)::\w+(?:\[\])?(\s+as\s+(\w+))?\s*(?=,|\bfrom\b)/gi)) {
    names.add((m[4] ?? m[2]!).toLowerCase());
  }
  return names;
}

/** The ORDER BY terms that are a bare (unqualified) name. */
function bareSortNames(stmt: string): string[] {
  const out: string[] = [];
  for (const m of stmt.matchAll(/\border\s+by\s+([\s\S]*?)(?=\blimit\b|\boffset\b|\bfor\s+update\b|\)|$)/gi)) {
    for (const term of m[1]!.split(',')) {
      const name = term
        .trim()
        .replace(/\s+(asc|desc)\b.*$/i, '')
        .replace(/\s+nulls\s+(first|last)$/i, '')
        .trim();
      if (/^\w+$/.test(name) && !/^\d+$/.test(name)) out.push(name.toLowerCase());
    }
  }
  return out;
}

export function castSortMistakes(stmt: string): string[] {
  const casts = castOutputs(stmt);
  return bareSortNames(stmt).filter((n) => casts.has(n));
}

describe('ORDER BY never sorts by a cast output column', () => {
  it('finds the mistake the access feed had', () => {
    // The statement of the feed before the fix (commit 0c3ea4b).
    const old = `select id::text, txid::text, at, kind, member_id from access_changes
     where organization_id = $1 and (txid, id) > ($2::xid8, $3::bigint) order by txid, id limit 10`;
    expect(castSortMistakes(old)).toEqual(['txid', 'id']);
    const fixed = `select c.id::text as id, c.txid::text as txid, c.at from access_changes c where c.organization_id = $1 order by c.txid, c.id limit 10`;
    expect(castSortMistakes(fixed)).toEqual([]);
  });

  it('holds for every statement in src/', () => {
    const found: string[] = [];
    let checked = 0;
    for (const file of sourceFiles(SRC)) {
      for (const stmt of statements(fs.readFileSync(file, 'utf8'))) {
        checked++;
        for (const name of castSortMistakes(stmt)) found.push(`${path.relative(SRC, file)}: order by ${name} (a cast output column)`);
      }
    }
    expect(checked).toBeGreaterThan(20);
    expect(found).toEqual([]);
  });
});
