// Real processes for the resilience suite: Gatehouse servers, a round-robin
// proxy in front of them, and a private PostgreSQL server we may stop and
// start. Everything listens on 127.0.0.1 only.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor as waitUntil } from '../setup/net.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** waitFor (../setup/net.ts) over a process that may not answer yet: a failing check counts as not yet. */
export function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<number> {
  return waitUntil(() => check().catch(() => false), timeoutMs, intervalMs);
}

let built = false;
/** The compiled build (`npm run build`), as production runs it: built once per test file when the sources changed. */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: ROOT, stdio: 'ignore' });
  built = true;
}

export interface GatehouseProcess {
  readonly url: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** stdout+stderr so far. */
  output(): string;
  exited(): Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

export async function startGatehouse(
  env: Record<string, string>,
  opts: { port?: number; readyTimeoutMs?: number; /** Node's arguments; default: the compiled dist/server.js, built first when stale. */ args?: string[] } = {},
): Promise<GatehouseProcess> {
  const port = opts.port ?? (await freePort());
  if (!opts.args) ensureBuilt();
  const proc = spawn(process.execPath, opts.args ?? ['dist/server.js'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.tmpdir(),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      GATEHOUSE_SECRET: 'resilience-test-secret-0123456789abcdef',
      IMPORT_SCHEDULER: 'off',
      ...env,
      PORT: String(port),
      PUBLIC_URL: env.PUBLIC_URL ?? `http://127.0.0.1:${port}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`gatehouse exited: ${out}`);
      return (await fetch(`${url}/healthz`)).ok;
    }, opts.readyTimeoutMs ?? 30_000);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`gatehouse did not start: ${(e as Error).message}\n${out}`);
  }
  return { url, port, proc, output: () => out, exited: () => exit, kill: (s) => proc.kill(s) };
}

export interface Proxy {
  readonly url: string;
  /** How many requests each target received. */
  readonly counts: number[];
  close(): Promise<void>;
}

/** A round-robin HTTP proxy: request n goes to target n mod N. */
export async function roundRobinProxy(targets: () => string[]): Promise<Proxy> {
  let next = 0;
  const counts: number[] = [];
  const server = http.createServer((req, res) => {
    const list = targets();
    const i = next++ % list.length;
    counts[i] = (counts[i] ?? 0) + 1;
    const target = new URL(list[i]!);
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end('upstream unavailable');
    });
    req.pipe(upstream);
  });
  // fetch (undici) keeps an idle connection until shortly before the advertised timeout; at 1 s the
  // margin vanished and, under load, the proxy closed sockets fetch was reusing (ECONNRESET).
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface PrivatePostgres {
  readonly url: string;
  stop(): void;
  start(): void;
  destroy(): void;
}

function pgBin(name: string): string {
  const base = '/usr/lib/postgresql';
  const version = fs.readdirSync(base).sort().at(-1)!;
  return path.join(base, version, 'bin', name);
}

function asPostgres(cmd: string, args: string[]): void {
  const isRoot = process.getuid?.() === 0;
  const r = isRoot ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
}

/** A throw-away PostgreSQL cluster on its own port, which the test may stop and start. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-pg-'));
  fs.chmodSync(dir, 0o777);
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  if (process.getuid?.() === 0) spawnSync('chown', ['postgres', dir]);
  asPostgres(pgBin('initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const start = () => asPostgres(pgBin('pg_ctl'), ['-D', dataDir, '-o', opts, '-l', path.join(dir, 'log'), '-w', 'start']);
  const stop = () => asPostgres(pgBin('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    destroy() {
      try {
        stop();
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function hasPostgresBinaries(): boolean {
  try {
    return fs.existsSync(pgBin('initdb'));
  } catch {
    return false;
  }
}
