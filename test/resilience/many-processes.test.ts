// Many processes on one database, as a deploy starts them: three started at
// the same instant on an empty database run the migrations exactly once (an
// advisory lock; the others wait, then find nothing pending), and a rolling
// restart of two processes behind a load balancer, under Entra-shaped SCIM
// load, loses no acknowledged change and refuses no request.
import crypto from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MIGRATION_NAMES } from '../../migrations/names.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { urlFor, withAdmin } from '../setup/pg-admin.js';
import { ensureBuilt, roundRobinProxy, startGatehouse, type GatehouseProcess } from './harness.js';

const SECRET = 'resilience-test-secret-0123456789abcdef';
const started: GatehouseProcess[] = [];
const databases: string[] = [];
let database: Database | undefined;

/** An empty database: no template, no migrations. */
async function emptyDatabase(): Promise<string> {
  const name = `gh_${inject('runId')}_${crypto.randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`create database ${name}`));
  databases.push(name);
  return urlFor(name);
}

function readyLog(p: GatehouseProcess): { applied: string[] } | undefined {
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    const l = JSON.parse(line) as { msg?: string; applied?: string[] };
    if (l.msg === 'database ready') return { applied: l.applied ?? [] };
  }
  return undefined;
}

/** One POST on a connection of its own (no keep-alive race with the proxy closing idle sockets: this is about the server). */
function post(url: string, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', (e) => resolve({ status: 0, text: String(e) }));
      },
    );
    req.on('error', (e) => resolve({ status: 0, text: String(e) }));
    req.end(body);
  });
}

afterAll(async () => {
  for (const p of started) p.kill('SIGKILL');
  await database?.close();
  for (const name of databases) await withAdmin((c) => c.query(`drop database if exists ${name} with (force)`));
});

describe('many processes on one database', () => {
  it('three processes started at once on an empty database: migrations run exactly once, all three serve', async () => {
    ensureBuilt();
    const url = await emptyDatabase();
    const env = { DATABASE_URL: url, DATA_DIR: '/tmp/gh-unused', DATABASE_POOL_SIZE: '3', LOG_LEVEL: 'info' };
    const procs = await Promise.all([0, 1, 2].map(() => startGatehouse(env, { readyTimeoutMs: 180_000 })));
    started.push(...procs);
    for (const p of procs) expect((await fetch(`${p.url}/readyz`)).status).toBe(200);
    // Every process waited for the database to be ready; exactly one applied the migrations.
    const applied = procs.map((p) => readyLog(p)!.applied);
    expect(applied.filter((a) => a.length > 0)).toEqual([[...MIGRATION_NAMES]]);
    expect(applied.filter((a) => a.length === 0)).toHaveLength(2);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query<{ name: string; n: number }>('select name, count(*)::int as n from mikro_orm_migrations group by name order by name');
    await client.end();
    expect(rows).toEqual([...MIGRATION_NAMES].sort().map((name) => ({ name, n: 1 })));
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited()));
  }, 400_000);

  it('a rolling restart under SCIM load loses no acknowledged change and refuses no request', async () => {
    ensureBuilt();
    const url = await emptyDatabase();
    database = await openDatabase({ url, dataDir: '/nonexistent', poolSize: 2 });
    const env = { DATABASE_URL: url, DATA_DIR: '/tmp/gh-unused', DATABASE_POOL_SIZE: '4', PUBLIC_URL: 'https://gatehouse.test' };
    // The first process migrates the empty database.
    const procs = [await startGatehouse(env, { readyTimeoutMs: 180_000 })];
    procs.push(await startGatehouse(env, { readyTimeoutMs: 180_000 }));
    started.push(...procs);
    const domain = createDomain(database.db, SECRET);
    const org = await domain.organizations.create({ name: 'Rolling', domain: `rolling-${Date.now()}` });
    const token = (await domain.organizations.enableScim(systemActor(org.id))).token;
    // The load balancer sends only to processes in rotation; a process leaves it before it is told to stop.
    const rotation = new Set(procs);
    const proxy = await roundRobinProxy(() => [...rotation].map((p) => p.url));

    const acknowledged: string[] = [];
    const refused: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const userName = `roll-${w}-${i}@rolling.test`;
        const body = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName, active: true, externalId: `x-${w}-${i}` });
        const res = await post(`${proxy.url}/scim/v2/Users`, token, body);
        if (res.status === 201) acknowledged.push(userName);
        else refused.push(`${res.status} ${res.text.slice(0, 120)}`);
      }
    };
    const load = Promise.all([0, 1, 2, 3].map(worker));
    try {
      await new Promise((r) => setTimeout(r, 1000));
      // Replace each process in turn: the new one starts and joins, then the old one leaves and stops.
      for (let i = 0; i < procs.length; i++) {
        const old = procs[i]!;
        const fresh = await startGatehouse(env, { readyTimeoutMs: 180_000 });
        started.push(fresh);
        rotation.add(fresh);
        rotation.delete(old);
        old.kill('SIGTERM');
        expect(await old.exited()).toBe(0);
        procs[i] = fresh;
      }
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      stop = true;
      await load;
      await proxy.close();
    }
    expect(refused).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    const rows = await database.db.sql.all<{ user_name: string }>(`select user_name from members where organization_id = $1`, [org.id]);
    const stored = new Set(rows.map((r) => r.user_name));
    expect(acknowledged.filter((u) => !stored.has(u))).toEqual([]);
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited()));
  }, 600_000);
});
