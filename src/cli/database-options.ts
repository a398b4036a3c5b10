// How the CLI opens its database: two connections, joining a running
// server's embedded database through its socket rather than failing.
import type { Config } from '../config.js';
import type { DatabaseOptions } from '../infra/postgres/database.js';

export function cliDatabaseOptions(config: Config): DatabaseOptions {
  return { url: config.database.url, dataDir: config.dataDir, poolSize: 2, poolMode: config.database.poolMode, allowJoin: true };
}
