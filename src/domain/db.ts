// The domain's window on PostgreSQL: parameterised SQL on the connections of
// MikroORM's pool (so pooling, timeouts and exception translation are the
// ORM's); a use case is one statement or one transaction. Statements are written by hand where
// their count matters (access checks, SCIM batches); each use case runs a
// constant number of them whatever the data size.
//
// Statements go out in the extended protocol with their parameters bound, not
// inlined into the text. On a PostgreSQL server a statement this process runs
// often becomes a named prepared statement on each connection, so the server
// parses and plans it once (server connections use generic plans, see
// infra/orm.ts): the hot paths (Entra's SCIM traffic) are a handful of
// statements run millions of times, and planning a membership batch costs more
// than running it.
//
// A generic plan is costed once, with the statistics and table sizes of that
// moment. Made while Entra's first cycle is filling a members table that has
// no statistics yet, it may scan the whole table for a primary-key lookup or
// walk the organisation for a `userName eq` (seen: 646 -> 276 users/s over
// 10,000 users). Three things keep plans honest: a statement is prepared only
// from its NAME_AFTER_RUNS-th run in the process (until then it is parsed and
// planned afresh each time); keepStatistics() analyses a table as soon as it
// has grown by a fifth, and PostgreSQL replans every prepared statement that
// reads it; and each connection drops its prepared statements every
// PLAN_REFRESH_MS regardless. PGlite serves every connection from one
// session, so there statements stay unnamed.
import crypto from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ConnectionException, DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { Unavailable } from './errors.js';

export type SqlParam = string | number | boolean | null | Date | Buffer | bigint;

/** Counts statements of the calls made inside `countStatements` (tests, benchmarks). */
const counter = new AsyncLocalStorage<{ n: number }>();

export async function countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const box = { n: 0 };
  const result = await counter.run(box, fn);
  return { result, statements: box.n };
}

