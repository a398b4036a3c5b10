// `npm run build`: compiles the server and the CLI to JavaScript in dist/
// (esbuild, one bundled file each; packages in node_modules stay imports),
// and the admin console's front end to dist/admin-console.{js,css}, so a
// production process runs `node dist/server.js` with no TypeScript compile
// and no console bundling at start. Then the PGlite template a first start
// copies (dist/pglite-template/, src/infra/postgres/build-template.ts):
// initdb and every migration, about 10 s of CPU, redone only when the
// migrations or PGlite changed.
//
// `--if-stale`: builds only when a source file is newer than dist/ (what
// `npm start` and `npm run cli` run first: a fresh clone builds once, about
// 1 s, plus the template; later calls check file times only).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.built');
const sources = ['src', 'migrations', 'admin/src', 'package.json', 'package-lock.json', 'scripts/build.mjs'];

function newestMtime(p) {
  let st;
  try {
    st = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
  return newest;
}

function stale() {
  let built;
  try {
    built = fs.statSync(stamp).mtimeMs;
  } catch {
    return true;
  }
  return sources.some((s) => newestMtime(path.join(root, s)) > built);
}

if (process.argv.includes('--if-stale') && !stale()) process.exit(0);

const started = Date.now();
// Built beside dist/ and moved in file by file (a rename is atomic): a process
// starting meanwhile, or a second build at the same time, never reads half a file.
const out = path.join(dist, `.build-${process.pid}`);
fs.mkdirSync(out, { recursive: true });
await Promise.all([
  build({
    entryPoints: {
      server: path.join(root, 'src/server.ts'),
      cli: path.join(root, 'src/cli/main.ts'),
      'build-template': path.join(root, 'src/infra/postgres/build-template.ts'),
    },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // What the entries import dynamically is a chunk of its own, loaded when
    // imported: src/server.ts starts OpenTelemetry before it imports the rest,
    // whose packages (express, pg, graphql) the instrumentations must see load.
    // (One bundle would hoist every package import to its top.) Chunks stay in
    // dist/ itself: a file there finds package.json at `../`, as one in src/ does.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    logLevel: 'warning',
    // Decorators as tsc compiles them (tsconfig: experimentalDecorators); every
    // type-graphql decorator names its type explicitly, so no emitted metadata is needed.
    tsconfig: path.join(root, 'tsconfig.json'),
  }),
  build({
    entryPoints: [path.join(root, 'admin/src/main.ts')],
    bundle: true,
    outdir: out,
    entryNames: 'admin-console',
    format: 'iife',
    target: ['es2020'],
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  }),
]);
const built = new Set(fs.readdirSync(out));
for (const f of built) fs.renameSync(path.join(out, f), path.join(dist, f));
// Chunks of earlier builds (their names are content hashes) go.
for (const f of fs.readdirSync(dist)) if (/^chunk-.*\.js(\.map)?$/.test(f) && !built.has(f)) fs.rmSync(path.join(dist, f), { force: true });
fs.rmSync(out, { recursive: true, force: true });
process.stderr.write(`build: dist/ in ${Date.now() - started} ms\n`);
// The PGlite template a first start on an empty DATA_DIR copies (src/infra/postgres/template.ts):
// rebuilt only when this release's migrations (or PGlite) differ from the ones it holds.
execFileSync(process.execPath, [path.join(dist, 'build-template.js'), '--if-stale'], { stdio: 'inherit' });
fs.writeFileSync(stamp, new Date().toISOString() + '\n');
