// `npm run bench [-- name ...]`: runs every bench/<name>/index.ts (each exports
// `run(): Promise<void>` and prints its own figures), or only the named ones,
// one after the other. Benchmarks are not tests: they print, they do not assert.
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

function available(): string[] {
  return fs
    .readdirSync(benchDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(benchDir, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}

async function main(argv: string[]): Promise<number> {
  const all = available();
  const wanted = argv.length > 0 ? argv : all;
  const unknown = wanted.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    process.stderr.write(`error: unknown benchmark(s) ${unknown.join(', ')}; available: ${all.join(', ') || '(none)'}\n`);
    return 2;
  }
  for (const name of wanted) {
    process.stdout.write(`\n== bench/${name} ==\n`);
    const started = performance.now();
    const mod = (await import(pathToFileURL(path.join(benchDir, name, 'index.ts')).href)) as { run?: () => Promise<void> };
    if (typeof mod.run !== 'function') {
      process.stderr.write(`error: bench/${name}/index.ts does not export run()\n`);
      return 1;
    }
    await mod.run();
    process.stdout.write(`(bench/${name}: ${((performance.now() - started) / 1000).toFixed(1)} s)\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
