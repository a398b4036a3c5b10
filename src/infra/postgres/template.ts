// A pre-initialised, pre-migrated PGlite data directory, built by `npm run
// build` into dist/pglite-template/ (scripts/build.mjs runs
// dist/build-template.js). A first start on an empty DATA_DIR copies it
// instead of running PostgreSQL's initdb and every migration one by one
// (initdb alone is most of a first start's CPU in WebAssembly);
// migrations newer than the template still run after it, as on any start.
//
// A template is used only when it matches: built by the same PGlite version,
// its migrations a prefix of this release's (same names, same order), and
// each of them the same file content (sha256) when migrations/ is there to
// compare (a clone; an image holding only dist/ compares names). Anything else,
// or no template, and the first start runs initdb and the migrations itself.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATION_NAMES } from '../../../migrations/names.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Compiled: this code is in dist/ (a chunk of dist/server.js or dist/cli.js); from source: src/infra/postgres/. */
const ROOT = path.basename(here) === 'dist' ? path.resolve(here, '..') : path.resolve(here, '../../..');

/** Where `npm run build` puts the template (not committed: dist/ is ignored). */
export const DEFAULT_TEMPLATE_DIR = path.join(ROOT, 'dist', 'pglite-template');
/** The template's own record of what it holds, beside the data directory `pgdata/`. */
const MANIFEST = 'template.json';

export interface TemplateManifest {
  /** PGlite's version (package.json) that ran initdb and the migrations. */
  readonly pglite: string;
  /** The migrations applied, in order, with the sha256 of each file. */
  readonly migrations: readonly { readonly name: string; readonly sha256: string }[];
}

/** The installed PGlite's version. */
export function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  // …/node_modules/@electric-sql/pglite/dist/index.cjs: the package's own package.json is not exported.
  const pkg = path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}dist${path.sep}`)), 'package.json');
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** sha256 of migrations/<name>.ts, or undefined when the sources are not there (a dist-only install). */
function migrationDigest(name: string, migrationsDir: string): string | undefined {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(path.join(migrationsDir, `${name}.ts`))).digest('hex');
  } catch {
    return undefined;
  }
}

/** The manifest a template built now would carry: every migration of this release. */
export function currentManifest(migrationsDir = path.join(ROOT, 'migrations')): TemplateManifest {
  return {
    pglite: pgliteVersion(),
    migrations: MIGRATION_NAMES.map((name) => {
      const sha256 = migrationDigest(name, migrationsDir);
      if (!sha256) throw new Error(`migration ${name} not found in ${migrationsDir}`);
      return { name, sha256 };
    }),
  };
}

/**
 * Why the template in `dir` must not be used, or undefined when it may: its
 * data directory is there, PGlite's version is this one, and its migrations
 * are this release's first ones, unchanged.
 */
export function templateMismatch(dir: string, opts: { migrationsDir?: string; names?: readonly string[] } = {}): string | undefined {
  const names = opts.names ?? MIGRATION_NAMES;
  const migrationsDir = opts.migrationsDir ?? path.join(ROOT, 'migrations');
  let manifest: TemplateManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as TemplateManifest;
  } catch {
    return 'no template';
  }
  if (!fs.existsSync(path.join(dir, 'pgdata', 'PG_VERSION'))) return 'the template has no data directory';
  if (manifest.pglite !== pgliteVersion()) return `the template was built by PGlite ${manifest.pglite}, this is ${pgliteVersion()}`;
  if (!Array.isArray(manifest.migrations) || manifest.migrations.length > names.length) return 'the template holds migrations this release does not know';
  for (const [i, m] of manifest.migrations.entries()) {
    if (m.name !== names[i]) return `the template's migration ${i + 1} is ${m.name}, this release's is ${names[i]}`;
    const sha256 = migrationDigest(m.name, migrationsDir);
    if (sha256 !== undefined && sha256 !== m.sha256) return `migration ${m.name} changed since the template was built`;
  }
  return undefined;
}

/** True when `pgdata` holds no database yet (absent or empty): a first start. */
export function isEmptyDataDir(pgdata: string): boolean {
  try {
    return fs.readdirSync(pgdata).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/** Writes the manifest of a template whose data directory is `dir`/pgdata. */
export function writeManifest(dir: string, manifest: TemplateManifest): void {
  fs.writeFileSync(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
}
