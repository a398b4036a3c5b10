// The embedded PGlite is one session shared by every connection (the server's
// pool, the job queue's, the CLI's): a connection's extended-protocol batch and
// its transactions must never be cut by another connection's statements.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, SOCKET_PORT, type EmbeddedPostgres } from '../../../src/infra/postgres/embedded.js';

let dir: string;
let embedded: EmbeddedPostgres;
const clients: pg.Client[] = [];

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ host: embedded.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' });
  await c.connect();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-embedded-'));
  embedded = await startEmbeddedPostgres(dir, { maxConnections: 8, allowJoin: false });
  const c = await connect();
  await c.query('create table shared_t (n int not null, who text not null)');
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await embedded?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('embedded PGlite shared by several connections', () => {
  it('runs transactions and parameterised statements of different shapes at once, each whole and with its own parameters', async () => {
    const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
    const rounds = 60;
    await Promise.all([
      (async () => {
        for (let i = 0; i < rounds; i++) {
          await a.query('begin');
          await a.query('insert into shared_t (n, who) values ($1, $2)', [i, 'a']);
          expect((await a.query<{ v: number }>('select $1::int * 3 as v', [i])).rows[0]!.v).toBe(i * 3);
          await a.query(i % 2 === 0 ? 'commit' : 'rollback');
        }
      })(),
      (async () => {
        for (let i = 0; i < rounds; i++) await b.query('insert into shared_t (n, who) values ($1, $2)', [i, 'b']);
      })(),
      (async () => {
        for (let i = 0; i < rounds; i++) expect((await c.query<{ s: string }>('select $1::text || $2::text || $3::text as s', ['c', String(i), '!'])).rows[0]!.s).toBe(`c${i}!`);
      })(),
    ]);
    const counts = await c.query<{ who: string; n: number; total: number }>(`select who, count(*)::int as n, sum(n)::int as total from shared_t group by who order by who`);
    // a committed its even rounds only; b every round; nobody's row went in with another's values.
    const evens = Array.from({ length: rounds }, (_, i) => i).filter((i) => i % 2 === 0);
    expect(counts.rows).toEqual([
      { who: 'a', n: evens.length, total: evens.reduce((x, y) => x + y, 0) },
      { who: 'b', n: rounds, total: (rounds * (rounds - 1)) / 2 },
    ]);
  }, 120_000);

  it('rolls back what a connection that went away left open, and the others go on', async () => {
    const gone = new pg.Client({ host: embedded.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' });
    await gone.connect();
    await gone.query('begin');
    await gone.query(`insert into shared_t (n, who) values (1, 'gone')`);
    await gone.end();
    const other = await connect();
    await expect.poll(async () => (await other.query<{ n: number }>(`select count(*)::int as n from shared_t where who = 'gone'`)).rows[0]!.n).toBe(0);
    await other.query('begin');
    await other.query('insert into shared_t (n, who) values ($1, $2)', [2, 'after']);
    await other.query('commit');
    expect((await other.query<{ n: number }>(`select count(*)::int as n from shared_t where who = 'after'`)).rows[0]!.n).toBe(1);
  }, 60_000);
});
