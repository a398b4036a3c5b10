// Builds the console's front end (admin/src) with esbuild when the app is
// created, into memory: `npm ci && npm start` needs no separate build step,
// and the bundle is always the one of the running code.
// The compiled server (dist/server.js, `npm run build`) serves the bundle
// built beside it instead (dist/admin-console.{js,css}).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleBundle {
  readonly js: string;
  readonly css: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** Compiled: this code is dist/server.js (or dist/cli.js); from source: src/admin-console/bundle.ts. */
const compiled = path.basename(here) === 'dist';
const ROOT = compiled ? path.resolve(here, '..') : path.resolve(here, '../..');
export const ADMIN_SOURCE_DIR = path.join(ROOT, 'admin/src');

/** One build per process and flavour: tests create many apps. */
const built = new Map<boolean, Promise<ConsoleBundle>>();

export function buildConsoleBundle(minify = true): Promise<ConsoleBundle> {
  let p = built.get(minify);
  if (!p) {
    p = bundle(minify);
    built.set(minify, p);
    p.catch(() => built.delete(minify));
  }
  return p;
}

async function bundle(minify: boolean): Promise<ConsoleBundle> {
  if (compiled) {
    const [js, css] = await Promise.all(['js', 'css'].map((ext) => fs.promises.readFile(path.join(here, `admin-console.${ext}`), 'utf8').catch(() => '')));
    if (js) return { js, css: css ?? '' };
  }
  // esbuild only from source: the compiled server serves the bundle built beside it.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [path.join(ADMIN_SOURCE_DIR, 'main.ts')],
    bundle: true,
    write: false,
    outdir: '/admin-bundle',
    format: 'iife',
    target: ['es2020'],
    platform: 'browser',
    minify,
    sourcemap: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))?.text;
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
  if (!js) throw new Error('admin console bundle: esbuild produced no JavaScript');
  return { js, css };
}