export interface Sql {
  all<T extends object>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  maybeOne<T extends object>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
  one<T extends object>(sql: string, params?: readonly SqlParam[]): Promise<T>;
  /** Runs a statement and returns the number of rows it touched. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>;
}

/** The part of a `pg` client this layer uses. */
interface PgClient {
  query(q: { text: string; values: unknown[]; name?: string }): Promise<{ rows: object[]; rowCount: number | null }>;
  /** pg's own record of the statements prepared on this connection. */
  readonly connection?: { parsedStatements?: Record<string, string> };
}

/** knex's client (inside MikroORM): the pool of `pg` clients. */
interface PoolClient {
  /** Absent once the ORM is closed. */
  readonly pool?: unknown;
  acquireConnection(): Promise<PgClient>;
  releaseConnection(c: PgClient): Promise<void>;
  /** A new connection outside the pool, with the pool's settings. */
  acquireRawConnection(): Promise<pg.Client>;
}

/** What a subscription to a notification channel tells its owner. */
export interface ChannelListener {
  /** A notification arrived (it was sent by a transaction that committed). */
  notified(payload: string): void;
  /** Whether notifications are being received: false until LISTEN succeeds, and again whenever the connection is lost. */
  live(isLive: boolean): void;
}

export interface Subscription {
  close(): void;
}

/** Payloads of the listener's own delivery probes. */
const PROBE_PREFIX = 'probe:';
/** How often a listener checks that notifications still reach it, and how long it waits for its probe. */
export const LISTEN_TIMING = { probeEveryMs: 10_000, probeTimeoutMs: 5_000 };

/** A statement in the form the server takes: `?` turned into `$1…$n`, and the name it is prepared under. */
interface Prepared {
  readonly text: string;
  readonly placeholders: number;
  readonly name: string;
  /** Executions so far in this process: a statement is prepared from its NAME_AFTER_RUNS-th. */
  uses: number;
}

/** Distinct statement texts remembered (dynamic SQL such as SCIM filters varies; the oldest are forgotten, and a hot one soon comes back). */
const MAX_TEXTS = 2000;
/** Named statements per connection; past it, new texts run unnamed on that connection. */
const MAX_NAMED_PER_CONNECTION = 200;
/** Runs of a statement in this process before it is prepared by name (one-off texts never take a slot). */
export const NAME_AFTER_RUNS = 100;
/** How long a connection keeps its prepared statements (and their plans) before preparing them afresh. */
export const PLAN_REFRESH_MS = 30_000;

/** When each connection last dropped its prepared statements. */
const preparedSince = new WeakMap<PgClient, number>();

/** Whether the connection's prepared statements are PLAN_REFRESH_MS old (checked before every use: no promise). */
function plansDue(client: PgClient, refreshMs: number): boolean {
  const since = preparedSince.get(client);
  if (since === undefined || !client.connection?.parsedStatements) {
    preparedSince.set(client, Date.now());
    return false;
  }
  return Date.now() - since >= refreshMs;
}

/** Drops the connection's prepared statements (one statement, rarely). */
async function refreshPlans(client: PgClient): Promise<void> {
  preparedSince.set(client, Date.now());
  const parsed = client.connection?.parsedStatements;
  if (!parsed || Object.keys(parsed).length === 0) return;
  await client.query({ text: 'deallocate all', values: [] });
  // pg's own record of what this connection has prepared: now nothing.
  for (const name of Object.keys(parsed)) delete parsed[name];
}

const texts = new Map<string, Prepared>();

function prepare(sql: string): Prepared {
  let p = texts.get(sql);
  if (p) return p;
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  p = { text, placeholders: n, name: `gh_${crypto.createHash('sha1').update(text).digest('base64url').slice(0, 20)}`, uses: 0 };
  texts.set(sql, p);
  if (texts.size > MAX_TEXTS) texts.delete(texts.keys().next().value!);
  return p;
}

class PgSql implements Sql {
  constructor(
    private readonly client: PgClient,
    /** Runs after which a statement is prepared by name; undefined: never (PGlite). */
    private readonly nameAfter: number | undefined,
    private readonly convert: (e: unknown) => unknown,
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

  /** Raw statement of this layer's own (transaction control): not counted, never named. */
  control(text: string): Promise<unknown> {
    return this.client.query({ text, values: [] }).catch((e: unknown) => {
      throw this.convert(e);
    });
  }

  private exec(sql: string, params: readonly SqlParam[]): Promise<{ rows: object[]; rowCount: number | null }> {
    const box = counter.getStore();
    if (box) box.n++;
    const p = prepare(sql);
    if (p.placeholders !== params.length) return Promise.reject(new Error(`${p.placeholders} placeholders but ${params.length} parameters in: ${sql.slice(0, 80)}`));
    p.uses++;
    let name: string | undefined;
    const prepared = this.nameAfter === undefined ? undefined : this.client.connection?.parsedStatements;
    // Already prepared here (even if this process forgot the text meanwhile), or hot and room for it.
    if (prepared && (p.name in prepared || (p.uses > this.nameAfter! && Object.keys(prepared).length < MAX_NAMED_PER_CONNECTION))) name = p.name;
    return this.client.query({ text: p.text, values: params as unknown[], name }).catch((e: unknown) => {
      throw this.convert(e);
    });
  }
}

export class Db {
  /** Whether statements may be prepared by name (a PostgreSQL server; not PGlite). Asked on the first connection. */
  private named: Promise<boolean> | undefined;
  /** Its answer, once known (no await per statement after that). */
  private isServer: boolean | undefined;

  constructor(
    readonly orm: MikroORM,
    private readonly opts: { nameAfterRuns?: number; planRefreshMs?: number } = {},
  ) {}

  private get pool(): PoolClient {
    return this.orm.em.getConnection().getKnex().client as unknown as PoolClient;
  }

  /** Runs `fn` on one pooled connection; errors come out as MikroORM's exceptions (unique violations…) or Unavailable. */
  private async withClient<T>(fn: (sql: PgSql) => Promise<T>): Promise<T> {
    let client: PgClient;
    try {
      client = await this.pool.acquireConnection();
    } catch (e) {
      throw translateInfrastructureError(e);
    }
    try {
      const named = this.isServer ?? (await this.namedStatementsOn(client));
      if (named && plansDue(client, this.opts.planRefreshMs ?? PLAN_REFRESH_MS)) await refreshPlans(client).catch((e: unknown) => Promise.reject(this.convert(e)));
      return await fn(new PgSql(client, named ? (this.opts.nameAfterRuns ?? NAME_AFTER_RUNS) : undefined, this.convert));
    } finally {
      await this.pool.releaseConnection(client);
    }
  }

  /** Asks the database once (concurrent first callers share the question) whether it takes named statements. */
  private namedStatementsOn(client: PgClient): Promise<boolean> {
    this.named ??= detectNamedStatements(client).then(
      (named) => (this.isServer = named),
      (e: unknown) => {
        this.named = undefined;
        throw this.convert(e);
      },
    );
    return this.named;
  }

