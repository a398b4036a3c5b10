// Door controllers: N controllers (default 1,000 × BENCH_SCALE, each for 1–5
// locks) subscribed to `lockAccess` over WebSocket (graphql-ws's client, the
// DoorController of examples/door-controller) from a separate load process
// (bench/controllers/load.ts, so their CPU is not the server's), against the
// compiled Gatehouse (`node dist/server.js`) on a throwaway PostgreSQL
// database, while Entra-shaped SCIM PATCHes run at a steady rate. Figures:
//
// - revocation latency: from the response to a SCIM `PATCH active "False"`
//   to the moment every controller of a lock the member could open has the
//   entry (p50 / p99 / max; target p99 <= 250 ms), with the controllers on the
//   process that took the PATCH, then on a second process (PATCH to A,
//   controllers on B), then polling;
// - fan-out cost: server CPU and RSS per connected controller, events/s
//   delivered at the steady rate and at the most the server sustains;
// - resume: a controller away for 10,000 changes catches up (<= 1 s);
// - the same controllers polling `lockAccessChanges` every 5 s instead:
//   server CPU and database transactions per minute (pg_stat_database:
//   pg_stat_statements needs shared_preload_libraries), in the same run.
//
//   BENCH_SCALE=0.05 npm run bench -- controllers     (50 controllers: a quick check)
//   npm run bench -- controllers                      (1,000 controllers)
//   BENCH_SECONDS (each measured window; default 60 × scale, at least 15),
//   BENCH_SCIM_RATE (SCIM PATCHes per second, default 10),
//   BENCH_PROBE_RATE (revocations per second, default 2),
//   BENCH_RESUME_CHANGES (default 10,000).
import 'reflect-metadata';
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { benchScale, withFreshDatabase } from '../lib/db.js';
import { cpuMs, freePort, ROOT, rssBytes, startServer, stopProcess } from '../lib/process.js';
import { percentile, printTable } from '../lib/stats.js';
import type { ControllerSpec, Reply } from './load.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SECRET = 'bench-master-secret-0123456789abcdef';
const POLL_MS = 5_000;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const uuids = (n: number) => Array.from({ length: n }, () => crypto.randomUUID());

interface Sizes {
  controllers: number;
  members: number;
  groups: number;
  trafficGroups: number;
  places: number;
}

function sizes(scale: number): Sizes {
  const controllers = Math.max(5, Math.round(1000 * scale));
  return {
    controllers,
    members: Math.max(200, 10 * controllers),
    groups: Math.max(10, Math.round(controllers / 2)),
    trafficGroups: Math.max(4, Math.round(controllers / 50)),
    places: Math.ceil(controllers / 5),
  };
}

interface World {
  orgId: string;
  scimToken: string;
  /** Per controller: its key and locks. */
  controllers: ControllerSpec[];
  lockOwner: Map<string, number>;
  /** Members whose revocation is timed (never touched by the steady traffic). */
  probeMembers: string[];
  /** Members the steady traffic renames and moves in and out of the traffic groups. */
  trafficMembers: string[];
  trafficGroups: string[];
  /** Two members granted every controller lock at once: the barrier that tells all controllers are live. */
  barrierMembers: [string, string];
  resume: { lock: string; group: string; members: number; key: string };
}

