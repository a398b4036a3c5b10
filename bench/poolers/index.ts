// SCIM through PgBouncer against direct, in the same run: Entra's users
// (filter GET + POST) and group memberships (PATCHes of 50, and of one),
// served by one Gatehouse process per way of reaching PostgreSQL, each with
// its own organisation in one database, phases interleaved in slices as in
// bench/scim (whose phases and load this reuses):
//   direct                      DATABASE_URL to the server
//   session                     through PgBouncer, pool_mode=session (DATABASE_POOL_MODE=session)
//   transaction                 through PgBouncer, pool_mode=transaction (DATABASE_POOL_MODE=transaction),
//                               LISTEN on DATABASE_LISTEN_URL (direct)
//   transaction, no LISTEN      the same without DATABASE_LISTEN_URL: every SCIM token is checked in the database
// PgBouncer is Debian's, started here as the tests start it (test/setup/poolers.ts);
// without it installed the benchmark says so and skips.
//   BENCH_SCALE=0.1 npm run bench -- poolers     (1,000 users, 20 groups × 250 members: a few minutes)
import 'reflect-metadata';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { openDatabase } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import { pgbouncerBinary, startPgbouncer, throughPooler, type Pooler } from '../../test/setup/poolers.js';
import { BENCH_ADMIN_URL, benchScale, benchUrl } from '../lib/db.js';
import { printTable } from '../lib/stats.js';
import { phases, runPhase, startProcess, stop, warmUp, type Figures, type State, type Target } from '../scim/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(HERE, '../scim/gatehouse-server.ts');
const SECRET = 'bench-master-secret-0123456789abcdef-0123';

interface Way {
  readonly name: string;
  readonly env: (direct: string, session: string, transaction: string) => Record<string, string>;
}

const WAYS: readonly Way[] = [
  { name: 'direct', env: (direct) => ({ DATABASE_URL: direct }) },
  { name: 'session', env: (_d, session) => ({ DATABASE_URL: session, DATABASE_POOL_MODE: 'session' }) },
  { name: 'transaction', env: (direct, _s, transaction) => ({ DATABASE_URL: transaction, DATABASE_POOL_MODE: 'transaction', DATABASE_LISTEN_URL: direct }) },
  { name: 'transaction, no LISTEN', env: (_d, _s, transaction) => ({ DATABASE_URL: transaction, DATABASE_POOL_MODE: 'transaction' }) },
];

export async function run(): Promise<void> {
  if (!pgbouncerBinary()) {
    process.stdout.write('bench/poolers: skipped: pgbouncer is not installed (scripts/setup.sh installs Debian\'s package: apt-get install pgbouncer)\n');
    return;
  }
  const scale = benchScale(0.1);
  const sizes = { users: Math.max(50, Math.round(10_000 * scale)), groups: Math.max(2, Math.round(200 * scale)), groupSize: 250, growth: 0 };
  const dbName = `gh_bench_pool_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = benchUrl(dbName);
  const poolers: Pooler[] = [];
  const children: ChildProcess[] = [];
  try {
    poolers.push(await startPgbouncer('session', BENCH_ADMIN_URL), await startPgbouncer('transaction', BENCH_ADMIN_URL));
    const [session, transaction] = poolers.map((p) => throughPooler(url, p.port)) as [string, string];

    const database = await openDatabase({ url, dataDir: '/nonexistent', poolSize: 2 });
    await migrate(database.connection);
    const domain = createDomain(database.db, SECRET);
    const targets: [Target, State][] = [];
    const baseEnv = { LOG_LEVEL: 'silent', GATEHOUSE_SECRET: SECRET, NODE_ENV: 'production', DATABASE_POOL_SIZE: '10' };
    process.stdout.write(`SCIM through PgBouncer against direct: ${sizes.users} users, ${sizes.groups} groups × ${sizes.groupSize} members (batches of 50, and one per PATCH); 8 in flight per way\n`);
    for (const [i, way] of WAYS.entries()) {
      const org = await domain.organizations.create({ name: `Bench ${way.name}`, domain: `pool${i}-${crypto.randomBytes(3).toString('hex')}` });
      const { token } = await domain.organizations.enableScim(systemActor(org.id, 'bench'));
      const proc = await startProcess(SERVER, { ...baseEnv, ...way.env(url, session, transaction) });
      children.push(proc.child);
      targets.push([
        { name: `p${i}`, port: proc.port, token, orgId: org.id, pid: proc.child.pid! },
        { ids: [], figures: {}, seconds: 0, cpu: 0, pgCpu: 0, poolerCpu: 0, ms: {} },
      ]);
    }
    await database.close();

    for (const [t] of targets) await warmUp(t);
    // Only the users and the memberships: what a pooler changes is the cost of each statement and connection.
    const noGrowth = () => Promise.reject(new Error('no growth phase here'));
    const poolerCpu: Record<string, number>[] = targets.map(() => ({}));
    for (const phase of phases(sizes, noGrowth, ['b50', 'b1'])) {
      await runPhase(phase, targets);
      targets.forEach(([, st], k) => (poolerCpu[k]![phase.name] = st.poolerCpu / (st.ms.post?.length ?? st.ms.patch!.length)));
    }
    report(targets.map(([, st]) => st.figures as Figures), poolerCpu);
  } finally {
    for (const c of children) await stop(c);
    for (const p of poolers) await p.stop();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

function report(figures: Figures[], poolerCpuMs: Record<string, number>[]): void {
  const direct = figures[0]!;
  const r = (x: number, base: number) => (base > 0 ? (x / base).toFixed(2) : '-');
  const us = (ms: number | undefined) => (ms === undefined ? '-' : String(Math.round(ms * 1000)));
  printTable(
    WAYS.map((way, k) => {
      const g = figures[k]!;
      return {
        way: way.name,
        'users/s (× direct)': `${Math.round(g.usersPerSecond)} (${r(g.usersPerSecond, direct.usersPerSecond)})`,
        'memberships/s, PATCHes of 50': `${Math.round(g.membershipsPerSecondBatch)} (${r(g.membershipsPerSecondBatch, direct.membershipsPerSecondBatch)})`,
        'memberships/s, PATCHes of 1': `${Math.round(g.membershipsPerSecondSingle)} (${r(g.membershipsPerSecondSingle, direct.membershipsPerSecondSingle)})`,
        'p99 POST /Users ms': g.postUserP99.toFixed(1),
        'p99 PATCH of 1 ms': g.patchSingleP99.toFixed(1),
      };
    }),
  );
  process.stdout.write('CPU per request, us: Gatehouse process / PostgreSQL (all its processes) / PgBouncer (both poolers)\n');
  printTable(
    WAYS.map((way, k) => {
      const g = figures[k]!;
      const p = poolerCpuMs[k]!;
      return {
        way: way.name,
        'user (GET + POST)': `${Math.round(g.usersCpuUs)} / ${Math.round(g.usersPgUs)} / ${us(p.users)}`,
        'PATCH of 50': `${Math.round(g.batchCpuUs)} / ${Math.round(g.batchPgUs)} / ${us(p.b50)}`,
        'PATCH of 1': `${Math.round(g.singleCpuUs)} / ${Math.round(g.singlePgUs)} / ${us(p.b1)}`,
      };
    }),
  );
  process.stdout.write('(One machine: PostgreSQL, both PgBouncers, every server and this client share its cores; compare the ratios of one run.)\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
