// Opens Gatehouse's database: a PostgreSQL server (DATABASE_URL) or the
// embedded PGlite served on a socket in DATA_DIR (./embedded.ts), and the
// client pool on it (./client.ts).
import type { PoolMode } from '../../config.js';
import { PostgresDb, type ConnectionSettings } from './client.js';
import { ReplicaSet } from './replicas.js';
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
  /** Read replicas (DATABASE_REPLICA_URLS), reached as `poolMode` says; none: every read goes to `url`. */
  replicaUrls?: readonly string[];
  /** A replica further behind than this is skipped (DATABASE_REPLICA_MAX_LAG_SECONDS). */
  replicaMaxLagSeconds?: number;
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
  let replicas: ReplicaSet | undefined;
  if (opts.url && opts.replicaUrls && opts.replicaUrls.length > 0) {
    const readers = opts.replicaUrls.map((url) => new PostgresDb({ connection: { connectionString: url }, poolSize: opts.poolSize, poolMode: opts.poolMode ?? 'direct' }));
    replicas = new ReplicaSet(db, readers, (opts.replicaMaxLagSeconds ?? 5) * 1000);
    db.useReplicas(replicas);
    // The first check decides which replicas serve from the start (one that does not answer is down).
    await replicas.start();
  }
  return {
    db,
    connection,
    embedded,
    async close() {
      await replicas?.stop();
      await db.close();
      await embedded?.stop();
    },
  };
}
