// Start to /readyz on the embedded PGlite, configured as a new user's `npm
// start` (background jobs on): the server from source through tsx (`npm run
// dev`) against the compiled build (`node dist/server.js`, what `npm start`
// runs), first start on an empty DATA_DIR and later starts on the same one,
// alternating so both see the same machine. Wall time to the first 200 from
// /readyz, and the CPU the process used by then, all its threads (user +
// system, from /proc: steadier than wall time on a shared machine; PGlite opens
// in a worker thread while the main one loads the server, so on an idle
// machine with two cores the wall time is below the CPU). Also the CLI
// (`org list`) each way: alone (it opens PGlite itself) and beside a running
// server (it joins the server's socket). First starts copy the build's PGlite
// template (src/infra/postgres/template.ts); building it (initdb and every
// migration, what `npm run build` adds once) is timed as well.
// BENCH_START_RUNS: later starts per flavour (default 3).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMs, freePort } from '../lib/process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FLAVOURS = { tsx: ['--import', 'tsx', 'src/server.ts'], compiled: ['dist/server.js'] } as const;
const CLI = { tsx: ['--import', 'tsx', 'src/cli/main.ts'], compiled: ['dist/cli.js'] } as const;
type Flavour = keyof typeof FLAVOURS;

const SECRET = 'bench-start-secret-0123456789abcdefgh';

/** Starts the server, times it to /readyz, runs `meanwhile` while it serves, then stops it. */
async function startOnce(flavour: Flavour, dataDir: string, meanwhile?: () => void): Promise<{ wall: number; cpu: number }> {
  const port = await freePort();
  const started = performance.now();
  const proc = spawn(process.execPath, [...FLAVOURS[flavour]], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', GATEHOUSE_SECRET: SECRET },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`${flavour} server exited ${proc.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const figures = { wall: (performance.now() - started) / 1000, cpu: cpuMs(proc.pid!) / 1000 };
    meanwhile?.();
    return figures;
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

function cliOnce(flavour: Flavour, dataDir: string): { wall: number } {
  const started = performance.now();
  execFileSync(process.execPath, [...CLI[flavour], 'org', 'list', '--json'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, LOG_LEVEL: 'silent', GATEHOUSE_SECRET: SECRET },
    stdio: 'ignore',
  });
  return { wall: (performance.now() - started) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f = (s: number) => `${s.toFixed(2)} s`;

export async function run(): Promise<void> {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: ROOT, stdio: 'ignore' });
  const runs = Number(process.env.BENCH_START_RUNS ?? 3);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-bench-start-'));
  // What `npm run build` adds once per clone (and per migration change): the PGlite template a first start copies.
  const templateStarted = performance.now();
  const templateLine = spawnSync(process.execPath, ['dist/build-template.js', path.join(root, 'template')], { cwd: ROOT, encoding: 'utf8' }).stderr;
  const template = { wall: (performance.now() - templateStarted) / 1000, cpu: Number(/(\d+) ms of CPU/.exec(templateLine)?.[1] ?? NaN) / 1000 };
  const dirs = { tsx: path.join(root, 'tsx'), compiled: path.join(root, 'compiled') };
  const first: Record<Flavour, { wall: number; cpu: number }> = { tsx: await startOnce('tsx', dirs.tsx), compiled: await startOnce('compiled', dirs.compiled) };
  const later: Record<Flavour, { wall: number; cpu: number }[]> = { tsx: [], compiled: [] };
  const cli: Record<Flavour, number[]> = { tsx: [], compiled: [] };
  const cliJoining: Record<Flavour, number[]> = { tsx: [], compiled: [] };
  for (let i = 0; i < runs; i++) {
    for (const fl of ['tsx', 'compiled'] as const) {
      later[fl].push(await startOnce(fl, dirs[fl], () => cliJoining[fl].push(cliOnce(fl, dirs[fl]).wall)));
      cli[fl].push(cliOnce(fl, dirs[fl]).wall);
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
  console.log(`load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores; later starts: median of ${runs}`);
  console.log('| start to /readyz (PGlite) | tsx wall / CPU | compiled wall / CPU | compiled / tsx (wall) |');
  console.log('|---|---|---|---|');
  console.log(`| first start (empty DATA_DIR) | ${f(first.tsx.wall)} / ${f(first.tsx.cpu)} | ${f(first.compiled.wall)} / ${f(first.compiled.cpu)} | ${(first.compiled.wall / first.tsx.wall).toFixed(2)} |`);
  const lw = { tsx: median(later.tsx.map((x) => x.wall)), compiled: median(later.compiled.map((x) => x.wall)) };
  const lc = { tsx: median(later.tsx.map((x) => x.cpu)), compiled: median(later.compiled.map((x) => x.cpu)) };
  console.log(`| later start | ${f(lw.tsx)} / ${f(lc.tsx)} | ${f(lw.compiled)} / ${f(lc.compiled)} | ${(lw.compiled / lw.tsx).toFixed(2)} |`);
  console.log(`| building the PGlite template (\`npm run build\`, once; a first start without it pays about this) | | ${f(template.wall)} / ${f(template.cpu)} | |`);
  console.log(`| CLI \`org list\` alone (opens PGlite itself), wall | ${f(median(cli.tsx))} | ${f(median(cli.compiled))} | ${(median(cli.compiled) / median(cli.tsx)).toFixed(2)} |`);
  console.log(`| CLI \`org list\` beside the running server (its socket), wall | ${f(median(cliJoining.tsx))} | ${f(median(cliJoining.compiled))} | ${(median(cliJoining.compiled) / median(cliJoining.tsx)).toFixed(2)} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
