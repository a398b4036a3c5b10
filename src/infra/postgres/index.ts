export { PostgresDb, type ConnectionSettings, type PostgresOptions } from './client.js';
export { openDatabase, type Database, type DatabaseOptions } from './database.js';
export { migrate } from './migrate.js';
export { keepStatistics, GROWING_TABLES } from './statistics.js';
export { countStatements } from './statement-count.js';
