// `npm run cli -- <group> <command> [--options] [--json]`
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { beginOpeningDatabase, type Database } from '../infra/postgres/database.js';
import { cliDatabaseOptions } from './database-options.js';

/**
 * On the embedded database, which takes about a second to open in its worker
 * thread, the opening starts before the commands' modules load (./run.ts),
 * and the command takes it over. Only for an existing data directory (a first
 * start's initdb is not begun on a guess) and an argument that may be a
 * command; whatever the command turns out to be, an opening it did not take is
 * closed before the process exits.
 */
function beginEarly(argv: readonly string[]): { take: () => Promise<Database>; taken: () => boolean; opened: Promise<Database> } | undefined {
  const first = argv.find((a) => a !== '--json');
  if (!first || first === 'help' || first === '--help') return undefined;
  let config;
  try {
    config = loadConfig(process.env);
  } catch {
    return undefined; // run.ts reports it
  }
  if (config.database.url || !fs.existsSync(path.join(config.dataDir, 'pglite', 'PG_VERSION'))) return undefined;
  const { opened } = beginOpeningDatabase(cliDatabaseOptions(config));
  opened.catch(() => undefined); // run.ts reports it, when it takes it
  let taken = false;
  return {
    take: () => {
      taken = true;
      return opened;
    },
    taken: () => taken,
    opened,
  };
}

const argv = process.argv.slice(2);
const early = beginEarly(argv);
const { runCli } = await import('./run.js');

runCli(
  argv,
  {
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  },
  early?.take,
)
  .then(async (code) => {
    if (early && !early.taken()) await early.opened.then((d) => d.close(), () => undefined);
    return code;
  })
  .then(
    // Writes to pipes and files are synchronous on Linux, so exiting at once loses no output.
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
      process.exit(1);
    },
  );