/** Set-based seed (one statement per table; the per-lock seal runs at each commit) and one controller key per controller. */
async function seed(url: string, domain: ReturnType<typeof createDomain>, s: Sizes): Promise<World> {
  const org = await domain.organizations.create({ name: 'Bench controllers', domain: `bench-controllers-${crypto.randomBytes(3).toString('hex')}` });
  const sys = systemActor(org.id, 'bench');
  const { token: scimToken } = await domain.organizations.enableScim(sys);
  // Revocations by the hundred are the point here, not a mistake to hold.
  await domain.guard.updateSettings(sys, { enabled: false });

  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const q = (sql: string, params: unknown[]) => c.query(sql, params);
    const places = uuids(s.places + 1); // the last one: the resume controller's site, shared with nobody else
    await q(`insert into places (organization_id, id, name) select $1, id, 'Site ' || n from unnest($2::uuid[]) with ordinality t(id, n)`, [org.id, places]);
    const controllerLocks: string[][] = [];
    const lockIds: string[] = [];
    const lockPlaces: string[] = [];
    for (let i = 0; i < s.controllers; i++) {
      const mine = uuids(1 + (i % 5));
      controllerLocks.push(mine);
      for (const l of mine) {
        lockIds.push(l);
        lockPlaces.push(places[Math.floor(i / 5)]!);
      }
    }
    const resumeLock = crypto.randomUUID();
    lockIds.push(resumeLock);
    lockPlaces.push(places[s.places]!);
    await q(`insert into locks (organization_id, id, place_id, name) select $1, id, p, 'Door ' || n from unnest($2::uuid[], $3::uuid[]) with ordinality t(id, p, n)`, [org.id, lockIds, lockPlaces]);

    const resumeMembers = 500;
    const members = uuids(s.members + 2 + resumeMembers);
    await q(
      `insert into members (organization_id, id, user_name, external_id, display_name, given_name, family_name, source, emails)
       select $1, id, 'user' || n || '@contoso.com', 'ext-' || n, 'User ' || n, 'Given' || n, 'Family' || n, 'scim',
              jsonb_build_array(jsonb_build_object('value', 'user' || n || '@contoso.com', 'type', 'work', 'primary', true))
       from unnest($2::uuid[]) with ordinality t(id, n)`,
      [org.id, members],
    );
    const groups = uuids(s.groups + s.trafficGroups + 1);
    await q(`insert into groups (organization_id, id, display_name, source) select $1, id, 'Group ' || n, 'scim' from unnest($2::uuid[]) with ordinality t(id, n)`, [org.id, groups]);
    const regular = members.slice(0, s.members);
    // Every regular member in two groups.
    const gmGroup: string[] = [];
    const gmMember: string[] = [];
    regular.forEach((m, i) => {
      for (const g of new Set([i % s.groups, (i * 7 + 3) % s.groups])) {
        gmGroup.push(groups[g]!);
        gmMember.push(m);
      }
    });
    const resumeGroup = groups[s.groups + s.trafficGroups]!;
    for (const m of members.slice(s.members + 2)) {
      gmGroup.push(resumeGroup);
      gmMember.push(m);
    }
    await q(`insert into group_members (organization_id, group_id, member_id) select $1, g, m from unnest($2::uuid[], $3::uuid[]) t(g, m)`, [org.id, gmGroup, gmMember]);

    // Shares: each group on 2 locks, every 4th also on a site; each traffic group on a site and 2 locks;
    // each regular member directly on 1 lock (a tenth with a window that ends in 30 days).
    const controllerLockIds = lockIds.slice(0, -1);
    const pick = () => controllerLockIds[Math.floor(Math.random() * controllerLockIds.length)]!;
    const sh: { member: (string | null)[]; group: (string | null)[]; lock: (string | null)[]; place: (string | null)[]; until: (string | null)[] } = { member: [], group: [], lock: [], place: [], until: [] };
    const add = (member: string | null, group: string | null, lock: string | null, place: string | null, until: string | null = null) => {
      sh.member.push(member);
      sh.group.push(group);
      sh.lock.push(lock);
      sh.place.push(place);
      sh.until.push(until);
    };
    const inAMonth = new Date(Date.now() + 30 * 86_400_000).toISOString();
    groups.slice(0, s.groups + s.trafficGroups).forEach((g, k) => {
      add(null, g, pick(), null);
      add(null, g, pick(), null);
      if (k % 4 === 0 || k >= s.groups) add(null, g, null, places[k % s.places]!);
    });
    regular.forEach((m, i) => add(m, null, pick(), null, i % 10 === 0 ? inAMonth : null));
    await q(
      `insert into shares (organization_id, id, member_id, group_id, lock_id, place_id, role, valid_until)
       select $1, gen_random_uuid(), m, g, l, p, 'user', u from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::timestamptz[]) t(m, g, l, p, u)`,
      [org.id, sh.member, sh.group, sh.lock, sh.place, sh.until],
    );
    await c.query('vacuum analyze');

    const controllers: ControllerSpec[] = new Array(s.controllers);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < s.controllers) {
          const i = next++;
          const { key } = await domain.apiKeys.create(sys, { name: `door controller ${i}`, role: 'controller', lockIds: controllerLocks[i]! });
          controllers[i] = { key, lockIds: controllerLocks[i]! };
        }
      }),
    );
    const { key: resumeKey } = await domain.apiKeys.create(sys, { name: 'resume controller', role: 'controller', lockIds: [resumeLock] });
    const lockOwner = new Map<string, number>();
    controllerLocks.forEach((ls, i) => ls.forEach((l) => lockOwner.set(l, i)));
    return {
      orgId: org.id,
      scimToken,
      controllers,
      lockOwner,
      probeMembers: regular.filter((_, i) => i % 2 === 0).sort(() => Math.random() - 0.5),
      trafficMembers: regular.filter((_, i) => i % 2 === 1),
      trafficGroups: groups.slice(s.groups, s.groups + s.trafficGroups),
      barrierMembers: [members[s.members]!, members[s.members + 1]!],
      resume: { lock: resumeLock, group: resumeGroup, members: resumeMembers, key: resumeKey },
    };
  } finally {
    await c.end();
  }
}

