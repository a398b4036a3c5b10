// Runs the migrations (top-level migrations/) with MikroORM's migrator, the
// one part of MikroORM Gatehouse uses: it keeps the applied list in
// mikro_orm_migrations, runs each migration in a transaction, and
// `npm run migration:create` writes new ones.
//
// Many processes may start at once on one database (a rolling deploy, an
// autoscaler): each opens a transaction on a connection of its own and takes
// a transaction advisory lock before it looks, so exactly one runs the
// pending migrations (on MikroORM's connection) while the others wait for the
// lock, then find nothing pending and go on. A transaction lock, not a session
// one: behind a pooler in transaction mode the transaction keeps its server
// connection, and the lock cannot outlive it. The check is
// one statement against mikro_orm_migrations; MikroORM (and knex, and the
// migration classes) is loaded only when something is pending.
import pg from 'pg';
import { MIGRATION_NAMES } from '../../../migrations/names.js';
import type { ConnectionSettings } from './client.js';

/** Key of the advisory lock migrations run under (any process of any release). */
export const MIGRATION_LOCK_KEY = 0x6761_7465; // 'gate'

export interface MigrateOptions {
  /** Take the advisory lock (default: on a server; never on PGlite, which has one process only). */
  readonly lock?: boolean;
  /** Called when another process holds the lock and this one waits for it. */
  readonly onWait?: () => void;
}

/** The migrations not applied yet, in order (all of them on an empty database). */
export async function pendingMigrations(client: pg.Client): Promise<string[]> {
  const { rows: table } = await client.query<{ exists: boolean }>(`select to_regclass('mikro_orm_migrations') is not null as exists`);
  if (!table[0]?.exists) return [...MIGRATION_NAMES];
  const { rows } = await client.query<{ name: string }>('select name from mikro_orm_migrations');
  const applied = new Set(rows.map((r) => r.name));
  return MIGRATION_NAMES.filter((n) => !applied.has(n));
}

/** Applies the pending migrations, one process at a time; returns their names. */
export async function migrate(connection: ConnectionSettings, opts: MigrateOptions = {}): Promise<string[]> {
  const client = new pg.Client({ ...connection, application_name: 'gatehouse-migrate' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // PGlite serves every connection from one session: a transaction held here would stall MikroORM's connection.
    const lock = opts.lock !== false && (await client.query<{ server: boolean }>(`select position('PGlite' in version()) = 0 as server`)).rows[0]!.server;
    if (lock) {
      await client.query('begin');
      const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [MIGRATION_LOCK_KEY]);
      if (!rows[0]?.ok) {
        opts.onWait?.();
        await client.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      }
    }
    const applied = (await pendingMigrations(client)).length === 0 ? [] : await runMigrator(connection);
    if (lock) await client.query('commit');
    return applied;
  } finally {
    // Ending the connection ends its transaction, and the lock with it.
    await client.end().catch(() => undefined);
  }
}

async function runMigrator(connection: ConnectionSettings): Promise<string[]> {
  const [{ MikroORM }, { Migrator }, { migrationsList }] = await Promise.all([
    import('@mikro-orm/postgresql'),
    import('@mikro-orm/migrations'),
    import('../../../migrations/index.js'),
  ]);
  const orm = await MikroORM.init({
    ...('connectionString' in connection
      ? { clientUrl: connection.connectionString }
      : { host: connection.host, port: connection.port, user: connection.user, password: connection.password, dbName: connection.database }),
    entities: [],
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    pool: { min: 0, max: 1 },
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    allowGlobalContext: true,
  });
  try {
    const done = await orm.getMigrator().up();
    return done.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}
