// SCIM-style queries of members (filter, sort) compiled to SQL: the attribute
// map of member.schema.ts, plus what every resource has (`id`, `meta`), the
// membership relation (`groups`), custom attributes (`metadata.<key>`) and
// custom extension namespaces. Case-exactness follows the schema.
import type { Attribute } from '../query/attribute.js';
import type { AttrPath } from '../query/filter-ast.js';
import type { AttributeMap, Leaf, Multi, Resolved } from '../query/filter-sql.js';
import { leavesOf, metaLeaves } from '../query/resource-map.js';
import { CORE_USER_URN, ENTERPRISE_ATTRIBUTES, ENTERPRISE_USER_URN, USER_ATTRIBUTES } from './member.schema.js';

export { CORE_USER_URN, ENTERPRISE_USER_URN };

/** A multi-valued attribute kept as a jsonb array of objects keyed by its sub-attribute names. */
function jsonMultiOf(a: Attribute & { column: string }): Multi {
  const subs: Record<string, Leaf> = {};
  for (const s of a.subAttributes ?? []) {
    subs[s.name.toLowerCase()] =
      s.type === 'boolean'
        ? { type: 'boolean', expr: `(case when jsonb_typeof(e.value->'${s.name}') = 'boolean' then (e.value->>'${s.name}')::boolean end)` }
        : { type: 'string', expr: `(e.value->>'${s.name}')`, caseExact: s.caseExact ?? false };
  }
  const defaultSub = a.defaultSub ?? 'value';
  return {
    kind: 'multi',
    from: `jsonb_array_elements(${a.column}) e`,
    subs,
    defaultSub: defaultSub.toLowerCase(),
    present: `(jsonb_array_length(${a.column}) > 0)`,
    sort: a.sortable ? { type: 'string', expr: `(${a.column}->0->>'${defaultSub}')` } : undefined,
  };
}

const SINGLE: Record<string, Leaf> = { id: { type: 'uuid', expr: 'm.id' }, ...leavesOf(USER_ATTRIBUTES) };
const COMPLEX: Record<string, Record<string, Leaf>> = Object.fromEntries(
  USER_ATTRIBUTES.filter((a) => a.type === 'complex' && !a.multiValued).map((a) => [a.name.toLowerCase(), leavesOf(a.subAttributes ?? [])]),
);
const MULTI: Record<string, Multi> = Object.fromEntries(
  USER_ATTRIBUTES.filter((a): a is Attribute & { column: string } => a.multiValued === true && a.column !== undefined).map((a) => [a.name.toLowerCase(), jsonMultiOf(a)]),
);
const ENTERPRISE: Record<string, Leaf> = leavesOf(ENTERPRISE_ATTRIBUTES);

const META: Record<string, Leaf> = metaLeaves('m', 'User');

/** Group membership seen from the member: `groups.value eq "<group id>"`. */
const GROUPS: Multi = {
  kind: 'multi',
  from: 'group_members gm join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id',
  where: 'gm.organization_id = m.organization_id and gm.member_id = m.id',
  subs: { value: { type: 'uuid', expr: 'gm.group_id' }, display: { type: 'string', expr: 'g.display_name' } },
  defaultSub: 'value',
};

function lower(s: string | undefined): string | undefined {
  return s?.toLowerCase();
}

/** Resolves SCIM User attribute paths to member columns. */
export const memberAttributes: AttributeMap = {
  resolve(path: AttrPath): Resolved | undefined {
    const uri = lower(path.uri);
    const attr = path.attr.toLowerCase();
    const sub = lower(path.sub);
    if (uri === undefined || uri === CORE_USER_URN.toLowerCase()) {
      if (SINGLE[attr]) return sub ? undefined : { kind: 'leaf', leaf: SINGLE[attr] };
      if (COMPLEX[attr]) return sub ? leaf(COMPLEX[attr][sub]) : { kind: 'complex', subs: COMPLEX[attr] };
      if (MULTI[attr]) return MULTI[attr];
      if (attr === 'meta') return sub ? leaf(META[sub]) : undefined;
      if (attr === 'groups') return GROUPS;
      if (attr === 'metadata' && uri === undefined) {
        // Custom attributes (`metadata.city`): keys are the admin's, matched as sent.
        if (!path.sub) return { kind: 'complex', subs: {}, present: `(m.metadata <> '{}'::jsonb)` };
        const key = path.sub;
        return { kind: 'leaf', leaf: { type: 'string', expr: (p) => `(m.metadata->>${p.add(key)})` } };
      }
      return undefined;
    }
    if (uri === ENTERPRISE_USER_URN.toLowerCase()) {
      if (attr === 'manager') return !sub || sub === 'value' ? leaf({ type: 'uuid', expr: 'm.manager_id' }) : undefined;
      return sub ? undefined : leaf(ENTERPRISE[attr]);
    }
    if (/^urn:ietf:params:scim:schemas:extension:[^:]+:2\.0:user$/.test(uri) && !sub) {
      // A custom extension namespace: stored under its URN as sent (case of the URN as Entra spells it).
      return {
        kind: 'leaf',
        leaf: {
          type: 'string',
          expr: (p) => `(select v.value #>> '{}' from jsonb_each(m.extensions) x, jsonb_each(x.value) v where lower(x.key) = ${p.add(uri)} and lower(v.key) = ${p.add(attr)})`,
        },
      };
    }
    return undefined;
  },
};

function leaf(l: Leaf | undefined): Resolved | undefined {
  return l && { kind: 'leaf', leaf: l };
}
