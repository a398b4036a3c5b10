// SCIM benchmark: an Entra-shaped provisioning run against Gatehouse (real
// server process, real PostgreSQL) and, in the same run, against the baseline
// (bare node:http + pg, minimal SQL) and the same baseline behind Express 5
// (the floor of any Express app: why the SCIM edge is not one). 8 requests in flight.
//   npx tsx bench/scim/index.ts            (BENCH_SCALE=0.1: about a minute)
//   BENCH_SCALE=1 npx tsx bench/scim/index.ts   (the issue's 10,000 users, 200 groups × 250)
//   BENCH_ONLY=b50,b1,incremental,growth      (the phases to run after the users; default all)
// Needs PostgreSQL at BENCH_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres):
// a fresh database is created and dropped afterwards.
import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { openDatabase } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import { cpuMs, statCpuMs } from '../lib/process.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CONCURRENCY = 8;
const SECRET = 'bench-master-secret-0123456789abcdef-0123';

export interface Target {
  readonly name: string;
  readonly port: number;
  readonly token: string;
  readonly orgId: string;
  /** The server process, for its CPU time. */
  readonly pid: number;
}

/**
 * CPU time (ms) of each process named `command` on this machine so far, by
 * pid: for `postgres`, the backends serving the target that runs now, and the
 * WAL writer, checkpointer and the like that its writes keep busy. Empty where
 * /proc is not there.
 */
function commandCpuMs(command: string): Map<string, number> {
  const byPid = new Map<string, number>();
  let dirs: string[];
  try {
    dirs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return byPid;
  }
  for (const d of dirs) {
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (stat.includes(`(${command})`)) byPid.set(d, statCpuMs(stat));
    } catch {
      // the process ended meanwhile
    }
  }
  return byPid;
}

/**
 * CPU (ms) the processes named `command` used since `before` was taken: those
 * still there, and those started since. (One that ended meanwhile drops out:
 * its last slice is not counted, rather than its whole life subtracted.)
 */
function commandCpuSince(command: string, before: Map<string, number>): number {
  let total = 0;
  for (const [pid, ms] of commandCpuMs(command)) total += ms - (before.get(pid) ?? 0);
  return total;
}

