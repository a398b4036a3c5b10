// Gatehouse's PostgreSQL client: one pg.Pool, parameterised statements with
// named prepared statements where they pay (./statements.ts), transactions,
// notifications (./listen.ts), and errors the domain can read (./errors.ts).
// It implements the domain's port (src/domain/db.ts).
import pg from 'pg';
import type { PoolMode } from '../../config.js';
import type { ChannelListener, Db, Sql, SqlParam, Subscription } from '../../domain/db.js';
import { translateConnectError, translateQueryError } from './errors.js';
import { listen, LISTEN_TIMING, type ListenTiming } from './listen.js';
import { currentReadScope } from './read-scope.js';
import { parseLsn, type ReplicaSet, type ReplicaStatus } from './replicas.js';
import { countOne } from './statement-count.js';
import { NAME_AFTER_RUNS, PLAN_REFRESH_MS, PreparedOnConnection, statement } from './statements.js';

/** Where the database is: a server URL, or host (a socket directory for the embedded database) and the rest. */
export type ConnectionSettings =
  | { readonly connectionString: string }
  | { readonly host: string; readonly port: number; readonly user: string; readonly password?: string; readonly database: string };

export interface PostgresOptions {
  readonly connection: ConnectionSettings;
  readonly poolSize: number;
  /** Runs of a statement before it is prepared by name (default NAME_AFTER_RUNS). */
  readonly nameAfterRuns?: number;
  /** Age at which a connection is replaced, dropping its prepared statements and plans (default PLAN_REFRESH_MS). */
  readonly planRefreshMs?: number;
  /** false: never prepare statements by name (a pooler that cannot keep them). Default: wherever the database can (not PGlite). */
  readonly namedStatements?: boolean;
  /**
   * What `connection` reaches. direct (default): the server; session settings
   * go in the startup packet. session: a pooler in session mode (PgBouncer
   * refuses startup settings): they are SET on each new connection.
   * transaction: a pooler in transaction mode: no named statements and no
   * session state at all (settings belong on the role: see README).
   */
  readonly poolMode?: PoolMode;
  /** Where LISTEN connects (a direct URL); default `connection`, but never through a pooler in transaction mode. */
  readonly listenConnection?: ConnectionSettings;
}

/** Session settings of a server connection (see the pool below). */
const SERVER_SETTINGS = { statement_timeout: '30000', plan_cache_mode: 'force_generic_plan' } as const;

// Timestamps, dates and intervals as PostgreSQL's text: exact (a Date loses
// microseconds and reads a date at local midnight); the domain makes Dates
// where it needs them (src/domain/rows.ts).
const TEXT_TYPES = new pg.TypeOverrides();
for (const oid of [1082, 1114, 1184, 1186]) TEXT_TYPES.setTypeParser(oid, (s: string) => s);
const parseTextArray = pg.types.getTypeParser(1009 as Parameters<typeof pg.types.getTypeParser>[0]); // text[]
for (const oid of [1182, 1115, 1185, 1187]) TEXT_TYPES.setTypeParser(oid, parseTextArray);

type Result = { rows: object[]; rowCount: number | null };

/** What this layer knows of one pooled connection. */
interface Connection {
  readonly prepared: PreparedOnConnection;
  ended: boolean;
}

/** The statements of one use case on one connection. */
class ConnectionSql implements Sql {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly conn: Connection,
    /** Runs after which a statement is prepared by name; undefined: never. */
    private readonly nameAfter: number | undefined,
  ) {}

  // Each is one step on pg's promise (no async wrappers in between): these run for every statement.
  all<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.exec(sql, params).then((r) => r.rows as T[]);
  }

  maybeOne<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return this.exec(sql, params).then((r) => r.rows[0] as T | undefined);
  }

  one<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T> {
    return this.exec(sql, params).then((r) => {
      if (r.rows.length === 0) throw new Error(`Expected one row from: ${sql.slice(0, 80)}`);
      return r.rows[0] as T;
    });
  }

  run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    return this.exec(sql, params).then((r) => r.rowCount ?? 0);
  }

  /** Transaction control: not counted, never named. */
  control(text: string): Promise<unknown> {
    return this.client.query(text).catch((e: unknown) => {
      throw translateQueryError(e, this.conn.ended);
    });
  }

  private exec(sql: string, params: readonly SqlParam[]): Promise<Result> {
    countOne();
    const s = statement(sql);
    if (s.placeholders !== params.length) return Promise.reject(new Error(`${s.placeholders} placeholders but ${params.length} parameters in: ${sql.slice(0, 80)}`));
    s.uses++;
    const name = this.nameAfter === undefined ? undefined : this.conn.prepared.nameFor(s, this.nameAfter);
    return this.client.query({ text: s.text, values: params as unknown[], name }).catch((e: unknown) => {
      throw translateQueryError(e, this.conn.ended);
    });
  }
}

