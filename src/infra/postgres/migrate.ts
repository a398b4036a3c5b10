// Runs the migrations (top-level migrations/) with MikroORM's migrator, the
// one part of MikroORM Gatehouse uses: it keeps the applied list in
// mikro_orm_migrations, runs each migration in a transaction, and
// `npm run migration:create` writes new ones. The ORM is opened for the
// migration only, on one connection of its own, and closed again.
import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { migrationsList } from '../../../migrations/index.js';
import type { ConnectionSettings } from './client.js';

function mikroOrmOptions(connection: ConnectionSettings): Parameters<typeof MikroORM.init>[0] {
  return {
    ...('connectionString' in connection
      ? { clientUrl: connection.connectionString }
      : { host: connection.host, port: connection.port, user: connection.user, password: connection.password, dbName: connection.database }),
    entities: [],
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    pool: { min: 0, max: 1 },
    migrations: { migrationsList, transactional: true, allOrNothing: true, snapshot: false, silent: true },
    allowGlobalContext: true,
  };
}

/** Applies the pending migrations; returns their names. */
export async function migrate(connection: ConnectionSettings): Promise<string[]> {
  const orm = await MikroORM.init(mikroOrmOptions(connection));
  try {
    const done = await orm.getMigrator().up();
    return done.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}
