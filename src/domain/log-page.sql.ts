// A page of a log table (the mail outbox, webhook deliveries), newest first:
// keyset on (created_at, id), the cursor being the id of the last row shown.
import type { Sql } from './db.js';
import { SqlParams } from './sql-params.js';

/** How many rows a log page holds: `limit` if a whole number, else 50, within 1–500. */
export function logPageSize(limit: number | undefined): number {
  return Math.min(Math.max(Number.isInteger(limit) ? limit! : 50, 1), 500);
}

/**
 * Rows of `table` (a constant of the caller) of the organisation, newest
 * first, whose columns equal the values given (undefined: any), after the
 * row `before` (an id of this organisation's rows).
 */
export async function selectNewestFirst<R extends object>(
  sql: Sql,
  table: string,
  columns: string,
  organizationId: string,
  equals: Record<string, string | undefined>,
  before: string | undefined,
  limit: number,
): Promise<R[]> {
  const p = new SqlParams();
  const where = [`organization_id = ${p.add(organizationId)}`];
  for (const [column, value] of Object.entries(equals)) if (value !== undefined) where.push(`${column} = ${p.add(value)}`);
  if (before !== undefined) where.push(`(created_at, id) < (select created_at, id from ${table} where organization_id = ${p.add(organizationId)} and id = ${p.add(before)})`);
  return sql.all<R>(`select ${columns} from ${table} where ${where.join(' and ')} order by created_at desc, id desc limit ${limit}`, p.values);
}