export class PostgresDb implements Db {
  private readonly pool: pg.Pool;
  private readonly connections = new WeakMap<pg.PoolClient, Connection>();
  /** Whether statements may be prepared by name; asked of the database on the first connection. */
  private named: Promise<boolean> | undefined;
  /** Its answer, once known (no await per statement after that). */
  private isServer: boolean | undefined;
  /** Whether the database is a PostgreSQL server (not PGlite), once known. */
  private notPglite: boolean | undefined;
  private closed = false;
  /** Read replicas (DATABASE_REPLICA_URLS), once attached. */
  private replicas: ReplicaSet | undefined;

  constructor(private readonly opts: PostgresOptions) {
    const server = 'connectionString' in opts.connection;
    const mode = opts.poolMode ?? 'direct';
    this.pool = new pg.Pool({
      ...opts.connection,
      max: opts.poolSize,
      min: 0,
      idleTimeoutMillis: 10_000,
      // Fail fast while the database is away (the request answers 503) instead of queueing; the pool reconnects on its own.
      connectionTimeoutMillis: 5_000,
      application_name: 'gatehouse',
      types: TEXT_TYPES,
      // Generic plans on a server: every statement of the domain is keyed by
      // organization_id and a primary or unique key, and planning each run
      // anew (custom plans) cost more than running it, foreign-key checks of
      // every inserted row included (./statements.ts says when plans are made).
      ...(mode === 'direct'
        ? { statement_timeout: Number(SERVER_SETTINGS.statement_timeout), ...(server ? { options: `-c plan_cache_mode=${SERVER_SETTINGS.plan_cache_mode}` } : {}) }
        : {}),
    });
    this.pool.on('connect', (client) => {
      // Behind a pooler in session mode the settings go as SET, queued before the first statement.
      if (mode === 'session') {
        for (const [name, value] of Object.entries(SERVER_SETTINGS)) client.query(`set ${name} = '${value}'`).catch(() => undefined);
      }
      const conn: Connection = { prepared: new PreparedOnConnection(), ended: false };
      this.connections.set(client, conn);
      client.on('end', () => (conn.ended = true));
    });
    // An idle connection lost (a server restart): the pool drops it; the next statement connects anew.
    this.pool.on('error', () => undefined);
  }

  /** Where the database is, for the other clients of it (the migrator, the job queue). */
  get connection(): ConnectionSettings {
    return this.opts.connection;
  }

  /** Where a LISTEN connection goes; undefined: nowhere notifications arrive (a pooler in transaction mode without a direct URL). */
  get listenConnection(): ConnectionSettings | undefined {
    if (this.opts.listenConnection) return this.opts.listenConnection;
    return this.opts.poolMode === 'transaction' ? undefined : this.opts.connection;
  }

