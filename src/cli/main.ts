// `npm run cli -- <group> <command> [--options] [--json]`
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { createDomain, DomainError, systemActor } from '../domain/index.js';
import { migrate, openDatabase } from '../infra/orm.js';
import { resolveMasterSecret } from '../infra/master-secret.js';
import { UsageError, type CliContext, type Command } from './command.js';
import { orgCommands } from './org.js';
import { scimCommands } from './scim.js';
import { apiKeyCommands } from './apikey.js';
import { directoryCommands } from './directory.js';
import { adminCommands } from './admin.js';

export const commands: Command[] = [...orgCommands, ...scimCommands, ...apiKeyCommands, ...directoryCommands, ...adminCommands];

function help(): string {
  return ['Usage: npm run cli -- <command> [options] [--json]', '', 'Commands:', ...commands.map((c) => `  ${c.usage}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  const fail = (code: number, kind: string, message: string): number => {
    process.stderr.write(`error: ${message}\n`);
    if (json) process.stdout.write(JSON.stringify({ error: { code: kind, message } }) + '\n');
    return code;
  };

  if (args.length === 0 || args[0] === 'help' || args[0] === '--help') {
    process.stdout.write(help() + '\n');
    return args.length === 0 ? 2 : 0;
  }
  const command = commands.find((c) => {
    const words = c.name.split(' ');
    return words.every((w, i) => args[i] === w);
  });
  if (!command) return fail(2, 'usage', `unknown command "${args.slice(0, 2).join(' ')}" (see: npm run cli -- help)`);

  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({ args: args.slice(command.name.split(' ').length), options: command.options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | string[] | undefined>;
  } catch (e) {
    return fail(2, 'usage', `${(e as Error).message}\nusage: npm run cli -- ${command.usage}`);
  }

  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) return fail(2, 'config', `invalid configuration: ${e.message}`);
    throw e;
  }
  const secret = resolveMasterSecret(config.secret, config.dataDir, (m) => process.stderr.write(m + '\n'));
  const database = await openDatabase({ url: config.database.url, dataDir: config.dataDir, poolSize: 2, allowJoin: true });
  try {
    await migrate(database.orm);
    const domain = createDomain(database.orm, secret);
    const ctx: CliContext = {
      config,
      domain,
      async orgActor(orgDomain) {
        if (!orgDomain) throw new UsageError('--org is required');
        const org = await domain.organizations.findByDomain(orgDomain);
        return systemActor(org.id, 'cli');
      },
    };
    const result = await command.run(ctx, values);
    process.stdout.write((json ? JSON.stringify(result.json) : result.text) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof UsageError) return fail(2, 'usage', `${e.message}\nusage: npm run cli -- ${command.usage}`);
    if (e instanceof DomainError) return fail(1, e.code, e.message);
    return fail(1, 'internal', e instanceof Error ? e.message : String(e));
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