  /** pg's errors as MikroORM's exceptions (UniqueConstraintViolationException…), lost connections as Unavailable. */
  private readonly convert = (e: unknown): unknown => {
    if (!(e instanceof pg.DatabaseError)) return translateInfrastructureError(e);
    return translateInfrastructureError(this.orm.em.getDriver().convertException(e));
  };

  /** Single statements outside a transaction (reads, and writes that are atomic on their own). */
  readonly sql: Sql = {
    all: (sql, params) => this.withClient((s) => s.all(sql, params)),
    maybeOne: (sql, params) => this.withClient((s) => s.maybeOne(sql, params)),
    one: (sql, params) => this.withClient((s) => s.one(sql, params)),
    run: (sql, params) => this.withClient((s) => s.run(sql, params)),
  };

  /** Runs `fn` in one transaction: every statement of a use case commits or none does. */
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
      return result;
    });
  }

  /**
   * Listens on a notification channel over a connection of its own, and keeps
   * listening across lost connections (reconnecting with back-off). It says it
   * is live only while it hears its own probes: a notification it sends through
   * the pool every few seconds, as any change would be sent, must come back on
   * the listening connection. So a path that does not deliver notifications (a
   * pooler in transaction mode, a connection gone quiet) makes it not live
   * instead of silently deaf. On PGlite, which serves every connection from one
   * session, there are no notifications to receive: never live.
   */
  listen(channel: string, listener: ChannelListener, timing: { probeEveryMs: number; probeTimeoutMs: number } = LISTEN_TIMING): Subscription {
    let closed = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    let nextProbe: NodeJS.Timeout | undefined;
    let delay = 250;
    const awaiting = new Map<string, () => void>();

    /** True once a probe sent through the pool is heard on `c`. */
    const probe = async (c: pg.Client): Promise<boolean> => {
      const id = `${PROBE_PREFIX}${crypto.randomUUID()}`;
      const heard = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          awaiting.delete(id);
          resolve(false);
        }, timing.probeTimeoutMs);
        timer.unref();
        awaiting.set(id, () => {
          clearTimeout(timer);
          awaiting.delete(id);
          resolve(true);
        });
      });
      await this.sql.run(`select pg_notify(?, ?)`, [channel, id]);
      return (await heard) && client === c;
    };
    const down = () => {
      listener.live(false);
      clearTimeout(nextProbe);
      const c = client;
      client = undefined;
      c?.removeAllListeners('notification');
      c?.end().catch(() => undefined);
      if (closed || !this.poolOpen()) return; // closed, or the ORM (and its pool) is gone
      retry = setTimeout(() => void connect(), delay);
      retry.unref();
      delay = Math.min(delay * 2, 30_000);
    };
    const keepProbing = (c: pg.Client) => {
      nextProbe = setTimeout(() => {
        probe(c).then(
          (ok) => (ok ? keepProbing(c) : client === c && down()),
          () => client === c && down(),
        );
      }, timing.probeEveryMs);
      nextProbe.unref();
    };
    const connect = async () => {
      if (closed) return;
      try {
        if (!(await this.namedStatements())) return; // PGlite
        const c = await this.pool.acquireRawConnection();
        if (closed) return void c.end().catch(() => undefined);
        client = c;
        // A listening connection must not keep the process alive on its own.
        (c as unknown as { connection?: { stream?: { unref?(): void } } }).connection?.stream?.unref?.();
        c.on('notification', (m) => {
          if (m.channel !== channel) return;
          const payload = m.payload ?? '';
          // Probes (this process's or another's) are not changes.
          if (payload.startsWith(PROBE_PREFIX)) awaiting.get(payload)?.();
          else listener.notified(payload);
        });
        c.on('error', () => client === c && down());
        c.on('end', () => client === c && down());
        await c.query(`listen "${channel.replace(/"/g, '""')}"`);
        if (!(await probe(c))) return void (client === c && down());
        delay = 250;
        listener.live(true);
        keepProbing(c);
      } catch {
        down();
      }
    };
    // Outside any caller's context (countStatements): this is the process's, not a request's.
    counter.exit(() => void connect());
    // The subscription ends with the ORM: nobody else need remember to close it.
    const watch = setInterval(() => {
      if (!this.poolOpen()) close();
    }, 2000);
    watch.unref();
    const close = () => {
      closed = true;
      clearInterval(watch);
      clearTimeout(retry);
      clearTimeout(nextProbe);
      listener.live(false);
      client?.end().catch(() => undefined);
      client = undefined;
    };
    return { close };
  }

  /**
   * Keeps the planner's statistics of `tables` current while they grow fast,
   * as during Entra's first cycle: every `everyMs`, a table changed by more
   * than a fifth of its rows (and at least 500), or grown by a fifth of its
   * pages (and at least 10), since its last analysis is analysed (one process
   * at a time). Autovacuum does the same, but only
   * every minute or so and never on PGlite; without statistics a plan can
   * take a whole-table scan for a primary-key lookup, and PostgreSQL replans
   * prepared statements as soon as a table is analysed.
   */
  keepStatistics(tables: readonly string[], everyMs = 5_000): Subscription {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const round = async () => {
      // Changed rows where PostgreSQL counts them; grown pages everywhere (PGlite keeps no such counters).
      const stale = await this.sql.all<{ relname: string }>(
        `select c.relname from pg_class c
         left join pg_stat_user_tables s on s.relid = c.oid
         where c.relnamespace = current_schema()::regnamespace and c.relname = any(?::text[])
           and (coalesce(s.n_mod_since_analyze, 0) > greatest(500, 0.2 * coalesce(s.n_live_tup, 0))
                or pg_relation_size(c.oid) / current_setting('block_size')::int > greatest(c.relpages * 1.2, c.relpages + 10))`,
        [sqlArray(tables)],
      );
      for (const { relname } of stale) {
        if (stopped) return;
        await this.transaction(async (tx) => {
          // Another process analysing the same table: leave it to that one.
          const [mine] = await tx.all<{ ok: boolean }>(`select pg_try_advisory_xact_lock(hashtext('gatehouse.analyze.' || ?)) as ok`, [relname]);
          if (mine?.ok) await tx.run(`analyze "${relname.replace(/"/g, '""')}"`);
        });
      }
    };
    const schedule = () => {
      if (stopped || !this.poolOpen()) return;
      timer = setTimeout(() => {
        round().then(schedule, schedule);
      }, everyMs);
      timer.unref();
    };
    counter.exit(schedule);
    return {
      close() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  private poolOpen(): boolean {
    try {
      return this.pool.pool !== undefined;
    } catch {
      return false;
    }
  }

  /** Whether this database takes named prepared statements (a server, not PGlite); asks it once. */
  private async namedStatements(): Promise<boolean> {
    return this.isServer ?? this.named ?? this.withClient(async () => this.isServer!);
  }

  async ping(): Promise<boolean> {
    try {
      await this.sql.all('select 1');
      return true;
    } catch {
      return false;
    }
  }
}

async function detectNamedStatements(client: PgClient): Promise<boolean> {
  const { rows } = await client.query({ text: `select position('PGlite' in version()) = 0 as named`, values: [] });
  return (rows[0] as { named: boolean }).named;
}

function translateInfrastructureError(e: unknown): unknown {
  if (e instanceof ConnectionException) return new Unavailable('database_unavailable', 'The database is not reachable; retry shortly');
  const code = (e as { code?: unknown }).code;
  // 57P01..57P03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection exceptions.
  if (typeof code === 'string' && (/^57P0[1-3]$/.test(code) || /^08/.test(code) || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOENT')) {
    return new Unavailable('database_unavailable', 'The database is not reachable; retry shortly');
  }
  if (e instanceof Error && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Timeout acquiring a connection|Unable to acquire a connection/i.test(e.message)) {
    return new Unavailable('database_unavailable', 'The database is not reachable; retry shortly');
  }
  return e;
}

/** True when `e` is a unique violation, optionally of the named index. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  if (!(e instanceof UniqueConstraintViolationException)) return false;
  return constraint === undefined || (e as unknown as { constraint?: string }).constraint === constraint;
}

/** True when `e` is a foreign-key violation (a referenced row vanished concurrently). */
export function isForeignKeyViolation(e: unknown): boolean {
  return e instanceof DriverException && (e as unknown as { code?: string }).code === '23503';
}

/** A PostgreSQL array literal for one `?::type[]` parameter. */
export function sqlArray(values: readonly (string | number)[]): string {
  return `{${values.map((v) => (typeof v === 'number' ? String(v) : `"${v.replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

/** JSON parameter for `?::jsonb`. */
export function sqlJson(value: unknown): string {
  return JSON.stringify(value);
}

export function toDate(v: string | Date): Date;
export function toDate(v: string | Date | null): Date | null;
export function toDate(v: string | Date | null): Date | null {
  if (v === null) return null;
  return v instanceof Date ? v : new Date(v);
}