/** The load process, and its requests answered by id. */
class Load {
  readonly proc: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();
  private exited = '';
  /** memberId (watched) → controller → when the first entry about the member arrived there (ms, wall clock). */
  readonly arrivals = new Map<string, Map<number, number>>();

  constructor() {
    this.proc = fork(path.join(HERE, 'load.ts'), [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: Reply & { op?: string; m?: string; c?: number; at?: number }) => {
      if (m.op === 'got') {
        let a = this.arrivals.get(m.m!);
        if (!a) this.arrivals.set(m.m!, (a = new Map()));
        a.set(m.c!, m.at!);
        return;
      }
      this.pending.get(m.id)?.(m);
      this.pending.delete(m.id);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = `the load process exited (${signal ?? `code ${code}`})`;
      for (const settle of this.pending.values()) settle({ id: 0, error: this.exited });
      this.pending.clear();
    });
  }

  ask<T extends Record<string, unknown>>(msg: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => (r.error ? reject(new Error(`load process: ${String(r.error)}`)) : resolve(r as unknown as T)));
      this.proc.send({ ...msg, id });
    });
  }

  async count(): Promise<{ applied: number; errors: number; requests: number; firstError: string }> {
    return this.ask({ op: 'count' });
  }

  /** Resolves when `n` controllers have had an entry about `memberId` (watched); returns when the last one arrived. */
  async arrived(memberId: string, n: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while ((this.arrivals.get(memberId)?.size ?? 0) < n) {
      if (this.exited) throw new Error(this.exited);
      if (Date.now() > deadline) throw new Error(`only ${this.arrivals.get(memberId)?.size ?? 0} of ${n} controllers had the entry after ${timeoutMs} ms`);
      await sleep(10);
    }
    return Math.max(...this.arrivals.get(memberId)!.values());
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** One SCIM request; resolves at the end of the response with its status and the wall-clock time. */
function scim(port: number, token: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; at: number }> {
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `/scim/v2${urlPath}`,
        agent,
        headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, at: now() }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const patchOp = (Operations: object[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });

/** Entra-shaped SCIM traffic: attribute updates of users and members moved in and out of shared groups. */
class Traffic {
  private timer: NodeJS.Timeout | null = null;
  private inFlight = new Set<Promise<unknown>>();
  private readonly added: [string, string][] = [];
  private readonly isIn = new Set<string>();
  private tick = 0;
  sent = 0;
  failed = 0;

  constructor(
    private readonly w: World,
    private readonly port: number,
  ) {}

  /** The next request: two attribute updates, then a group change. */
  next(groupsOnly = false): Promise<unknown> {
    const t = this.tick++;
    const member = this.w.trafficMembers[Math.floor(Math.random() * this.w.trafficMembers.length)]!;
    let p: Promise<{ status: number }>;
    if (!groupsOnly && t % 3 !== 2) {
      p = scim(this.port, this.w.scimToken, 'PATCH', `/Users/${member}`, patchOp([
        { op: 'Replace', path: 'displayName', value: `User ${t}` },
        { op: 'Replace', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: `Dept ${t % 40}` },
      ]));
    } else if (this.added.length > 20 && (this.added.length > 200 || t % 2 === 0)) {
      const [g, m] = this.added.shift()!;
      this.isIn.delete(`${g}/${m}`);
      p = scim(this.port, this.w.scimToken, 'PATCH', `/Groups/${g}`, patchOp([{ op: 'Remove', path: 'members', value: [{ $ref: null, value: m }] }]));
    } else {
      const g = this.w.trafficGroups[Math.floor(Math.random() * this.w.trafficGroups.length)]!;
      if (this.isIn.has(`${g}/${member}`)) return this.next(groupsOnly);
      this.isIn.add(`${g}/${member}`);
      this.added.push([g, member]);
      p = scim(this.port, this.w.scimToken, 'PATCH', `/Groups/${g}`, patchOp([{ op: 'Add', path: 'members', value: [{ $ref: null, value: member }] }]));
    }
    this.sent++;
    const done = p.then(
      (r) => {
        if (r.status >= 300) this.failed++;
      },
      () => this.failed++,
    );
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
    return done;
  }

  start(perSecond: number): void {
    this.timer = setInterval(() => void this.next(), 1000 / perSecond);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.inFlight);
  }
}

