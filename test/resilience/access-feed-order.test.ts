// The access change feed under concurrent writers, as a property: for any
// interleaving of writers (some of whose transactions roll back) and any page
// size, a reader paging to the end while they write sees every committed
// entry exactly once, none of a rolled-back transaction, and in commit order:
// a transaction that committed before another began comes first, and a
// transaction's own entries keep their order. Ids start just below a power of
// ten, so every run crosses one.
import crypto from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import { recordAccessChange } from '../../src/domain/access/access-feed.js';

const RUNS = process.env.SOAK ? 200 : 20;
export const fed = { written: 0, read: 0, runs: 0 };

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb({ poolSize: 8 });
});
afterAll(async () => {
  await t.close();
  console.log(`access feed: ${fed.runs} runs, ${fed.written} committed entries written, ${fed.read} read`);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Tx {
  /** Entries it writes. */
  entries: number;
  /** Pause before it begins, and between its statements (so transactions overlap and commit out of start order). */
  before: number;
  inside: number;
  rollback: boolean;
}

const txArb = fc.record({
  entries: fc.integer({ min: 1, max: 4 }),
  before: fc.integer({ min: 0, max: 15 }),
  inside: fc.integer({ min: 0, max: 15 }),
  rollback: fc.integer({ min: 0, max: 9 }).map((n) => n < 3),
});

describe('access change feed, concurrent writers', () => {
  it(
    'a reader paging to the end sees every committed entry exactly once, in commit order',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(txArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }),
          fc.integer({ min: 1, max: 8 }),
          fc.integer({ min: 1, max: 4 }),
          fc.integer({ min: 1, max: 6 }),
          async (writers, pageSize, power, below) => {
            fed.runs++;
            const org = await buildOrg(t.domain);
            // Ids of this run start just below 10^power (the primary key leads with the organisation).
            await t.domain.db.sql.run(`alter table access_changes alter column id restart with ${Math.max(1, 10 ** power - below)}`);
            // ...and so do its positions.
            await t.domain.db.sql.run(`insert into access_feed_heads (organization_id, position) values ($1, $2)`, [org.id, Math.max(0, 10 ** power - below - 1)]);

            let clock = 0;
            const committed: { tx: string; started: number; ended: number; entries: string[] }[] = [];
            const aborted = new Set<string>();
            const write = async (w: number, txs: Tx[]) => {
              for (const [i, tx] of txs.entries()) {
                await sleep(tx.before);
                const started = ++clock;
                const ids = Array.from({ length: tx.entries }, () => crypto.randomUUID());
                try {
                  await t.domain.db.transaction(async (sql) => {
                    for (const id of ids) {
                      await recordAccessChange(sql, org.id, { kind: 'member_deactivated', memberId: id });
                      await sleep(tx.inside);
                    }
                    if (tx.rollback) throw new Error('rollback');
                  });
                  committed.push({ tx: `${w}.${i}`, started, ended: ++clock, entries: ids });
                } catch (e) {
                  if ((e as Error).message !== 'rollback') throw e;
                  for (const id of ids) aborted.add(id);
                }
              }
            };

            const seen: string[] = [];
            let writing = true;
            const reader = (async () => {
              let after: string | null = null;
              const deadline = Date.now() + 25_000;
              for (;;) {
                const page = await t.domain.access.changes(org.actor, after, pageSize);
                seen.push(...page.changes.map((c) => c.memberId!));
                after = page.endCursor;
                if (page.hasNextPage) continue;
                const expected = committed.reduce((n, c) => n + c.entries.length, 0);
                if ((!writing && seen.length >= expected) || Date.now() > deadline) return;
                await sleep(5);
              }
            })();
            await Promise.all(writers.map((txs, w) => write(w, txs)));
            writing = false;
            await reader;

            const all = committed.flatMap((c) => c.entries);
            fed.written += all.length;
            fed.read += seen.length;
            // Exactly once, nothing rolled back.
            expect(new Set(seen).size).toBe(seen.length);
            expect(seen.filter((id) => aborted.has(id))).toEqual([]);
            expect([...seen].sort()).toEqual([...all].sort());
            // Commit order.
            const at = new Map(seen.map((id, i) => [id, i]));
            for (const c of committed) {
              const positions = c.entries.map((id) => at.get(id)!);
              expect(positions, `entries of transaction ${c.tx} in their order`).toEqual([...positions].sort((a, b) => a - b));
              for (const d of committed) {
                if (c.ended < d.started) expect(at.get(c.entries.at(-1)!)!, `${c.tx} committed before ${d.tx} began`).toBeLessThan(at.get(d.entries[0]!)!);
              }
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    process.env.SOAK ? 3_600_000 : 300_000,
  );
});
