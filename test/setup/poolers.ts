// PgBouncer (Debian's package, installed by scripts/setup.sh) in front of the
// test server, in session and in transaction mode, each on a 127.0.0.1 port of
// its own, started by the global setup and stopped after the run. Every
// database of the server is reachable through it under its own name.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './net.js';
import { ADMIN_URL } from './pg-admin.js';

export type PoolerMode = 'session' | 'transaction';

export interface Pooler {
  readonly mode: PoolerMode;
  readonly port: number;
  stop(): Promise<void>;
}

export function pgbouncerBinary(): string | undefined {
  for (const p of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) if (fs.existsSync(p)) return p;
  return undefined;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Starts PgBouncer in `mode` in front of the server of `serverUrl` (default TEST_DATABASE_URL's). */
export async function startPgbouncer(mode: PoolerMode, serverUrl = ADMIN_URL): Promise<Pooler> {
  const bin = pgbouncerBinary();
  if (!bin) throw new Error('pgbouncer not found: scripts/setup.sh installs it (apt-get install pgbouncer)');
  const server = new URL(serverUrl);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gh-pgbouncer-${mode}-`));
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  const target = [`host=${server.hostname}`, `port=${server.port || 5432}`, `user=${decodeURIComponent(server.username || 'postgres')}`];
  if (server.password) target.push(`password=${decodeURIComponent(server.password)}`);
  fs.writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      // Every database, logging in to the server as the test user (the test server trusts 127.0.0.1).
      `* = ${target.join(' ')}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      'auth_type = any',
      `pool_mode = ${mode}`,
      'max_client_conn = 1000',
      'default_pool_size = 20',
      'server_reset_query = DISCARD ALL',
      'server_check_delay = 1',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) spawnSync('chown', ['-R', 'postgres', dir]);
  const args = [path.join(dir, 'pgbouncer.ini')];
  const proc: ChildProcess = asRoot ? spawn('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'ignore' }) : spawn(bin, args, { stdio: 'ignore' });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      const log = fs.existsSync(path.join(dir, 'pgbouncer.log')) ? fs.readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8') : '';
      throw new Error(`pgbouncer (${mode}) did not start: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    mode,
    port,
    async stop() {
      const pid = Number(fs.readFileSync(path.join(dir, 'pgbouncer.pid'), 'utf8').trim());
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        // gone already
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The URL of `url`'s database through the pooler on `port`. */
export function throughPooler(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}