interface Timed {
  status: number;
  body: string;
  ms: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function request(t: Target, method: string, urlPath: string, body?: unknown): Promise<Timed> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: t.port,
        method,
        path: `/scim/v2${urlPath}`,
        agent,
        headers: { authorization: `Bearer ${t.token}`, ...(data ? { 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function expectStatus(r: Timed, status: number, what: string): void {
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status}: ${r.body.slice(0, 300)}`);
}

/** Runs `fn` on every item with CONCURRENCY in flight; returns the seconds it took. */
async function pool<T>(items: T[], fn: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
  return (performance.now() - started) / 1000;
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function median(values: number[]): number {
  return pct(values, 50);
}

const entraUser = (i: number, tag: string) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
  externalId: `${tag}${i}`,
  userName: `${tag}.user${i}@contoso.com`,
  active: true,
  displayName: `User ${i}`,
  emails: [{ primary: true, type: 'work', value: `${tag}.user${i}@contoso.com` }],
  meta: { resourceType: 'User' },
  name: { formatted: `User ${i}`, familyName: `Family${i}`, givenName: `Given${i}` },
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'Engineering', employeeNumber: String(i) },
  roles: [],
});

const addMembers = (ids: string[]) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: [{ op: 'Add', path: 'members', value: ids.map((value) => ({ $ref: null, value })) }],
});

export interface Figures {
  /** Server CPU per user (GET + POST), per membership PATCH, per user PATCH: microseconds. */
  usersCpuUs: number;
  batchCpuUs: number;
  singleCpuUs: number;
  incrementalCpuUs: number;
  /** PostgreSQL's CPU for the same, microseconds. */
  usersPgUs: number;
  batchPgUs: number;
  singlePgUs: number;
  incrementalPgUs: number;
  usersPerSecond: number;
  postUserP99: number;
  getFilterP99: number;
  membershipsPerSecondBatch: number;
  patchBatchP99: number;
  membershipsPerSecondSingle: number;
  patchSingleP99: number;
  incrementalPerSecond: number;
  incrementalP99: number;
  growthFirstMs: number;
  growthLastMs: number;
  growthRatio: number;
  growthP99: number;
}

export interface State {
  ids: string[];
  figures: Partial<Figures>;
  /** Accumulated over the rounds of the phase running now. */
  seconds: number;
  /** Server CPU used meanwhile, ms. */
  cpu: number;
  /** PostgreSQL's CPU used meanwhile, ms (when it runs on this machine). */
  pgCpu: number;
  /** PgBouncer's CPU used meanwhile, ms (every pgbouncer process on this machine). */
  poolerCpu: number;
  ms: Record<string, number[]>;
}

export type Sizes = { users: number; groups: number; groupSize: number; growth: number };

/**
 * One phase of the cycle: `items` split into ROUNDS slices; each slice runs on
 * every target in turn (with CONCURRENCY in flight), so a noisy neighbour on
 * this shared machine slows all targets alike instead of the one it happens
 * to meet. `item` does one item's requests; `done` turns the totals into figures.
 */
interface Phase {
  readonly name: string;
  readonly items: (st: State) => number;
  prepare?(t: Target, st: State): Promise<void>;
  item(t: Target, st: State, i: number): Promise<void>;
  /** Sequential (one request at a time), not CONCURRENCY in flight. */
  readonly sequential?: boolean;
  done(st: State, items: number): Partial<Figures>;
}

const ROUNDS = 10;

export async function runPhase(phase: Phase, targets: [Target, State][]): Promise<void> {
  for (const [t, st] of targets) {
    st.seconds = 0;
    st.cpu = 0;
    st.pgCpu = 0;
    st.poolerCpu = 0;
    st.ms = {};
    await phase.prepare?.(t, st);
  }
  const n = phase.items(targets[0]![1]);
  // Slices of a multiple of CONCURRENCY items, so every round keeps all of them in flight to its end.
  const size = phase.sequential ? Math.ceil(n / ROUNDS) : CONCURRENCY * Math.max(1, Math.floor(n / (CONCURRENCY * ROUNDS)));
  for (let from = 0; from < n; from += size) {
    const slice = Array.from({ length: Math.min(size, n - from) }, (_, k) => from + k);
    for (const [t, st] of targets) {
      const cpu = cpuMs(t.pid);
      const pgCpu = commandCpuMs('postgres');
      const poolerCpu = commandCpuMs('pgbouncer');
      if (phase.sequential) {
        const started = performance.now();
        for (const i of slice) await phase.item(t, st, i);
        st.seconds += (performance.now() - started) / 1000;
      } else {
        st.seconds += await pool(slice, (i) => phase.item(t, st, i));
      }
      st.cpu += cpuMs(t.pid) - cpu;
      st.pgCpu += commandCpuSince('postgres', pgCpu);
      st.poolerCpu += commandCpuSince('pgbouncer', poolerCpu);
    }
  }
  for (const [, st] of targets) Object.assign(st.figures, phase.done(st, n));
}

function timed(st: State, key: string, r: Timed): Timed {
  (st.ms[key] ??= []).push(r.ms);
  return r;
}

/** The phases of an Entra initial and incremental cycle: the users, then those of `only` (default BENCH_ONLY, else all). */
export function phases(sizes: Sizes, seedGrowth: (orgId: string, n: number) => Promise<string[]>, only = process.env.BENCH_ONLY?.split(',')): Phase[] {
  // 1. Users: filter GET then POST, per user.
  const users: Phase = {
    name: 'users',
    items: () => sizes.users,
    async item(t, st, i) {
      const q = timed(st, 'get', await request(t, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${t.name}.user${i}@contoso.com"`)}`));
      expectStatus(q, 200, 'GET /Users?filter');
      const c = timed(st, 'post', await request(t, 'POST', '/Users', entraUser(i, t.name)));
      expectStatus(c, 201, 'POST /Users');
      st.ids[i] = (JSON.parse(c.body) as { id: string }).id;
    },
    done: (st, n) => ({ usersPerSecond: n / st.seconds, usersCpuUs: (st.cpu * 1000) / n, usersPgUs: (st.pgCpu * 1000) / n, postUserP99: pct(st.ms.post!, 99), getFilterP99: pct(st.ms.get!, 99) }),
  };

  // 2. Groups: filter GET, POST, then PATCH adding members, in batches of 50 or one per PATCH.
  const groups = (label: string, batch: number): Phase => ({
    name: label,
    items: () => sizes.groups,
    async item(t, st, g) {
      const name = `${t.name}-${label}-group-${g}`;
      const q = await request(t, 'GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${name}"`)}`);
      expectStatus(q, 200, 'GET /Groups?filter');
      const c = await request(t, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], externalId: crypto.randomUUID(), displayName: name, members: [] });
      expectStatus(c, 201, 'POST /Groups');
      const gid = (JSON.parse(c.body) as { id: string }).id;
      const members = Array.from({ length: sizes.groupSize }, (_, k) => st.ids[(g * 37 + k) % st.ids.length]!);
      for (let k = 0; k < members.length; k += batch) {
        expectStatus(timed(st, 'patch', await request(t, 'PATCH', `/Groups/${gid}`, addMembers(members.slice(k, k + batch)))), 204, 'PATCH /Groups');
      }
    },
    done(st, n) {
      const perSecond = (n * sizes.groupSize) / st.seconds;
      // CPU per PATCH, the GET and POST of each group included (a few per 250 memberships).
      const cpuUs = (st.cpu * 1000) / st.ms.patch!.length;
      const pgUs = (st.pgCpu * 1000) / st.ms.patch!.length;
      return batch === 1
        ? { membershipsPerSecondSingle: perSecond, patchSingleP99: pct(st.ms.patch!, 99), singleCpuUs: cpuUs, singlePgUs: pgUs }
        : { membershipsPerSecondBatch: perSecond, patchBatchP99: pct(st.ms.patch!, 99), batchCpuUs: cpuUs, batchPgUs: pgUs };
    },
  });

  // 3. Incremental: Replace of a few attributes, then active "False" for one in ten.
  const incremental: Phase = {
    name: 'incremental',
    items: (st) => st.ids.length,
    async item(t, st, i) {
      const id = st.ids[i]!;
      const r = await request(t, 'PATCH', `/Users/${id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [
          { op: 'Replace', path: 'displayName', value: `User ${i} (renamed)` },
          { op: 'Replace', path: 'name.givenName', value: `G${i}` },
          { op: 'Replace', path: 'title', value: 'Engineer' },
        ],
      });
      expectStatus(timed(st, 'patch', r), 200, 'PATCH /Users');
      if (i % 10 === 0) {
        const d = await request(t, 'PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] });
        expectStatus(timed(st, 'patch', d), 200, 'PATCH /Users active');
      }
    },
    done: (st) => ({ incrementalPerSecond: st.ms.patch!.length / st.seconds, incrementalP99: pct(st.ms.patch!, 99), incrementalCpuUs: (st.cpu * 1000) / st.ms.patch!.length, incrementalPgUs: (st.pgCpu * 1000) / st.ms.patch!.length }),
  };

  // 4. One group grown to `growth` members in batches of 50, one PATCH at a time.
  const growthState = new Map<string, { gid: string; ids: string[] }>();
  const growth: Phase = {
    name: 'growth',
    sequential: true,
    items: () => Math.ceil(sizes.growth / 50),
    async prepare(t) {
      const ids = await seedGrowth(t.orgId, sizes.growth);
      const gc = await request(t, 'POST', '/Groups', { displayName: `${t.name}-growth`, members: [] });
      expectStatus(gc, 201, 'POST /Groups growth');
      growthState.set(t.name, { gid: (JSON.parse(gc.body) as { id: string }).id, ids });
    },
    async item(t, st, b) {
      const g = growthState.get(t.name)!;
      expectStatus(timed(st, 'patch', await request(t, 'PATCH', `/Groups/${g.gid}`, addMembers(g.ids.slice(b * 50, b * 50 + 50)))), 204, 'PATCH /Groups growth');
    },
    done(st) {
      // Medians of the first and last ten batches: one batch alone is mostly noise.
      const ms = st.ms.patch!;
      const first = median(ms.slice(0, 10));
      const last = median(ms.slice(-10));
      return { growthFirstMs: first, growthLastMs: last, growthRatio: last / first, growthP99: pct(ms, 99) };
    },
  };

  const rest = [groups('b50', 50), groups('b1', 1), incremental, growth];
  return [users, ...rest.filter((p) => !only || only.includes(p.name))];
}

