// Compiles a SCIM filter AST to one SQL condition over an attribute map of one
// resource (members, groups), binding every value as a numbered parameter of
// the statement being built. Filters never run in memory. Case-exactness
// follows the schema: caseExact=false compares lower() on both sides, which is
// also what the lower(user_name)/lower(display_name) indexes hold.
import { Invalid } from '../errors.js';
import { isUuid } from '../ids.js';
import type { SqlParams } from '../sql-params.js';
import type { AttrPath, CompareOp, FilterNode, FilterValue } from './filter-ast.js';

export type LeafType = 'string' | 'boolean' | 'datetime' | 'uuid';

export interface Leaf {
  readonly type: LeafType;
  /** SQL expression, or one that binds parameters of its own (a custom attribute's key). */
  readonly expr: string | ((params: SqlParams) => string);
  readonly caseExact?: boolean;
}

/** A multi-valued attribute: the rows of `from` (with `where`) are its elements. */
export interface Multi {
  readonly kind: 'multi';
  readonly from: string;
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

/** The leaf's SQL expression in the statement being built. */
export function leafSql(leaf: Leaf, params: SqlParams): string {
  return typeof leaf.expr === 'string' ? leaf.expr : leaf.expr(params);
}

export function invalidFilter(message: string): Invalid {
  return new Invalid('invalid_filter', message, 'filter');
}

export function pathText(p: AttrPath): string {
  return `${p.uri ? p.uri + ':' : ''}${p.attr}${p.sub ? '.' + p.sub : ''}`;
}

/** The filter as one SQL condition; its values are bound in `params`. */
export function compileFilter(node: FilterNode, map: AttributeMap, params: SqlParams): string {
  return compileNode(node, map, params, undefined);
}

/** The leaf to sort by. */
export function compileSort(path: AttrPath, map: AttributeMap): Leaf {
  const r = map.resolve(path);
  if (!r) throw new Invalid('invalid_sort', `sortBy: unknown attribute "${pathText(path)}"`, 'sortBy');
  if (r.kind === 'leaf') return r.leaf;
  if (r.kind === 'multi' && r.sort) return r.sort;
  throw new Invalid('invalid_sort', `sortBy: "${pathText(path)}" cannot be sorted on`, 'sortBy');
}

function compileNode(node: FilterNode, map: AttributeMap, params: SqlParams, element: Multi | undefined): string {
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
      return exists(r, compileNode(node.filter, map, params, r));
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
        return exists(r, presentLeaf(leaf, params));
      }
      return exists(r, compareLeaf(leaf, node.op, node.value, params, pathText(node.path)));
    }
  }
}

function exists(m: Multi, cond: string): string {
  return `exists (select 1 from ${m.from} where ${m.where ? `${m.where} and ` : ''}${cond})`;
}

function presentLeaf(leaf: Leaf, params: SqlParams): string {
  const e = leafSql(leaf, params);
  if (leaf.type === 'string') return `(${e} is not null and ${e} <> '')`;
  return `(${e} is not null)`;
}

function compareLeaf(leaf: Leaf, op: CompareOp, value: FilterValue, params: SqlParams, name: string): string {
  if (value === null) {
    const e = leafSql(leaf, params);
    if (op === 'eq') return `(${e} is null)`;
    if (op === 'ne') return `(${e} is not null)`;
    throw invalidFilter(`${name} ${op} null: only eq and ne compare with null`);
  }
  switch (leaf.type) {
    case 'boolean': {
      const b = typeof value === 'boolean' ? value : typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : undefined;
      if (b === undefined) throw invalidFilter(`${name} is a boolean: compare it with true or false`);
      if (op !== 'eq' && op !== 'ne') throw invalidFilter(`${name} is a boolean: only eq and ne apply`);
      const e = leafSql(leaf, params);
      return op === 'eq' ? `(${e} = ${params.add(b)})` : `(${e} is distinct from ${params.add(b)})`;
    }
    case 'datetime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalidFilter(`${name} is a dateTime: compare it with an ISO 8601 string`);
      if (op === 'co' || op === 'sw' || op === 'ew') throw invalidFilter(`${name} is a dateTime: ${op} does not apply`);
      const e = leafSql(leaf, params);
      return op === 'ne' ? `(${e} is distinct from ${params.add(value)}::timestamptz)` : `(${e} ${SQL_OPS[op]} ${params.add(value)}::timestamptz)`;
    }
    case 'uuid': {
      const s = String(value);
      if (op === 'eq' || op === 'ne') {
        const e = leafSql(leaf, params);
        if (!isUuid(s)) return op === 'eq' ? `(false and ${e} is null)` : `(${e} is not null)`;
        return op === 'eq' ? `(${e} = ${params.add(s)}::uuid)` : `(${e} is distinct from ${params.add(s)}::uuid)`;
      }
      return compareString({ type: 'string', expr: `${leafSql(leaf, params)}::text`, caseExact: false }, op, s, params);
    }
    case 'string':
      if (typeof value === 'boolean' || typeof value === 'number') return compareString(leaf, op, String(value), params);
      return compareString(leaf, op, value, params);
  }
}

const SQL_OPS: Record<'eq' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', gt: '>', ge: '>=', lt: '<', le: '<=' };

function compareString(leaf: Leaf, op: CompareOp, value: string, params: SqlParams): string {
  const e = leafSql(leaf, params);
  const v = params.add(value);
  const L = leaf.caseExact ? e : `lower(${e})`;
  const R = leaf.caseExact ? v : `lower(${v})`;
  switch (op) {
    case 'eq':
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le':
      return `(${L} ${SQL_OPS[op]} ${R})`;
    case 'ne':
      return `(${L} is distinct from ${R})`;
    case 'co':
      return `(strpos(${L}, ${R}) > 0)`;
    case 'sw':
      return `starts_with(${L}, ${R})`;
    case 'ew':
      return `(right(${L}, char_length(${v})) = ${R})`;
  }
}