interface Probe {
  memberId: string;
  controllers: number[];
  respondedAt: number;
}

/** Revocations at a steady rate: SCIM PATCH active "False" of members no traffic touches. */
class Probes {
  private timer: NodeJS.Timeout | null = null;
  private readonly work = new Set<Promise<void>>();
  readonly done: Probe[] = [];
  failed = 0;

  constructor(
    private readonly w: World,
    private readonly load: Load,
    private readonly db: pg.Client,
    private readonly port: number,
  ) {}

  private async one(): Promise<void> {
    const memberId = this.w.probeMembers.pop();
    if (!memberId) return;
    const locks = await this.db.query<{ lock_id: string }>(`select lock_id from access_state where organization_id = $1 and member_id = $2 and may_open`, [this.w.orgId, memberId]);
    const controllers = [...new Set(locks.rows.map((r) => this.w.lockOwner.get(r.lock_id)).filter((c): c is number => c !== undefined))];
    if (controllers.length === 0) return;
    await this.load.ask({ op: 'watch', memberIds: [memberId] });
    const r = await scim(this.port, this.w.scimToken, 'PATCH', `/Users/${memberId}`, patchOp([{ op: 'Replace', path: 'active', value: 'False' }]));
    if (r.status !== 200) this.failed++;
    else this.done.push({ memberId, controllers, respondedAt: r.at });
  }

  start(perSecond: number): void {
    this.timer = setInterval(() => {
      const p = this.one().catch(() => void this.failed++);
      this.work.add(p);
      void p.finally(() => this.work.delete(p));
    }, 1000 / perSecond);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.work);
  }

  /** Latency of each revocation (ms from the PATCH response to the last affected controller; 0 when before it), and how many never fully arrived. */
  latencies(): { ms: number[]; missed: number; controllers: number } {
    const ms: number[] = [];
    let missed = 0;
    let controllers = 0;
    for (const p of this.done) {
      const a = this.load.arrivals.get(p.memberId);
      controllers += p.controllers.length;
      if (!a || p.controllers.some((c) => !a.has(c))) {
        missed++;
        continue;
      }
      ms.push(Math.max(0, Math.max(...p.controllers.map((c) => a.get(c)!)) - p.respondedAt));
    }
    return { ms, missed, controllers: this.done.length ? controllers / this.done.length : 0 };
  }
}

