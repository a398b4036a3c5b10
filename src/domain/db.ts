// The domain's port on its database: what a use case may ask of PostgreSQL.
// Types only; the implementation (pool, prepared statements, notifications)
// is src/infra/postgres/. A use case is one statement or one transaction, and
// runs a constant number of statements whatever the data size.
//
// Statements are written with `$1…$n` placeholders; arrays are passed as
// parameters (`= any($2::uuid[])`) and the driver serialises them. Dynamic
// statements (filters, list queries) number their parameters with
// SqlParams (./sql-params.ts).

/** A value bound to one `$n` placeholder. */
export type SqlParam = string | number | boolean | null | Date | Buffer | bigint | readonly (string | number | boolean | null)[];

export interface Sql {
  all<T extends object>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  maybeOne<T extends object>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
  /** The first row; throws when there is none. */
  one<T extends object>(sql: string, params?: readonly SqlParam[]): Promise<T>;
  /** Runs a statement and returns the number of rows it touched. */
  run(sql: string, params?: readonly SqlParam[]): Promise<number>;
}

/** What a subscription to a notification channel tells its owner. */
export interface ChannelListener {
  /** A notification arrived (it was sent by a transaction that committed). */
  notified(payload: string): void;
  /** Whether notifications are being received: false until listening works, and again whenever it stops. */
  live(isLive: boolean): void;
}

export interface Subscription {
  close(): void;
}

export interface Db {
  /** Single statements outside a transaction (reads, and writes that are atomic on their own). */
  readonly sql: Sql;
  /**
   * Reads that tolerate replication lag (directory listings, who-can-open,
   * lock snapshots): they may be served by a read replica that is a few
   * seconds behind, but never one that has not replayed the caller's own
   * writes. Never a write, and never a read a write is decided on (those use
   * `sql` or a transaction). Where there is no replica, the same as `sql`.
   */
  readonly lagTolerant: Sql;
  /** Runs `fn` in one transaction: every statement of a use case commits or none does. */
  transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T>;
  /** Listens on a notification channel; says whether it hears (never live where notifications cannot arrive). */
  listen(channel: string, listener: ChannelListener): Subscription;
}
