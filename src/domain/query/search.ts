// What a SCIM-style search of one resource table does around its statement:
// the filter compiled to a WHERE, the count of matches, the order (the sort
// attribute, else creation) and the 1-based offset, and the total of a page.
import type { Sql } from '../db.js';
import { SqlParams } from '../sql-params.js';
import type { ResourceQuery } from './filter-ast.js';
import { compileFilter, compileSort, leafSql, type AttributeMap } from './filter-sql.js';

export interface SearchPlan {
  /** The statement's parameters: the organisation, then the filter's, then the sort's. */
  readonly p: SqlParams;
  readonly where: string;
  readonly order: string;
  readonly offset: number;
  /** How many rows match, if the page does not say (`count` 0, or a page past the end). */
  count(): Promise<number>;
}

/** `table alias` (e.g. `members m`), whose rows the organisation owns; `map` resolves the filter's and the sort's attributes. */
export function planSearch(sql: Sql, table: string, alias: string, map: AttributeMap, organizationId: string, q: ResourceQuery): SearchPlan {
  const p = new SqlParams();
  const where = [`${alias}.organization_id = ${p.add(organizationId)}`];
  if (q.filter) where.push(compileFilter(q.filter, map, p));
  // The count reads the filter's parameters only (those come first).
  const countSql = `select count(*)::text as n from ${table} ${alias} where ${where.join(' and ')}`;
  const countParams = [...p.values];
  const order = q.sort ? `${leafSql(compileSort(q.sort.path, map), p)} ${q.sort.descending ? 'desc' : 'asc'} nulls last, ${alias}.id` : `${alias}.created_at, ${alias}.id`;
  return {
    p,
    where: where.join(' and '),
    order,
    offset: Math.max(q.startIndex, 1) - 1,
    count: async () => Number((await sql.one<{ n: string }>(countSql, countParams)).n),
  };
}

/** The total of a page read with `count(*) over () as total`: a page past the end is counted apart. */
export async function totalOf(rows: readonly { total: string }[], plan: SearchPlan): Promise<number> {
  if (rows[0]) return Number(rows[0].total);
  return plan.offset > 0 ? plan.count() : 0;
}