interface Usage {
  seconds: number;
  cpuMs: Record<string, number>;
  xacts: number;
  applied: number;
  requests: number;
}

/** The benchmark's own statements on `db` so far (they are not the server's). */
let ownStatements = 0;

/** Counts the statements run on `db`. */
function counting(db: pg.Client): pg.Client {
  const query = db.query.bind(db) as (...args: unknown[]) => unknown;
  (db as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    ownStatements++;
    return query(...args);
  };
  return db;
}

/**
 * Server CPU (per process), database transactions (pg_stat_database, less the
 * benchmark's own; PostgreSQL publishes them within about a second) and
 * entries applied by the controllers over `fn`.
 */
async function measure(pids: Record<string, number>, db: pg.Client, load: Load, fn: () => Promise<void>): Promise<Usage> {
  const xacts = async () => Number((await db.query<{ n: string }>(`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`)).rows[0]!.n);
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const [x0, c0, own0] = [await xacts(), await load.count(), ownStatements];
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  const [x1, c1] = [await xacts(), await load.count()];
  return {
    seconds,
    cpuMs: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid) - cpu0[k]!])),
    xacts: x1 - x0 - (ownStatements - own0),
    applied: c1.applied - c0.applied,
    requests: c1.requests - c0.requests,
  };
}

const pct = (cpuMsUsed: number, seconds: number) => `${((cpuMsUsed / (seconds * 1000)) * 100).toFixed(1)} %`;
const perMinute = (n: number, seconds: number) => Math.round((n / seconds) * 60).toLocaleString('en');

