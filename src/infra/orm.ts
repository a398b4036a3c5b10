// Builds the MikroORM instance on a PostgreSQL server (DATABASE_URL) or on the
// embedded PGlite database, and runs the migrations.
import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { migrationsList } from '../../migrations/index.js';
import { startEmbeddedPostgres, SOCKET_PORT, type EmbeddedPostgres } from './embedded-postgres.js';

export interface Database {
  readonly orm: MikroORM;
  readonly embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string | undefined;
  dataDir: string;
  poolSize: number;
  /** CLI: reuse the socket of a running server instead of failing. */
  allowJoin?: boolean;
  debug?: boolean;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const embedded = opts.url
    ? undefined
    : await startEmbeddedPostgres(opts.dataDir, { maxConnections: opts.poolSize + 2, allowJoin: opts.allowJoin ?? false });
  try {
    const orm = await MikroORM.init({
      ...(opts.url
        ? { clientUrl: opts.url }
        : // PGlite: one query at a time, so a small pool; pg reads `host` as a socket directory.
          { host: embedded!.socketDir, port: SOCKET_PORT, user: 'postgres', dbName: 'postgres' }),
      entities: [],
      discovery: { warnWhenNoEntities: false },
      extensions: [Migrator],
      pool: { min: 0, max: opts.poolSize, idleTimeoutMillis: 10_000 },
      // Fail fast while the database is away (the request answers 503) instead of
      // queueing for knex's default minute; the pool reconnects on its own.
      // Generic plans on a server: every statement of the domain is keyed by
      // organization_id and a primary or unique key, and planning each run
      // anew (custom plans) cost more than running it, foreign-key checks of
      // every inserted row included (see domain/db.ts for when plans are made).
      driverOptions: {
        acquireConnectionTimeout: 5_000,
        connection: { application_name: 'gatehouse', connectionTimeoutMillis: 3_000, statement_timeout: 30_000, ...(opts.url ? { options: '-c plan_cache_mode=force_generic_plan' } : {}) },
      },
      migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
      allowGlobalContext: true,
      debug: opts.debug ?? false,
    });
    return {
      orm,
      embedded,
      async close() {
        await orm.close(true);
        await embedded?.stop();
      },
    };
  } catch (e) {
    await embedded?.stop();
    throw e;
  }
}

export async function migrate(orm: MikroORM): Promise<string[]> {
  const done = await orm.getMigrator().up();
  return done.map((m) => m.name);
}
