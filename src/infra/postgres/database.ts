// Opens Gatehouse's database: a PostgreSQL server (DATABASE_URL) or the
// embedded PGlite served on a socket in DATA_DIR (./embedded.ts), and the
// client pool on it (./client.ts).
import type { PoolMode } from '../../config.js';
import { PostgresDb, type ConnectionSettings } from './client.js';
import { startEmbeddedPostgres, SOCKET_PORT, type EmbeddedPostgres } from './embedded.js';

export interface Database {
  readonly db: PostgresDb;
  readonly connection: ConnectionSettings;
  readonly embedded: EmbeddedPostgres | undefined;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string | undefined;
  dataDir: string;
  poolSize: number;
  /** What `url` reaches: the server (default) or a pooler in session or transaction mode. */
  poolMode?: PoolMode;
  /** A direct connection for LISTEN (a pooler in transaction mode delivers no notifications). */
  listenUrl?: string;
  /** CLI: reuse the socket of a running server instead of failing. */
  allowJoin?: boolean;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const embedded = opts.url
    ? undefined
    : await startEmbeddedPostgres(opts.dataDir, { maxConnections: opts.poolSize + 2, allowJoin: opts.allowJoin ?? false });
  // PGlite: pg reads `host` as a socket directory.
  const connection: ConnectionSettings = opts.url
    ? { connectionString: opts.url }
    : { host: embedded!.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' };
  const db = new PostgresDb({
    connection,
    poolSize: opts.poolSize,
    poolMode: opts.poolMode ?? 'direct',
    listenConnection: opts.listenUrl ? { connectionString: opts.listenUrl } : undefined,
  });
  return {
    db,
    connection,
    embedded,
    async close() {
      await db.close();
      await embedded?.stop();
    },
  };
}