  get poolMode(): PoolMode {
    return this.opts.poolMode ?? 'direct';
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Runs `fn` on one pooled connection. */
  private async withClient<T>(fn: (sql: ConnectionSql) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    let conn: Connection;
    let named: boolean;
    for (;;) {
      try {
        client = await this.pool.connect();
      } catch (e) {
        throw translateConnectError(e);
      }
      conn = this.connections.get(client)!;
      try {
        named = this.isServer ?? (await this.namedStatementsOn(client, conn));
      } catch (e) {
        client.release(true);
        throw e;
      }
      // A connection whose prepared statements are old is replaced (checked before every use: no promise).
      if (!named || Date.now() - conn.prepared.since < (this.opts.planRefreshMs ?? PLAN_REFRESH_MS)) break;
      client.release(true);
    }
    try {
      return await fn(new ConnectionSql(client, conn, named ? (this.opts.nameAfterRuns ?? NAME_AFTER_RUNS) : undefined));
    } finally {
      client.release(conn.ended);
    }
  }

  /** Asks the database once (concurrent first callers share the question) whether it takes named statements. */
  private namedStatementsOn(client: pg.PoolClient, conn: Connection): Promise<boolean> {
    this.named ??= client.query<{ named: boolean }>(`select position('PGlite' in version()) = 0 as named`).then(
      (r) => {
        this.notPglite = r.rows[0]!.named;
        return (this.isServer = this.opts.namedStatements !== false && this.opts.poolMode !== 'transaction' && this.notPglite);
      },
      (e: unknown) => {
        this.named = undefined;
        throw translateQueryError(e, conn.ended);
      },
    );
    return this.named;
  }

  /** Whether the database is a PostgreSQL server (PGlite serves every connection from one session: no notifications). */
  async onServer(): Promise<boolean> {
    await this.namedStatements();
    return this.notPglite!;
  }

  /** Whether statements are prepared by name here (a server, not PGlite, and no pooler in transaction mode); asks the database once. */
  async namedStatements(): Promise<boolean> {
    return this.isServer ?? this.named ?? this.withClient(async () => this.isServer!);
  }

  /** Sends lag-tolerant reads to `replicas` where the read scope allows, and remembers callers' writes for them. */
  useReplicas(replicas: ReplicaSet): void {
    this.replicas = replicas;
  }

  /** Each read replica's state and lag (none without DATABASE_REPLICA_URLS). */
  replicaStatus(): ReplicaStatus[] {
    return this.replicas?.status() ?? [];
  }

  /** Runs one statement; with replicas, a write of a known caller is remembered for read-your-writes. */
  private one_<T>(sql: string, fn: (s: ConnectionSql) => Promise<T>): Promise<T> {
    if (this.replicas === undefined || !statement(sql).writes) return this.withClient(fn);
    return this.withClient(async (s) => {
      const result = await fn(s);
      await this.noteWrite(s);
      return result;
    });
  }

  /** The primary's WAL position after a committed write of the current caller, remembered by the replica set. */
  private async noteWrite(s: ConnectionSql): Promise<void> {
    const caller = currentReadScope()?.caller;
    if (caller === undefined || this.replicas === undefined) return;
    const r = (await s.control('select pg_current_wal_lsn()::text as lsn')) as { rows: { lsn: string }[] };
    this.replicas.noteWrite(caller, parseLsn(r.rows[0]!.lsn));
  }

  readonly sql: Sql = {
    all: (sql, params) => this.one_(sql, (s) => s.all(sql, params)),
    maybeOne: (sql, params) => this.one_(sql, (s) => s.maybeOne(sql, params)),
    one: (sql, params) => this.one_(sql, (s) => s.one(sql, params)),
    run: (sql, params) => this.one_(sql, (s) => s.run(sql, params)),
  };

  readonly lagTolerant: Sql = {
    all: (sql, params) => (this.replicas ? this.replicas.read((q) => q.all(sql, params)) : this.sql.all(sql, params)),
    maybeOne: (sql, params) => (this.replicas ? this.replicas.read((q) => q.maybeOne(sql, params)) : this.sql.maybeOne(sql, params)),
    one: (sql, params) => (this.replicas ? this.replicas.read((q) => q.one(sql, params)) : this.sql.one(sql, params)),
    run: (sql, params) => (this.replicas ? this.replicas.read((q) => q.run(sql, params)) : this.sql.run(sql, params)),
  };

  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    return this.withClient(async (s) => {
      await s.control('begin');
      let result: T;
      try {
        result = await fn(s);
      } catch (e) {
        await s.control('rollback').catch(() => undefined);
        throw e;
      }
      await s.control('commit');
      if (this.replicas) await this.noteWrite(s);
      return result;
    });
  }

  listen(channel: string, listener: ChannelListener, timing: ListenTiming = LISTEN_TIMING): Subscription {
    return listen(this, channel, listener, timing);
  }

  async ping(): Promise<boolean> {
    try {
      await this.sql.all('select 1');
      return true;
    } catch {
      return false;
    }
  }

  /** The pool's connections, for the metrics. */
  poolStats(): { used: number; free: number; pending: number; size: number } {
    return { used: this.pool.totalCount - this.pool.idleCount, free: this.pool.idleCount, pending: this.pool.waitingCount, size: this.opts.poolSize };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
