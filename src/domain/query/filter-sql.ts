// Compiles a SCIM filter AST to one SQL condition, with `?` parameters, over an
// attribute map of one resource (members, groups). Filters never run in memory.
// Case-exactness follows the schema: caseExact=false compares lower() on both
// sides, which is also what the lower(user_name)/lower(display_name) indexes hold.
import { Invalid } from '../errors.js';
import { isUuid } from '../ids.js';
import type { SqlParam } from '../db.js';
import type { AttrPath, CompareOp, FilterNode, FilterValue } from './filter-ast.js';

export type LeafType = 'string' | 'boolean' | 'datetime' | 'uuid';

export interface Leaf {
  readonly type: LeafType;
  /** SQL expression; may contain `?` placeholders listed in `params`. */
  readonly expr: string;
  readonly params?: readonly SqlParam[];
  readonly caseExact?: boolean;
}

/** A multi-valued attribute: the rows of `from` (with `where`) are its elements. */
export interface Multi {
  readonly kind: 'multi';
  readonly from: string;
  readonly fromParams?: readonly SqlParam[];
  readonly where?: string;
  /** Sub-attributes by lower-case name. */
  readonly subs: Readonly<Record<string, Leaf>>;
  readonly defaultSub: string;
  /** Condition for `attr pr` (defaults to "has an element"). */
  readonly present?: string;
  /** Expression to sort by (the first element's value). */
  readonly sort?: Leaf;
}

export interface Complex {
  readonly kind: 'complex';
  readonly subs: Readonly<Record<string, Leaf>>;
  readonly present?: string;
}

export type Resolved = { readonly kind: 'leaf'; readonly leaf: Leaf } | Multi | Complex;

export interface AttributeMap {
  /** Resolves a path (names case-insensitive); undefined when the attribute is unknown or not filterable. */
  resolve(path: AttrPath): Resolved | undefined;
}

export interface CompiledSql {
  readonly sql: string;
  readonly params: SqlParam[];
}

export function invalidFilter(message: string): Invalid {
  return new Invalid('invalid_filter', message, 'filter');
}

export function pathText(p: AttrPath): string {
  return `${p.uri ? p.uri + ':' : ''}${p.attr}${p.sub ? '.' + p.sub : ''}`;
}

export function compileFilter(node: FilterNode, map: AttributeMap): CompiledSql {
  const params: SqlParam[] = [];
  const sql = compileNode(node, map, params, undefined);
  return { sql, params };
}

/** The SQL expression to sort by. */
export function compileSort(path: AttrPath, map: AttributeMap): Leaf {
  const r = map.resolve(path);
  if (!r) throw new Invalid('invalid_sort', `sortBy: unknown attribute "${pathText(path)}"`, 'sortBy');
  if (r.kind === 'leaf') return r.leaf;
  if (r.kind === 'multi' && r.sort) return r.sort;
  throw new Invalid('invalid_sort', `sortBy: "${pathText(path)}" cannot be sorted on`, 'sortBy');
}

function compileNode(node: FilterNode, map: AttributeMap, params: SqlParam[], element: Multi | undefined): string {
  switch (node.type) {
    case 'and':
    case 'or':
      return `(${compileNode(node.left, map, params, element)} ${node.type} ${compileNode(node.right, map, params, element)})`;
    case 'not':
      // SQL's NULL would make `not` drop rows whose attribute is missing: make each side two-valued here only
      // (a coalesce around every comparison would hide the indexes).
      return `(not coalesce(${compileNode(node.filter, map, params, element)}, false))`;
    case 'valuePath': {
      if (element) throw invalidFilter('A filter inside [...] cannot contain another [...]');
      const r = map.resolve(node.path);
      if (!r) throw invalidFilter(`Unknown attribute "${pathText(node.path)}"`);
      if (r.kind !== 'multi') throw invalidFilter(`"${pathText(node.path)}" is not multi-valued: [...] does not apply`);
      if (node.path.sub) throw invalidFilter(`"${pathText(node.path)}[...]": a sub-attribute goes after the brackets`);
      return exists(r, compileNode(node.filter, map, params, r), params);
    }
    case 'present':
    case 'compare': {
      if (element) {
        if (node.path.uri || node.path.sub) throw invalidFilter(`Inside [...] name a sub-attribute only, not "${pathText(node.path)}"`);
        const leaf = element.subs[node.path.attr.toLowerCase()];
        if (!leaf) throw invalidFilter(`Unknown sub-attribute "${node.path.attr}"`);
        return node.type === 'present' ? presentLeaf(leaf, params) : compareLeaf(leaf, node.op, node.value, params, pathText(node.path));
      }
      const r = map.resolve(node.path);
      if (!r) throw invalidFilter(`Unknown attribute "${pathText(node.path)}"`);
      if (r.kind === 'leaf') {
        return node.type === 'present' ? presentLeaf(r.leaf, params) : compareLeaf(r.leaf, node.op, node.value, params, pathText(node.path));
      }
      if (r.kind === 'complex') {
        if (node.type === 'present') return r.present ?? `(${Object.values(r.subs).map((l) => presentLeaf(l, params)).join(' or ')})`;
        throw invalidFilter(`"${pathText(node.path)}" is complex: compare one of its sub-attributes`);
      }
      // Multi-valued: `emails eq "x"` compares the default sub-attribute of some element.
      const subName = (node.path.sub ?? r.defaultSub).toLowerCase();
      const leaf = r.subs[subName];
      if (!leaf) throw invalidFilter(`Unknown sub-attribute "${pathText(node.path)}"`);
      if (node.type === 'present') {
        if (!node.path.sub && r.present) return r.present;
        return exists(r, presentLeaf(leaf, params), params);
      }
      return exists(r, compareLeaf(leaf, node.op, node.value, params, pathText(node.path)), params);
    }
  }
}

