// Processes the benchmarks start and watch: the compiled server on a port,
// and a process's CPU time and resident memory from /proc (Linux).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A TCP port free on 127.0.0.1 now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** User + system CPU time (ms) in a /proc/<pid>/stat line. */
export function statCpuMs(stat: string): number {
  const fields = stat.split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks of 1/100 s
}

/** CPU time (user + system, ms) the process has used so far; 0 where /proc is not there. */
export function cpuMs(pid: number): number {
  try {
    return statCpuMs(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/** Resident memory of the process (bytes, VmRSS); 0 where /proc is not there. */
export function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The compiled server (`node dist/server.js`, build it first) on `port`, with
 * the schedulers off unless `env` says otherwise; resolves once /readyz answers 200.
 */
export async function startServer(port: number, env: Record<string, string>, secret: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['dist/server.js'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      SCHEDULER: 'off',
      IMPORT_SCHEDULER: 'off',
      DELIVERY_WORKER: 'off',
      LOG_LEVEL: 'warn',
      GATEHOUSE_SECRET: secret,
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'gh-bench-')),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return proc;
    } catch {
      // not yet
    }
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`server on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM, then waits for the exit. */
export function stopProcess(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}
