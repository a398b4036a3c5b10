// The CLI as a function of argv, environment and output streams, so tests can
// run every command in-process; src/cli/main.ts is the process entry point.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { DomainError, systemActor } from '../domain/index.js';
import { createDomainFromConfig } from '../compose.js';
import { migrate } from '../infra/postgres/migrate.js';
import { openDatabase, type Database } from '../infra/postgres/database.js';
import { cliDatabaseOptions } from './database-options.js';
import { resolveMasterSecret } from '../infra/master-secret.js';
import { UsageError, type CliContext, type Command } from './command.js';
import { orgCommands } from './org.js';
import { scimCommands } from './scim.js';
import { guardCommands } from './guard.js';
import { apiKeyCommands } from './apikey.js';
import { directoryCommands } from './directory.js';
import { importCommands } from './import.js';
import { samlCommands } from './saml.js';
import { adminCommands } from './admin.js';
import { auditCommands } from './audit.js';
import { webhookCommands } from './webhook.js';
import { mailCommands } from './mail.js';
import { dbCommands } from './db.js';

export const commands: Command[] = [...orgCommands, ...scimCommands, ...guardCommands, ...apiKeyCommands, ...directoryCommands, ...samlCommands, ...importCommands, ...adminCommands, ...auditCommands, ...webhookCommands, ...mailCommands, ...dbCommands];

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  stdout(text: string): void;
  stderr(text: string): void;
}

function help(): string {
  return ['Usage: npm run cli -- <command> [options] [--json]', '', 'Commands:', ...commands.map((c) => `  ${c.usage}`)].join('\n');
}

/** One line: a message from a library may carry newlines. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** Runs one command; returns the exit code (0 ok, 1 failed, 2 usage or configuration). */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  /** The database main.ts began opening while this module loaded (the embedded one takes about a second); taken only by a command that runs. */
  early?: () => Promise<Database>,
): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const fail = (code: number, kind: string, message: string): number => {
    io.stderr(`error: ${oneLine(message)}\n`);
    if (json) io.stdout(JSON.stringify({ error: { code: kind, message: oneLine(message) } }) + '\n');
    return code;
  };

  if (args.length === 0 || args[0] === 'help' || args[0] === '--help') {
    io.stdout(help() + '\n');
    return args.length === 0 ? 2 : 0;
  }
  const command = commands.find((c) => c.name.split(' ').every((w, i) => args[i] === w));
  if (!command) return fail(2, 'usage', `unknown command "${args.slice(0, 2).join(' ')}" (see: npm run cli -- help)`);
  const usage = (message: string) => fail(2, 'usage', `${message} (usage: npm run cli -- ${command.usage})`);

  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: args.slice(command.name.split(' ').length), options: command.options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | string[] | undefined
    >;
  } catch (e) {
    return usage((e as Error).message);
  }

  let config;
  try {
    config = loadConfig(io.env);
  } catch (e) {
    if (e instanceof ConfigError) return fail(2, 'config', `invalid configuration: ${e.message}`);
    throw e;
  }
  let database;
  let secret: string;
  try {
    secret = resolveMasterSecret(config.secret, config.dataDir, (m) => io.stderr(m + '\n'));
    database = early ? await early() : await openDatabase(cliDatabaseOptions(config));
  } catch (e) {
    return fail(1, 'database_unavailable', e instanceof Error ? e.message : String(e));
  }
  try {
    await migrate(database.connection, { lock: !database.embedded });
    // The same policies as the server (SESSION_*, AUTH_FAILURE_LIMIT) and the same ports.
    const domain = createDomainFromConfig(database.db, secret, config);
    const ctx: CliContext = {
      config,
      domain,
      json,
      write: (text) => io.stdout(text),
      note: (text) => io.stderr(text),
      async orgActor(orgDomain) {
        if (!orgDomain) throw new UsageError('--org is required');
        const org = await domain.organizations.findByDomain(orgDomain);
        return systemActor(org.id, 'cli');
      },
    };
    const result = await command.run(ctx, values);
    if (json) io.stdout(JSON.stringify(result.json) + '\n');
    else if (!result.streamed) io.stdout(result.text + '\n');
    return result.exitCode ?? 0;
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message);
    if (e instanceof DomainError) return fail(1, e.code, e.message);
    return fail(1, 'internal', e instanceof Error ? e.message : String(e));
  } finally {
    await database.close();
  }
}