export async function run(): Promise<void> {
  const scale = benchScale(1);
  const s = sizes(scale);
  const seconds = Number(process.env.BENCH_SECONDS || Math.max(15, Math.round(60 * scale)));
  const scimRate = Number(process.env.BENCH_SCIM_RATE || 10);
  const probeRate = Number(process.env.BENCH_PROBE_RATE || 2);
  const resumeChanges = Number(process.env.BENCH_RESUME_CHANGES || 10_000);
  spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });

  await withFreshDatabase('controllers', async ({ url, database }) => {
    const t0 = performance.now();
    const domain = createDomain(database.db, SECRET);
    const w = await seed(url, domain, s);
    const lockCount = w.lockOwner.size;
    process.stdout.write(
      `scale ${scale}: ${s.controllers} controllers (${lockCount} locks, 1–5 each), ${s.members} members in ${s.groups} groups, ` +
        `SCIM ${scimRate} PATCH/s, ${probeRate} revocations/s, ${seconds} s per window; seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s ` +
        `(load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)\n`,
    );

    const db = counting(new pg.Client({ connectionString: url }));
    await db.connect();
    const procs: ChildProcess[] = [];
    let load: Load | undefined;
    try {
      const portA = await freePort();
      const a = await startServer(portA, { DATABASE_URL: url }, SECRET);
      procs.push(a);
      load = new Load();
      const L = load;
      const urlA = `http://127.0.0.1:${portA}/graphql`;
      const traffic = new Traffic(w, portA);
      const barrier = async (memberId: string, what: string) => {
        await L.ask({ op: 'watch', memberIds: [memberId] });
        await db.query(`insert into shares (organization_id, id, member_id, lock_id, role) select $1, gen_random_uuid(), $2, l, 'user' from unnest($3::uuid[]) l`, [w.orgId, memberId, [...w.lockOwner.keys()]]);
        const committed = now();
        const last = await L.arrived(memberId, s.controllers, 60_000);
        process.stdout.write(`${what}: one transaction granting ${lockCount} locks reached all ${s.controllers} controllers ${Math.round(last - committed)} ms after its commit\n`);
      };

      // 1. SCIM traffic alone, after a warm-up.
      traffic.start(scimRate);
      await sleep(Math.min(10, seconds / 2) * 1000);
      const probesAlone = new Probes(w, L, db, portA);
      probesAlone.start(probeRate);
      const alone = await measure({ a: a.pid! }, db, L, () => sleep(seconds * 1000));
      await probesAlone.stop();
      const rss0 = rssBytes(a.pid!);

      // 2. Connect the controllers (snapshot, then subscribe from its cursor), in batches of 50.
      const cpuBefore = cpuMs(a.pid!);
      const connected = await L.ask<{ ms: number }>({ op: 'connect', url: urlA, controllers: w.controllers, batch: 50 });
      const connectCpu = cpuMs(a.pid!) - cpuBefore;
      await barrier(w.barrierMembers[0], 'barrier');
      await sleep(2000);
      const rss1 = rssBytes(a.pid!);

      // 3. Subscribed, with revocations.
      const probesA = new Probes(w, L, db, portA);
      probesA.start(probeRate);
      const subscribed = await measure({ a: a.pid! }, db, L, () => sleep(seconds * 1000));
      await probesA.stop();
      await sleep(3000);

      // 4. As many group changes as the server takes (8 in flight), for half a window: events delivered per second.
      await traffic.stop();
      await sleep(1000);
      const head = async () => BigInt((await db.query<{ position: string }>(`select position from access_feed_heads where organization_id = $1`, [w.orgId])).rows[0]!.position);
      const h0 = await head();
      const applied0 = (await L.count()).applied;
      const burstStart = performance.now();
      const burstUntil = Date.now() + (seconds * 1000) / 2;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (Date.now() < burstUntil) await traffic.next(true);
        }),
      );
      const h1 = await head();
      const expected = Number(
        (await db.query<{ n: string }>(`select count(*) as n from access_entries where organization_id = $1 and position > $2 and position <= $3 and lock_id <> $4`, [w.orgId, h0, h1, w.resume.lock])).rows[0]!.n,
      );
      const deadline = Date.now() + 60_000;
      while ((await L.count()).applied - applied0 < expected && Date.now() < deadline) await sleep(20);
      const burstSeconds = (performance.now() - burstStart) / 1000;
      const burstDelivered = (await L.count()).applied - applied0;
      traffic.start(scimRate);

      // 5. Resume: a controller away for `resumeChanges` changes of its lock comes back with its cursor.
      await L.ask({ op: 'resume-prepare', url: urlA, controller: { key: w.resume.key, lockIds: [w.resume.lock] } });
      const share = crypto.randomUUID();
      for (let made = 0; made < resumeChanges; made += w.resume.members) {
        if ((made / w.resume.members) % 2 === 0) await db.query(`insert into shares (organization_id, id, group_id, lock_id, role) values ($1, $2, $3, $4, 'user')`, [w.orgId, share, w.resume.group, w.resume.lock]);
        else await db.query(`delete from shares where organization_id = $1 and id = $2`, [w.orgId, share]);
      }
      const made = Math.ceil(resumeChanges / w.resume.members) * w.resume.members;
      const resumed = await L.ask<{ ms: number; got: number; timedOut: boolean }>({ op: 'resume-go', expect: made });

      // 6. Two processes: the controllers move to B; SCIM still goes to A.
      const portB = await freePort();
      const b = await startServer(portB, { DATABASE_URL: url }, SECRET);
      procs.push(b);
      await L.ask({ op: 'stop' });
      await L.ask({ op: 'connect', url: `http://127.0.0.1:${portB}/graphql`, controllers: w.controllers, batch: 50 });
      await barrier(w.barrierMembers[1], 'barrier on process B');
      const probesB = new Probes(w, L, db, portA);
      probesB.start(probeRate);
      const twoProcesses = await measure({ a: a.pid!, b: b.pid! }, db, L, () => sleep(seconds * 1000));
      await probesB.stop();
      await sleep(3000); // the last revocations reach the controllers before they disconnect
      await L.ask({ op: 'stop' });
      await stopProcess(b);

      // 7. The same controllers polling lockAccessChanges every 5 s on A instead.
      await L.ask({ op: 'poll', url: urlA, controllers: w.controllers, intervalMs: POLL_MS });
      await sleep(POLL_MS);
      const probesPoll = new Probes(w, L, db, portA);
      probesPoll.start(probeRate);
      const polling = await measure({ a: a.pid! }, db, L, () => sleep(seconds * 1000));
      await probesPoll.stop();
      await sleep(POLL_MS + 2000);
      await L.ask({ op: 'stop' });
      await traffic.stop();
      const { errors: loadErrors, firstError } = await L.count();

      // Figures.
      const lat = (name: string, p: Probes) => {
        const l = p.latencies();
        return {
          revocation: name,
          probes: l.ms.length + l.missed,
          'controllers each': l.controllers.toFixed(1),
          p50: `${percentile(l.ms, 50).toFixed(0)} ms`,
          p99: `${percentile(l.ms, 99).toFixed(0)} ms`,
          max: `${Math.max(...l.ms).toFixed(0)} ms`,
          missed: l.missed + p.failed,
        };
      };
      process.stdout.write('\nRevocation latency: SCIM PATCH active "False" response → every affected controller has the entry (target p99 <= 250 ms)\n');
      printTable([
        lat(`subscribed, 1 process`, probesA),
        lat(`subscribed on B, PATCH to A`, probesB),
        lat(`polling every ${POLL_MS / 1000} s`, probesPoll),
      ]);

      process.stdout.write(`\nCost on the server (process A; SCIM ${scimRate} PATCH/s and ${probeRate} revocations/s in every row)\n`);
      const cost = (name: string, u: Usage, cpu = u.cpuMs.a!) => ({
        mode: name,
        'server CPU': pct(cpu, u.seconds),
        'DB transactions/min': perMinute(u.xacts, u.seconds),
        'controller requests/min': perMinute(u.requests, u.seconds),
        'entries applied/s': (u.applied / u.seconds).toFixed(1),
      });
      printTable([
        cost('SCIM only, no controllers', alone),
        cost(`${s.controllers} subscribed`, subscribed),
        cost(`${s.controllers} subscribed on B (A + B)`, twoProcesses, twoProcesses.cpuMs.a! + twoProcesses.cpuMs.b!),
        cost(`${s.controllers} polling every ${POLL_MS / 1000} s`, polling),
      ]);

      process.stdout.write('\nFan-out\n');
      printTable([
        { figure: 'connect (snapshot + subscribe), all controllers', value: `${(connected.ms / 1000).toFixed(1)} s` },
        { figure: 'server CPU per controller connecting', value: `${(connectCpu / s.controllers).toFixed(2)} ms` },
        { figure: 'server RSS per connected controller', value: `${((rss1 - rss0) / s.controllers / 1024).toFixed(1)} KiB (${(rss0 / 2 ** 20).toFixed(0)} → ${(rss1 / 2 ** 20).toFixed(0)} MiB)` },
        { figure: 'server CPU per subscribed controller (over SCIM only)', value: `${((subscribed.cpuMs.a! - alone.cpuMs.a!) / subscribed.seconds / s.controllers).toFixed(3)} ms/s` },
        { figure: 'entries delivered/s, steady SCIM traffic', value: (subscribed.applied / subscribed.seconds).toFixed(1) },
        { figure: 'entries delivered/s, group changes 8 in flight', value: `${(burstDelivered / burstSeconds).toFixed(0)} (${burstDelivered} of ${expected} in ${burstSeconds.toFixed(1)} s)` },
        { figure: `resume after ${made.toLocaleString('en')} changes (target <= 1 s)`, value: resumed.timedOut ? `NOT caught up in 60 s (${resumed.got})` : `${Math.round(resumed.ms)} ms` },
      ]);
      if (loadErrors > 0 || traffic.failed > 0) process.stdout.write(`(load process: ${loadErrors} errors, the first: ${firstError || 'none'}; SCIM: ${traffic.failed} of ${traffic.sent} failed)\n`);
    } finally {
      load?.proc.disconnect();
      for (const p of procs) await stopProcess(p);
      await db.end();
    }
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
