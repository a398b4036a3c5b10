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
  return beginOpeningDatabase(opts).opened;
}

export interface OpeningDatabase {
  /** The client, usable to build on at once; its statements fail (unavailable) until `opened` resolves. */
  readonly db: PostgresDb;
  readonly connection: ConnectionSettings;
  /** Resolves once the database answers (the embedded one opened, the replicas checked); rejects when it cannot open. */
  readonly opened: Promise<Database>;
}

/**
 * Starts opening the database and hands its client before it is open: the
 * server builds its app meanwhile (the embedded PGlite takes about a second
 * to open in its worker thread), and sends nothing to it before `opened`.
 */
export function beginOpeningDatabase(opts: DatabaseOptions): OpeningDatabase {
  // PGlite: pg reads `host` as a socket directory (DATA_DIR: this process's socket, or the running server's it joins).
  const connection: ConnectionSettings = opts.url
    ? { connectionString: opts.url }
    : { host: opts.dataDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' };
  const db = new PostgresDb({
    connection,
    poolSize: opts.poolSize,
    poolMode: opts.poolMode ?? 'direct',
    listenConnection: opts.listenUrl ? { connectionString: opts.listenUrl } : undefined,
  });
  const opened = (async (): Promise<Database> => {
    let embedded: EmbeddedPostgres | undefined;
    let replicas: ReplicaSet | undefined;
    try {
      embedded = opts.url
        ? undefined
        : await startEmbeddedPostgres(opts.dataDir, { maxConnections: opts.poolSize + 2, allowJoin: opts.allowJoin ?? false });
      if (opts.url && opts.replicaUrls && opts.replicaUrls.length > 0) {
        const readers = opts.replicaUrls.map((url) => new PostgresDb({ connection: { connectionString: url }, poolSize: opts.poolSize, poolMode: opts.poolMode ?? 'direct' }));
        replicas = new ReplicaSet(db, readers, (opts.replicaMaxLagSeconds ?? 5) * 1000);
        db.useReplicas(replicas);
        // The first check decides which replicas serve from the start (one that does not answer is down).
        await replicas.start();
      }
    } catch (e) {
      await replicas?.stop().catch(() => undefined);
      await db.close().catch(() => undefined);
      await embedded?.stop().catch(() => undefined);
      throw e;
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
  })();
  return { db, connection, opened };
}
