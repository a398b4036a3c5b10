// RECORD_STATEMENTS=<dir> (set by scripts/snapshot-statements.ts): every
// statement text this test worker sends to PostgreSQL through `pg` (the app's
// pool, in-process servers, the tests' own) is appended once to
// <dir>/<pid>.jsonl, for the snapshot of a release's statements that
// test/resilience/expand-contract.test.ts runs against the newest schema.
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

export function recordStatements(dir: string): void {
  const seen = new Set<string>();
  const file = path.join(dir, `${process.pid}.jsonl`);
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, config: unknown, ...rest: unknown[]) {
    const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text;
    if (typeof text === 'string' && !seen.has(text)) {
      seen.add(text);
      fs.appendFileSync(file, `${JSON.stringify(text)}\n`);
    }
    return (original as (...args: unknown[]) => unknown).call(this, config, ...rest);
  } as typeof original;
}
