// `npm run build`: compiles the server and the CLI to JavaScript in dist/
// (esbuild, their dependencies bundled in; dist/server-traced.js, which the
// server runs instead when tracing is on, keeps them as imports),
// and the admin console's front end to dist/admin-console.{js,css}, so a
// production process runs `node dist/server.js` with no TypeScript compile
// and no console bundling at start. Then the PGlite template a first start
// copies (dist/pglite-template/, src/infra/postgres/build-template.ts):
// initdb and every migration, redone only when the
// migrations or PGlite changed.
//
// `--if-stale`: builds only when a source file is newer than dist/ (what
// `npm start` and `npm run cli` run first: a fresh clone builds once, plus
// the template; later calls check file times only).
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
/** Both server builds: ES modules for Node 20, chunks (splitting) kept in dist/ itself, where a file finds package.json at `../` as one in src/ does. */
const common = {
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  splitting: true,
  sourcemap: 'linked',
  logLevel: 'warning',
  // Decorators as tsc compiles them (tsconfig: experimentalDecorators); every
  // type-graphql decorator names its type explicitly, so no emitted metadata is needed.
  tsconfig: path.join(root, 'tsconfig.json'),
};
await Promise.all([
  // What production runs: the server, the CLI and the template builder with
  // their dependencies bundled in (loading ~650 files of node_modules one by
  // one was most of the main thread's start), except what cannot be or is
  // never loaded at start: PGlite (its WebAssembly and data files; the worker
  // imports it from node_modules), MikroORM and knex (only when a migration is
  // pending; knex's dialects require drivers that are not installed),
  // OpenTelemetry (see below), esbuild (a native binary), pg-native (optional,
  // not installed). Syntax and whitespace minified (less to read and parse at
  // every start); names kept, so stack traces and class names stay readable.
  build({
    ...common,
    entryPoints: {
      server: path.join(root, 'src/server.ts'),
      cli: path.join(root, 'src/cli/main.ts'),
      'build-template': path.join(root, 'src/infra/postgres/build-template.ts'),
    },
    // graphql too: src/graphql/limits.ts requires graphql-query-complexity's
    // CommonJS build at run time (its ESM build imports a second graphql), and
    // that requires graphql from node_modules; a bundled copy beside it would
    // fail graphql's realm checks (every query with a non-null variable
    // answered 500; test/server.test.ts queries the compiled server with one).
    external: ['@electric-sql/*', '@mikro-orm/*', '@opentelemetry/*', 'import-in-the-middle', 'esbuild', 'pg-native', 'graphql'],
    minifyWhitespace: true,
    minifySyntax: true,
    // Bundled CommonJS packages call require() (node: built-ins, JSON files, the external packages).
    banner: { js: "import { createRequire as __gatehouseCreateRequire } from 'node:module'; const require = __gatehouseCreateRequire(import.meta.url);" },
    define: { GATEHOUSE_BUILD: '"bundled"' },
    chunkNames: 'chunk-[hash]',
  }),
  // With tracing on (OTEL_EXPORTER_OTLP_ENDPOINT), dist/server.js runs this
  // one instead: packages stay imports from node_modules, as OpenTelemetry's
  // instrumentations must see express, pg and graphql load (they patch them
  // as they load; bundled, nothing would be patched). What the entry imports
  // dynamically is a chunk of its own, loaded when imported: src/server.ts
  // starts OpenTelemetry before it imports the rest. (One bundle would hoist
  // every package import to its top.)
  build({
    ...common,
    entryPoints: { 'server-traced': path.join(root, 'src/server.ts') },
    packages: 'external',
    define: { GATEHOUSE_BUILD: '"traced"' },
    chunkNames: 'traced-[hash]',
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
for (const f of fs.readdirSync(dist)) if (/^(chunk|traced)-.*\.js(\.map)?$/.test(f) && !built.has(f)) fs.rmSync(path.join(dist, f), { force: true });
fs.rmSync(out, { recursive: true, force: true });
process.stderr.write(`build: dist/ in ${Date.now() - started} ms\n`);
// The PGlite template a first start on an empty DATA_DIR copies (src/infra/postgres/template.ts):
// rebuilt only when this release's migrations (or PGlite) differ from the ones it holds.
execFileSync(process.execPath, [path.join(dist, 'build-template.js'), '--if-stale'], { stdio: 'inherit' });
fs.writeFileSync(stamp, new Date().toISOString() + '\n');
