// The pieces every resource's filter map (member.query.ts, group.query.ts) is
// built from: filter leaves read off its attribute table, and `meta`.
import type { Attribute } from './attribute.js';
import type { Leaf } from './filter-sql.js';

/** A single-valued attribute with a column as a filter leaf. */
function leafOf(a: Attribute): Leaf | undefined {
  if (!a.column || a.multiValued || a.type === 'complex') return undefined;
  return { type: a.type === 'boolean' ? 'boolean' : a.type === 'dateTime' ? 'datetime' : 'string', expr: a.column, caseExact: a.caseExact ?? false };
}

/** The filter leaves of these attributes (those single-valued and kept in a column), by lower-case name. */
export function leavesOf(attributes: readonly Attribute[]): Record<string, Leaf> {
  const out: Record<string, Leaf> = {};
  for (const a of attributes) {
    const leaf = leafOf(a);
    if (leaf) out[a.name.toLowerCase()] = leaf;
  }
  return out;
}

/** `meta.*` of a resource whose row has the alias `alias` (created_at, updated_at). */
export function metaLeaves(alias: string, resourceType: string): Record<string, Leaf> {
  return {
    created: { type: 'datetime', expr: `${alias}.created_at` },
    lastmodified: { type: 'datetime', expr: `${alias}.updated_at` },
    resourcetype: { type: 'string', expr: `'${resourceType}'` },
  };
}
