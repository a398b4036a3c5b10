// A real streaming replica of the test server, made with Debian's tools:
// `pg_basebackup -R` from the server into a temporary data directory, started
// by `pg_ctl` on a free 127.0.0.1 port (hot standby), removed afterwards.
// Needs the server to accept replication connections from 127.0.0.1
// (scripts/setup.sh adds the pg_hba.conf line on a local server).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';
import { ADMIN_URL, withAdmin } from './pg-admin.js';

export interface Replica {
  readonly port: number;
  /** The URL of `database` on the replica. */
  urlFor(database: string): string;
  /** Stops the replica (fast shutdown: its connections are closed). */
  stop(): void;
  /** Starts it again; it catches up by streaming. */
  start(): void;
  /** Runs a statement on the replica (pg_wal_replay_pause(), …). */
  query<T extends object>(sql: string, database?: string): Promise<T[]>;
  /** Waits until the replica has replayed everything the primary has written so far and `database` is there. */
  caughtUp(database: string, timeoutMs?: number): Promise<void>;
  /** Stops it and removes its data directory. */
  remove(): void;
}

/** Debian keeps each major version's server tools in /usr/lib/postgresql/<major>/bin (not on PATH). */
async function binDir(): Promise<string> {
  const major = await withAdmin(async (c) => (await c.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0]!.v.slice(0, -4));
  const dir = `/usr/lib/postgresql/${major}/bin`;
  if (!fs.existsSync(path.join(dir, 'pg_basebackup'))) throw new Error(`${dir}/pg_basebackup not found: install postgresql-${major} (Debian)`);
  return dir;
}

export async function startReplica(): Promise<Replica> {
  const bin = await binDir();
  const server = new URL(ADMIN_URL);
  const user = decodeURIComponent(server.username || 'postgres');
  const env: Record<string, string> = server.password ? { PGPASSWORD: decodeURIComponent(server.password) } : {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-replica-'));
  const data = path.join(dir, 'data');
  const port = await freePort();
  // PostgreSQL refuses to run as root: as root (CI) the replica runs as the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) spawnSync('chown', ['postgres', dir]);
  fs.chmodSync(dir, 0o700);
  const run = (cmd: string, args: string[]) => {
    const opts = { encoding: 'utf8' as const, env: { ...process.env, ...env } };
    const r = asRoot ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], opts) : spawnSync(cmd, args, opts);
    if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed: ${r.stderr || r.stdout}`);
  };
  // -R writes standby.signal and primary_conninfo; -X stream copies the WAL made meanwhile; -c fast: no waiting for a checkpoint.
  // Other test files restart or terminate server connections now and then: a backup cut short is tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      run(path.join(bin, 'pg_basebackup'), ['-h', server.hostname, '-p', server.port || '5432', '-U', user, '-D', data, '-R', '-X', 'stream', '-c', 'fast']);
      break;
    } catch (e) {
      fs.rmSync(data, { recursive: true, force: true });
      if (attempt >= 3 || !/terminat|closed the connection|could not connect/i.test(String(e))) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  // Debian keeps postgresql.conf and pg_hba.conf in /etc: the copy gets its own.
  fs.writeFileSync(
    path.join(data, 'postgresql.conf'),
    [
      `listen_addresses = '127.0.0.1'`,
      `port = ${port}`,
      `unix_socket_directories = '${dir}'`,
      'hot_standby = on',
      'shared_buffers = 32MB',
      'fsync = off',
      // Queries on the replica are not cancelled by the primary's vacuum.
      'hot_standby_feedback = on',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
  if (asRoot) spawnSync('chown', ['-R', 'postgres', dir]);
  const pgCtl = (...args: string[]) => run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), ...args]);
  const urlFor = (database: string) => `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${database}`;
  const query = async <T extends object>(sql: string, database = 'postgres'): Promise<T[]> => {
    const c = new pg.Client({ connectionString: urlFor(database) });
    await c.connect();
    try {
      return (await c.query(sql)).rows as T[];
    } finally {
      await c.end();
    }
  };
  let running = false;
  const replica: Replica = {
    port,
    urlFor,
    stop() {
      if (!running) return;
      pgCtl('-m', 'fast', '-w', 'stop');
      running = false;
    },
    start() {
      if (running) return;
      pgCtl('-w', '-t', '60', 'start');
      running = true;
    },
    query,
    async caughtUp(database, timeoutMs = 90_000) {
      const target = await withAdmin(async (c) => (await c.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          const [r] = await query<{ ok: boolean }>(`select pg_last_wal_replay_lsn() >= '${target}'::pg_lsn as ok`, database);
          if (r?.ok) return;
        } catch (e) {
          if (Date.now() > deadline) throw e;
        }
        if (Date.now() > deadline) {
          const log = fs.existsSync(path.join(dir, 'log')) ? fs.readFileSync(path.join(dir, 'log'), 'utf8').split('\n').slice(-15).join('\n') : '';
          const at = await query<{ replayed: string }>('select pg_last_wal_replay_lsn()::text as replayed').catch((e: unknown) => String(e));
          throw new Error(`replica did not replay up to ${target} within ${timeoutMs} ms (at ${JSON.stringify(at)}); its log:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    remove() {
      try {
        replica.stop();
      } catch {
        pgCtl('-m', 'immediate', 'stop');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    replica.start();
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return replica;
}
