// Read replicas: GraphQL members page and whoCanOpen on an organisation of
// 100,000 × BENCH_SCALE members (default 1: 100,000), read by BENCH_CLIENTS concurrent
// clients for BENCH_SECONDS each: one server process on the primary, then two
// processes whose lag-tolerant reads go to one streaming replica (made as the
// tests make it: test/setup/replica.ts), in the same run. Reads per second and
// p99. The processes run the compiled server (node dist/server.js).
//
//   npm run bench -- replicas                                   (100,000 members)
//   BENCH_SCALE=0.05 BENCH_SECONDS=5 npm run bench -- replicas  (5,000: a quick look)
import { spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import pg from 'pg';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { openDatabase } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import { startReplica } from '../../test/setup/replica.js';
import { seed } from '../graphql/index.js';
import { BENCH_ADMIN_URL, benchScale, benchUrl } from '../lib/db.js';
import { startServer as startCompiledServer } from '../lib/process.js';
import { percentile, printTable } from '../lib/stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const SECRET = 'bench-master-secret-0123456789abcdef';
const startServer = (port: number, env: Record<string, string>) => startCompiledServer(port, env, SECRET);

const MEMBERS = `query { members(first: 50) { edges { node { id userName displayName } } } }`;
const WHO = `query($lock: ID!) { whoCanOpen(lockId: $lock, first: 50) { edges { node { id userName } } } }`;

async function load(ports: number[], key: string, lock: string): Promise<Record<string, string | number>[]> {
  const lat: Record<'members' | 'whoCanOpen', number[]> = { members: [], whoCanOpen: [] };
  const until = Date.now() + SECONDS * 1000;
  let errors = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; Date.now() < until; i++) {
        const kind = (c + i) % 2 === 0 ? 'members' : 'whoCanOpen';
        const port = ports[(c + i) % ports.length]!;
        const t0 = performance.now();
        const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify(kind === 'members' ? { query: MEMBERS } : { query: WHO, variables: { lock } }),
        });
        const body = (await res.json()) as { errors?: unknown };
        if (!res.ok || body.errors) errors++;
        lat[kind].push(performance.now() - t0);
      }
    }),
  );
  if (errors > 0) process.stdout.write(`  (${errors} failed reads)\n`);
  return (['members', 'whoCanOpen'] as const).map((k) => {
    const s = [...lat[k]].sort((a, b) => a - b);
    return { query: k, 'reads/s': Math.round(s.length / SECONDS), p50ms: percentile(s, 50).toFixed(1), p99ms: percentile(s, 99).toFixed(1) };
  });
}

export async function run(): Promise<void> {
  const scale = Math.max(100, Math.round(100_000 * benchScale(1)));
  const name = `gh_bench_repl_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = benchUrl(name);
  const procs: ChildProcess[] = [];
  let replica: Awaited<ReturnType<typeof startReplica>> | undefined;
  try {
    const database = await openDatabase({ url, dataDir: '/nonexistent', poolSize: 2 });
    await migrate(database.connection);
    const domain = createDomain(database.db, SECRET);
    const org = await domain.organizations.create({ name: 'Bench', domain: name.replace(/_/g, '-') });
    const direct = new pg.Client({ connectionString: url });
    await direct.connect();
    await seed((q, p) => direct.query(q, p as unknown[]), org.id, scale);
    const lock = (await direct.query<{ id: string }>(`select id from locks where organization_id = $1 order by id limit 1`, [org.id])).rows[0]!.id;
    await direct.end();
    const { key } = await domain.apiKeys.create(systemActor(org.id, 'bench'), { name: 'bench', role: 'reader' });
    await database.close();
    spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'inherit' });
    process.stdout.write(`${scale} members, ${CLIENTS} clients, ${SECONDS} s per setup, members page and whoCanOpen (50 each) alternating\n`);

    const one = await startServer(4701, { DATABASE_URL: url });
    procs.push(one);
    const primaryOnly = await load([4701], key, lock);
    one.kill('SIGTERM');
    await new Promise((r) => one.once('exit', r));

    replica = await startReplica();
    await replica.caughtUp(name, 300_000);
    const env = { DATABASE_URL: url, DATABASE_REPLICA_URLS: replica.urlFor(name) };
    procs.push(await startServer(4702, env), await startServer(4703, env));
    const withReplica = await load([4702, 4703], key, lock);
    const ready = (await (await fetch('http://127.0.0.1:4702/readyz')).json()) as { replicas?: unknown };
    process.stdout.write(`  /readyz of a replica process: ${JSON.stringify(ready.replicas)}\n`);
    printTable([...primaryOnly.map((r) => ({ setup: '1 process, primary', ...r })), ...withReplica.map((r) => ({ setup: '2 processes + 1 replica', ...r }))]);
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    replica?.remove();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}
