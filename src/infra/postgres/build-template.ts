// `node dist/build-template.js [--if-stale] [DIR]` (run by `npm run build`):
// builds the PGlite template a first start copies (./template.ts): initdb and
// every migration on a fresh embedded database in DIR (default
// dist/pglite-template), built beside it and renamed into place, so a start
// meanwhile finds the old template whole or the new one. `--if-stale`: only
// when the template there is missing or does not hold exactly this release's
// migrations (a source change elsewhere leaves it alone).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedPostgres, SOCKET_PORT } from './embedded.js';
import { migrate } from './migrate.js';
import { currentManifest, DEFAULT_TEMPLATE_DIR, templateMismatch, writeManifest } from './template.js';

export async function buildTemplate(dir: string): Promise<string[]> {
  const manifest = currentManifest();
  const suffix = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const building = `${dir}.build-${suffix}`;
  fs.rmSync(building, { recursive: true, force: true });
  const embedded = await startEmbeddedPostgres(building, { maxConnections: 3, allowJoin: false, template: false });
  let applied: string[];
  try {
    applied = await migrate({ host: embedded.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' }, { lock: false });
  } finally {
    await embedded.stop();
  }
  fs.renameSync(path.join(building, 'pglite'), path.join(building, 'pgdata'));
  for (const f of fs.readdirSync(building)) if (f !== 'pgdata') fs.rmSync(path.join(building, f), { recursive: true, force: true });
  writeManifest(building, manifest);
  // Moved aside then removed: the old template stays whole until the new one takes its name.
  // Two builds at once (test files building in parallel on a fresh clone) may race for the name:
  // the loser keeps the winner's template when it is current, and tries again otherwise.
  const old = `${dir}.old-${suffix}`;
  for (let attempt = 1; ; attempt++) {
    try {
      if (fs.existsSync(dir)) fs.renameSync(dir, old);
      fs.renameSync(building, dir);
      break;
    } catch (e) {
      if (templateCurrent(dir)) {
        fs.rmSync(building, { recursive: true, force: true });
        break;
      }
      if (attempt >= 5) throw e;
    }
  }
  fs.rmSync(old, { recursive: true, force: true });
  return applied;
}

/** True when `dir` holds a template of exactly this release's migrations. */
export function templateCurrent(dir: string): boolean {
  if (templateMismatch(dir) !== undefined) return false;
  const held = (JSON.parse(fs.readFileSync(path.join(dir, 'template.json'), 'utf8')) as { migrations: unknown[] }).migrations.length;
  return held === currentManifest().migrations.length;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = path.resolve(args.find((a) => !a.startsWith('--')) ?? DEFAULT_TEMPLATE_DIR);
  if (args.includes('--if-stale') && templateCurrent(dir)) return;
  const started = Date.now();
  const applied = await buildTemplate(dir);
  const cpu = process.cpuUsage(); // every thread of the process: PGlite runs in a worker
  process.stderr.write(`build: PGlite template (initdb and ${applied.length} migrations) in ${Date.now() - started} ms, ${Math.round((cpu.user + cpu.system) / 1000)} ms of CPU\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    process.stderr.write(`build-template: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