const WARM_UP = 400;

/** The requests of every phase, WARM_UP times each, on rows of their own (users `<target>-warm.user<i>`). */
export async function warmUp(t: Target): Promise<void> {
  const ids: string[] = [];
  const tag = `${t.name}-warm`;
  const items = Array.from({ length: WARM_UP }, (_, i) => i);
  await pool(items, async (i) => {
    expectStatus(await request(t, 'GET', `/Users?filter=${encodeURIComponent(`userName eq "${tag}.user${i}@contoso.com"`)}`), 200, 'warm-up GET /Users');
    const c = await request(t, 'POST', '/Users', entraUser(i, tag));
    expectStatus(c, 201, 'warm-up POST /Users');
    ids[i] = (JSON.parse(c.body) as { id: string }).id;
  });
  const gids: string[] = [];
  await pool(
    Array.from({ length: CONCURRENCY }, (_, g) => g),
    async (g) => {
      const name = `${tag}-group-${g}`;
      expectStatus(await request(t, 'GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${name}"`)}`), 200, 'warm-up GET /Groups');
      const c = await request(t, 'POST', '/Groups', { displayName: name, members: [] });
      expectStatus(c, 201, 'warm-up POST /Groups');
      gids[g] = (JSON.parse(c.body) as { id: string }).id;
    },
  );
  await pool(items, async (i) => expectStatus(await request(t, 'PATCH', `/Groups/${gids[i % CONCURRENCY]}`, addMembers([ids[i]!])), 204, 'warm-up PATCH /Groups'));
  await pool(items, async (i) => {
    const batch = Array.from({ length: 50 }, (_, k) => ids[(i + k) % ids.length]!);
    expectStatus(await request(t, 'PATCH', `/Groups/${gids[i % CONCURRENCY]}`, addMembers(batch)), 204, 'warm-up PATCH /Groups (50)');
  });
  await pool(items, async (i) => {
    const r = await request(t, 'PATCH', `/Users/${ids[i]}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Replace', path: 'displayName', value: `Warm ${i}` }],
    });
    expectStatus(r, 200, 'warm-up PATCH /Users');
  });
}

export function startProcess(file: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number; otelModules?: number }> {
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/scim-prof'] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', file], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, ...(JSON.parse(line) as { port: number; otelModules?: number }) });
    });
    child.on('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export async function run(): Promise<void> {
  const scale = Number(process.env.BENCH_SCALE ?? '0.1');
  if (!(scale > 0)) throw new Error('BENCH_SCALE must be a positive number');
  const sizes = {
    users: Math.max(50, Math.round(10_000 * scale)),
    groups: Math.max(2, Math.round(200 * scale)),
    groupSize: 250,
    growth: Number(process.env.BENCH_GROWTH ?? 20_000),
  };
  const adminUrl = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `gh_bench_scim_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  const dbUrl = u.toString();
  const children: ChildProcess[] = [];
  let sink: OtlpSink | undefined;
  const seedPool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  seedPool.on('error', () => undefined);
  try {
    const database = await openDatabase({ url: dbUrl, dataDir: '/nonexistent', poolSize: 2 });
    await migrate(database.connection);
    const domain = createDomain(database.db, SECRET);
    const orgA = await domain.organizations.create({ name: 'Bench Gatehouse', domain: `bench-${crypto.randomBytes(3).toString('hex')}` });
    const { token } = await domain.organizations.enableScim(systemActor(orgA.id, 'bench'));
    const orgB = await domain.organizations.create({ name: 'Bench baseline', domain: `base-${crypto.randomBytes(3).toString('hex')}` });
    const orgC = await domain.organizations.create({ name: 'Bench Express floor', domain: `floor-${crypto.randomBytes(3).toString('hex')}` });
    const orgD = await domain.organizations.create({ name: 'Bench Gatehouse traced', domain: `otel-${crypto.randomBytes(3).toString('hex')}` });
    const { token: otelToken } = await domain.organizations.enableScim(systemActor(orgD.id, 'bench'));
    // The same Gatehouse process with the mass-deprovision guard off: what the guard's bookkeeping costs, in the same run.
    const orgE = await domain.organizations.create({ name: 'Bench Gatehouse, guard off', domain: `noguard-${crypto.randomBytes(3).toString('hex')}` });
    await domain.guard.updateSettings(systemActor(orgE.id, 'bench'), { enabled: false });
    const { token: noGuardToken } = await domain.organizations.enableScim(systemActor(orgE.id, 'bench'));
    await database.close();

    const seedGrowth = async (orgId: string, n: number): Promise<string[]> => {
      const { rows } = await seedPool.query<{ id: string }>(
        `insert into members (organization_id, id, user_name, source) select $1, gen_random_uuid(), 'growth' || i || '@contoso.com', 'scim' from generate_series(1, $2::int) i returning id`,
        [orgId, n],
      );
      return rows.map((r) => r.id);
    };
    const env = { DATABASE_URL: dbUrl, LOG_LEVEL: 'silent', GATEHOUSE_SECRET: SECRET, NODE_ENV: 'production', DATABASE_POOL_SIZE: '10' };

    console.log(`SCIM benchmark: ${sizes.users} users, ${sizes.groups} groups × ${sizes.groupSize} members (batches of 50, and one per PATCH), growth to ${sizes.growth}; ${CONCURRENCY} in flight`);
    const gh = await startProcess(path.join(HERE, 'gatehouse-server.ts'), env);
    children.push(gh.child);
    const baseToken = crypto.randomBytes(24).toString('hex');
    const base = await startProcess(path.join(HERE, 'baseline.ts'), { ...env, BASELINE_ORG: orgB.id, BASELINE_TOKEN: baseToken });
    children.push(base.child);
    const floor = await startProcess(path.join(HERE, 'baseline.ts'), { ...env, BASELINE_ORG: orgC.id, BASELINE_TOKEN: baseToken, BASELINE_HTTP: 'express' });
    children.push(floor.child);
    // The same Gatehouse with OpenTelemetry tracing on, every request sampled, exporting OTLP (protobuf) to a sink here.
    sink = await startOtlpSink();
    const otel = await startProcess(path.join(HERE, 'gatehouse-server.ts'), { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'always_on' });
    children.push(otel.child);
    const target = (name: string, p: { child: ChildProcess; port: number }, tok: string, orgId: string): [Target, State] => [
      { name, port: p.port, token: tok, orgId, pid: p.child.pid! },
      { ids: [], figures: {}, seconds: 0, cpu: 0, pgCpu: 0, poolerCpu: 0, ms: {} },
    ];
    const targets = [target('gh', gh, token, orgA.id), target('base', base, baseToken, orgB.id), target('floor', floor, baseToken, orgC.id), target('otel', otel, otelToken, orgD.id), target('ghng', gh, noGuardToken, orgE.id)];
    // Every target serves each kind of request a few hundred times first, outside the measurements:
    // the figures are of warm processes (JIT-compiled code, full connection pools), not of start-up.
    for (const [t] of targets) await warmUp(t);
    for (const phase of phases(sizes, seedGrowth)) await runPhase(phase, targets);
    report(...(targets.map(([, st]) => st.figures as Figures) as [Figures, Figures, Figures, Figures, Figures]));
    console.log(`tracing off: ${gh.otelModules ?? '?'} OpenTelemetry SDK modules loaded in the server (the API alone does nothing); on: ${otel.otelModules ?? '?'}, ${sink.spans()} KB of spans received`);
    for (const c of children) await stop(c);
  } finally {
    agent.destroy();
    for (const c of children) await stop(c);
    await seedPool.end();
    await sink?.close();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

interface OtlpSink {
  readonly url: string;
  /** KB of spans received so far. */
  spans(): number;
  close(): Promise<void>;
}

/** An OTLP/HTTP collector that reads and drops what it is sent. */
async function startOtlpSink(): Promise<OtlpSink> {
  let bytes = 0;
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    spans: () => Math.round(bytes / 1024),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Columns: Gatehouse, the bare baseline and the same baseline behind Express; ratios against the bare one. Then Gatehouse traced against untraced. */
function report(g: Figures, b: Figures, x: Figures, o: Figures, n: Figures): void {
  const f = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
  const ratio = (k: keyof Figures, target?: string) =>
    `${f(g[k] / b[k], 2)}${target ? ` (target ${target})` : ''}  Express floor ${f(x[k] / b[k], 2)}`;
  const rows: [string, keyof Figures, number, string][] = [
    ['users/s (filter GET + POST)', 'usersPerSecond', 0, ratio('usersPerSecond', '≥ 0.7')],
    ['  server CPU per user, us', 'usersCpuUs', 0, ''],
    ['  PostgreSQL CPU per user, us', 'usersPgUs', 0, ''],
    ['p99 POST /Users ms', 'postUserP99', 1, 'target ≤ 30'],
    ['p99 GET /Users?filter ms', 'getFilterP99', 1, ''],
    ['memberships/s, batches of 50', 'membershipsPerSecondBatch', 0, ratio('membershipsPerSecondBatch', '≥ 0.5')],
    ['  server CPU per PATCH, us', 'batchCpuUs', 0, ''],
    ['  PostgreSQL CPU per PATCH, us', 'batchPgUs', 0, ''],
    ['p99 PATCH /Groups (50) ms', 'patchBatchP99', 1, ''],
    ['memberships/s, one per PATCH', 'membershipsPerSecondSingle', 0, ratio('membershipsPerSecondSingle', '≥ 0.5')],
    ['  server CPU per PATCH, us', 'singleCpuUs', 0, ''],
    ['  PostgreSQL CPU per PATCH, us', 'singlePgUs', 0, ''],
    ['p99 PATCH /Groups (1) ms', 'patchSingleP99', 1, ''],
    ['incremental PATCH /Users req/s', 'incrementalPerSecond', 0, ratio('incrementalPerSecond')],
    ['  server CPU per PATCH, us', 'incrementalCpuUs', 0, ''],
    ['  PostgreSQL CPU per PATCH, us', 'incrementalPgUs', 0, ''],
    ['p99 incremental PATCH ms', 'incrementalP99', 1, ''],
    ['growth: first 10 batches, median ms', 'growthFirstMs', 1, ''],
    ['growth: last 10 batches, median ms', 'growthLastMs', 1, ''],
    ['growth: last/first', 'growthRatio', 2, 'target ≤ 1.5'],
    ['growth: p99 ms', 'growthP99', 1, 'target ≤ 25'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`${' '.repeat(w)}  ${'gatehouse'.padStart(10)}  ${'baseline'.padStart(10)}  ${'express'.padStart(10)}  ratio to baseline`);
  for (const [label, k, d, note] of rows) console.log(`${label.padEnd(w)}  ${f(g[k], d).padStart(10)}  ${f(b[k], d).padStart(10)}  ${f(x[k], d).padStart(10)}  ${note}`);
  console.log('(express: the baseline handler behind a bare Express 5 app, no middleware; "Express floor" is its ratio,');
  console.log(' the most anything served through Express reaches here with the baseline\'s work: why the SCIM edge is on node:http.');
  console.log(' Server CPU: the server process alone. PostgreSQL CPU: all its processes on this machine while that target ran');
  console.log(' (rough: a process that ends during a slice drops out of that slice).');
  console.log(' The machine\'s two cores run both and this client.)');
  console.log('OpenTelemetry tracing on (every request sampled, OTLP to a local sink) against off, same run:');
  const traced: [string, keyof Figures, number][] = [
    ['users/s (filter GET + POST)', 'usersPerSecond', 0],
    ['  server CPU per user, us', 'usersCpuUs', 0],
    ['memberships/s, batches of 50', 'membershipsPerSecondBatch', 0],
    ['  server CPU per PATCH, us', 'batchCpuUs', 0],
    ['memberships/s, one per PATCH', 'membershipsPerSecondSingle', 0],
    ['  server CPU per PATCH, us', 'singleCpuUs', 0],
    ['incremental PATCH /Users req/s', 'incrementalPerSecond', 0],
    ['  server CPU per PATCH, us', 'incrementalCpuUs', 0],
    ['p99 POST /Users ms', 'postUserP99', 1],
  ];
  console.log(`${' '.repeat(w)}  ${'off'.padStart(10)}  ${'on'.padStart(10)}  on/off`);
  for (const [label, k, d] of traced) console.log(`${label.padEnd(w)}  ${f(g[k], d).padStart(10)}  ${f(o[k], d).padStart(10)}  ${f(o[k] / g[k], 2)}`);
  // The mass-deprovision guard decides inside the deactivating statement; its cost, same process and run (1.00 = none).
  console.log('Mass-deprovision guard on (gatehouse) against off (same process, same run):');
  console.log(`${' '.repeat(w)}  ${'off'.padStart(10)}  ${'on'.padStart(10)}  on/off`);
  for (const [label, k, d] of traced) console.log(`${label.padEnd(w)}  ${f(n[k], d).padStart(10)}  ${f(g[k], d).padStart(10)}  ${f(g[k] / n[k], 3)}`);
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
