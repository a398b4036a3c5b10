// The domain's window on PostgreSQL: parameterised SQL through MikroORM's
// EntityManager (so transactions, pooling and exception translation are the
// ORM's), one transaction per use case. Statements are written by hand where
// their count matters (access checks, SCIM batches); each use case runs a
// constant number of them whatever the data size.
import { AsyncLocalStorage } from 'node:async_hooks';
import { RequestContext, type MikroORM, type EntityManager } from '@mikro-orm/postgresql';
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

class EmSql implements Sql {
  constructor(private readonly em: EntityManager) {}

  async all<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return (await this.exec(sql, params, 'all')) as T[];
  }

  async maybeOne<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    const rows = await this.all<T>(sql, params);
    return rows[0];
  }

  async one<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T> {
    const row = await this.maybeOne<T>(sql, params);
    if (!row) throw new Error(`Expected one row from: ${sql.slice(0, 80)}`);
    return row;
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<number> {
    const res = (await this.exec(sql, params, 'run')) as { affectedRows?: number };
    return res.affectedRows ?? 0;
  }

  private async exec(sql: string, params: readonly SqlParam[], method: 'all' | 'run'): Promise<unknown> {
    const box = counter.getStore();
    if (box) box.n++;
    try {
      return await this.em.execute(sql, params as unknown[], method);
    } catch (e) {
      throw translateInfrastructureError(e);
    }
  }
}

function translateInfrastructureError(e: unknown): unknown {
  if (e instanceof ConnectionException) return new Unavailable('database_unavailable', 'The database is not reachable; retry shortly');
  const code = (e as { code?: unknown }).code;
  // 57P01..57P03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection exceptions.
  if (typeof code === 'string' && (/^57P0[1-3]$/.test(code) || /^08/.test(code) || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOENT')) {
    return new Unavailable('database_unavailable', 'The database is not reachable; retry shortly');
  }
  if (e instanceof Error && /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e.message)) {
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

export class Db {
  constructor(readonly orm: MikroORM) {}

  private em(): EntityManager {
    return (RequestContext.getEntityManager() as EntityManager | undefined) ?? this.orm.em.fork();
  }

  /** Single statements outside a transaction (reads). */
  get sql(): Sql {
    return new EmSql(this.em());
  }

  /** Runs `fn` in one transaction: every statement of a use case commits or none does. */
  async transaction<T>(fn: (tx: Sql) => Promise<T>): Promise<T> {
    try {
      return await this.em().fork().transactional((em) => fn(new EmSql(em as EntityManager)));
    } catch (e) {
      throw translateInfrastructureError(e);
    }
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
