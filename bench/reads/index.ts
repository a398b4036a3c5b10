// The reads door systems and apps make constantly, on an organisation of
// 100,000 × BENCH_SCALE members, through one compiled server process on the
// primary: a members page (50) and whoCanOpen (50) on a lock 100,000 members
// may open (a group place share) and on one 2,000 may open (direct shares).
// Each as it was and as it is, in the same run:
//   - members with totalCount (every match counted, as every page did) and without it;
//   - whoCanOpen at an instant 1 s ago (read from the shares: everyone who may open
//     the lock found first, as every page did) and now (a walk of the lock's allow-list
//     that stops at the page); the same with totalCount (counted from the shares, and
//     now from the allow-list);
// and the same pages as raw SQL on one pooled connection (the floor). One client
// (p50/p99 over BENCH_SECONDS), then BENCH_CLIENTS clients (reads/s). The load
// average of the machine is printed before and after: other work shares it.
//
//   npm run bench -- reads                                   (100,000 members)
//   BENCH_SCALE=0.05 BENCH_SECONDS=3 npm run bench -- reads  (5,000: a quick look)
//
// Env: BENCH_SECONDS (per variant and setup, 5), BENCH_CLIENTS (16), BENCH_SCALE.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { openDatabase } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import * as accessSql from '../../src/domain/access/access.sql.js';
import { seed } from '../graphql/index.js';
import { BENCH_ADMIN_URL, benchScale, benchUrl } from '../lib/db.js';
import { startServer, stopProcess } from '../lib/process.js';
import { percentile, printTable } from '../lib/stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const SECRET = 'bench-master-secret-0123456789abcdef';

const MEMBERS = `query { members(first: 50) { edges { node { id userName displayName } } } }`;
const MEMBERS_COUNTED = `query { members(first: 50) { totalCount edges { node { id userName displayName } } } }`;
// Arguments inline, not as variables: an app may send either, and the bundled build of
// 00:10 UTC answers a non-null variable ($lock: ID!) with a 500 (two copies of graphql).
const who = (lock: string, at?: Date, counted = false) =>
  `query { whoCanOpen(lockId: "${lock}"${at ? `, at: "${at.toISOString()}"` : ''}, first: 50) { ${counted ? 'totalCount ' : ''}edges { node { id userName } } } }`;

type Read = () => Promise<void>;

/** One client for SECONDS (latencies), then CLIENTS clients for SECONDS (throughput). */
async function measure(read: Read): Promise<{ p50: number; p99: number; perSecond: number }> {
  for (let i = 0; i < 5; i++) await read();
  const lat: number[] = [];
  let until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    const t0 = performance.now();
    await read();
    lat.push(performance.now() - t0);
  }
  let n = 0;
  until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < until) {
        await read();
        n++;
      }
    }),
  );
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), perSecond: Math.round(n / SECONDS) };
}

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

export async function run(): Promise<void> {
  const scale = Math.max(100, Math.round(100_000 * benchScale(1)));
  const name = `gh_bench_reads_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = benchUrl(name);
  const database = await openDatabase({ url, dataDir: '/nonexistent', poolSize: 4 });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    await migrate(database.connection);
    const domain = createDomain(database.db, SECRET);
    const org = await domain.organizations.create({ name: 'Bench', domain: name.replace(/_/g, '-') });
    const direct = new pg.Client({ connectionString: url });
    await direct.connect();
    const t0 = Date.now();
    await seed((q, p) => direct.query(q, p as unknown[]), org.id, scale);
    const seeded = (Date.now() - t0) / 1000;
    // The seed gives every group a share on the first place (by id): its locks open to everyone.
    const locks = await direct.query<{ id: string; everyone: boolean }>(
      `select distinct on (everyone) l.id, l.place_id = (select id from places where organization_id = $1 order by id limit 1) as everyone
       from locks l where l.organization_id = $1 order by everyone, l.id`,
      [org.id],
    );
    await direct.end();
    const big = locks.rows.find((l) => l.everyone)!.id;
    const small = locks.rows.find((l) => !l.everyone)!.id;
    const { key } = await domain.apiKeys.create(systemActor(org.id, 'bench'), { name: 'bench', role: 'reader' });
    spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' });
    const port = 4711;
    server = await startServer(port, { DATABASE_URL: url }, SECRET);

    const gql = (query: () => string): Read => async () => {
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: query() }),
      });
      const body = (await res.json()) as { errors?: unknown[] };
      if (!res.ok || body.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    };
    const sql = database.db.sql;
    const zero = '00000000-0000-0000-0000-000000000000';
    const rawMembers: Read = async () => {
      await sql.all(`select id, user_name, display_name from members where organization_id = $1 order by lower(user_name), id limit 51`, [org.id]);
    };
    const rawWho = (lock: string): Read => async () => {
      await accessSql.selectWhoCanOpenFromState(sql, org.id, lock, new Date(Date.now() + 1000), { afterId: zero, limit: 51, like: null });
    };
    const ago = () => new Date(Date.now() - 1000);

    const everyone = scale.toLocaleString('en-GB');
    const some = Math.round(scale / 50).toLocaleString('en-GB');
    const variants: [string, string, Read][] = [
      ['HTTP floor', '{ __typename } (API key checked)', gql(() => 'query { __typename }')],
      ['members page', 'before: with totalCount', gql(() => MEMBERS_COUNTED)],
      ['members page', 'after: without totalCount', gql(() => MEMBERS)],
      ['members page', 'raw SQL (keyset, 1 statement)', rawMembers],
      [`whoCanOpen, ${everyone} may open`, 'before: from the shares (at 1 s ago)', gql(() => who(big, ago()))],
      [`whoCanOpen, ${everyone} may open`, 'after: allow-list walk (now)', gql(() => who(big))],
      [`whoCanOpen, ${everyone} may open`, 'raw SQL (the walk)', rawWho(big)],
      [`whoCanOpen + totalCount, ${everyone} may open`, 'before: both from the shares (at 1 s ago)', gql(() => who(big, ago(), true))],
      [`whoCanOpen + totalCount, ${everyone} may open`, 'after: walk + count of the allow-list (now)', gql(() => who(big, undefined, true))],
      [`whoCanOpen, ${some} may open`, 'before: from the shares (at 1 s ago)', gql(() => who(small, ago()))],
      [`whoCanOpen, ${some} may open`, 'after: allow-list walk (now)', gql(() => who(small))],
      [`whoCanOpen, ${some} may open`, 'raw SQL (the walk)', rawWho(small)],
    ];
    process.stdout.write(
      `${scale} members (seeded in ${seeded.toFixed(0)} s), 1 server process on the primary, ${SECONDS} s per variant: 1 client, then ${CLIENTS}; ` +
        `${os.cpus().length} CPUs, load average ${load()}\n`,
    );
    const rows: Record<string, string | number>[] = [];
    for (const [read, variant, fn] of variants) {
      const r = await measure(fn);
      rows.push({ read, variant, 'p50 ms (1 client)': r.p50.toFixed(1), 'p99 ms (1 client)': r.p99.toFixed(1), [`reads/s (${CLIENTS} clients)`]: r.perSecond });
    }
    printTable(rows);
    process.stdout.write(`load average after: ${load()}\n`);
  } finally {
    if (server) await stopProcess(server);
    await database.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