function exists(m: Multi, cond: string, params: SqlParam[]): string {
  // The element condition's params were pushed already; the from-clause's params come first in the text.
  const condParams = params.splice(params.length - countPlaceholders(cond));
  params.push(...(m.fromParams ?? []), ...condParams);
  return `exists (select 1 from ${m.from} where ${m.where ? `${m.where} and ` : ''}${cond})`;
}

function countPlaceholders(sql: string): number {
  return (sql.match(/\?/g) ?? []).length;
}

function presentLeaf(leaf: Leaf, params: SqlParam[]): string {
  params.push(...(leaf.params ?? []));
  if (leaf.type === 'string') {
    params.push(...(leaf.params ?? []));
    return `(${leaf.expr} is not null and ${leaf.expr} <> '')`;
  }
  return `(${leaf.expr} is not null)`;
}

function compareLeaf(leaf: Leaf, op: CompareOp, value: FilterValue, params: SqlParam[], name: string): string {
  const lp = leaf.params ?? [];
  const e = leaf.expr;
  if (value === null) {
    params.push(...lp);
    if (op === 'eq') return `(${e} is null)`;
    if (op === 'ne') return `(${e} is not null)`;
    throw invalidFilter(`${name} ${op} null: only eq and ne compare with null`);
  }
  switch (leaf.type) {
    case 'boolean': {
      const b = typeof value === 'boolean' ? value : typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : undefined;
      if (b === undefined) throw invalidFilter(`${name} is a boolean: compare it with true or false`);
      if (op !== 'eq' && op !== 'ne') throw invalidFilter(`${name} is a boolean: only eq and ne apply`);
      params.push(...lp, b);
      return op === 'eq' ? `(${e} = ?)` : `(${e} is distinct from ?)`;
    }
    case 'datetime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalidFilter(`${name} is a dateTime: compare it with an ISO 8601 string`);
      if (op === 'co' || op === 'sw' || op === 'ew') throw invalidFilter(`${name} is a dateTime: ${op} does not apply`);
      params.push(...lp, value);
      return op === 'ne' ? `(${e} is distinct from ?::timestamptz)` : `(${e} ${SQL_OPS[op]} ?::timestamptz)`;
    }
    case 'uuid': {
      const s = String(value);
      if (op === 'eq' || op === 'ne') {
        if (!isUuid(s)) {
          params.push(...lp);
          return op === 'eq' ? `(false and ${e} is null)` : `(${e} is not null)`;
        }
        params.push(...lp, s);
        return op === 'eq' ? `(${e} = ?::uuid)` : `(${e} is distinct from ?::uuid)`;
      }
      return compareString({ ...leaf, expr: `${e}::text`, caseExact: false }, op, s, params);
    }
    case 'string':
      if (typeof value === 'boolean' || typeof value === 'number') return compareString(leaf, op, String(value), params);
      return compareString(leaf, op, value, params);
  }
}

const SQL_OPS: Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };

function compareString(leaf: Leaf, op: CompareOp, value: string, params: SqlParam[]): string {
  const lp = leaf.params ?? [];
  const L = leaf.caseExact ? leaf.expr : `lower(${leaf.expr})`;
  const R = leaf.caseExact ? '?' : 'lower(?)';
  switch (op) {
    case 'eq':
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le':
      params.push(...lp, value);
      return `(${L} ${SQL_OPS[op]} ${R})`;
    case 'ne':
      params.push(...lp, value);
      return `(${L} is distinct from ${R})`;
    case 'co':
      params.push(...lp, value);
      return `(strpos(${L}, ${R}) > 0)`;
    case 'sw':
      params.push(...lp, value);
      return `starts_with(${L}, ${R})`;
    case 'ew':
      params.push(...lp, value, value);
      return `(right(${L}, char_length(?)) = ${R})`;
  }
}
