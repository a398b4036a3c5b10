// SCIM-style queries of groups compiled to SQL: the attributes of
// group.schema.ts plus `id` and `meta`. `members` filters run as an EXISTS on
// group_members (indexed by group), never by loading memberships.
import type { AttrPath } from '../query/filter-ast.js';
import type { AttributeMap, Leaf, Multi, Resolved } from '../query/filter-sql.js';
import { leavesOf, metaLeaves } from '../query/resource-map.js';
import { CORE_GROUP_URN, GROUP_ATTRIBUTES } from './group.schema.js';

export { CORE_GROUP_URN };

const SINGLE: Record<string, Leaf> = { id: { type: 'uuid', expr: 'g.id' }, ...leavesOf(GROUP_ATTRIBUTES) };
const META: Record<string, Leaf> = metaLeaves('g', 'Group');

const MEMBERS: Multi = {
  kind: 'multi',
  from: 'group_members gm join members mm on mm.organization_id = gm.organization_id and mm.id = gm.member_id',
  where: 'gm.organization_id = g.organization_id and gm.group_id = g.id',
  subs: {
    value: { type: 'uuid', expr: 'gm.member_id' },
    display: { type: 'string', expr: 'coalesce(mm.display_name, mm.user_name)' },
    type: { type: 'string', expr: `'User'` },
  },
  defaultSub: 'value',
};

export const groupAttributes: AttributeMap = {
  resolve(path: AttrPath): Resolved | undefined {
    if (path.uri && path.uri.toLowerCase() !== CORE_GROUP_URN.toLowerCase()) return undefined;
    const attr = path.attr.toLowerCase();
    const sub = path.sub?.toLowerCase();
    if (SINGLE[attr]) return sub ? undefined : { kind: 'leaf', leaf: SINGLE[attr] };
    if (attr === 'meta') return sub && META[sub] ? { kind: 'leaf', leaf: META[sub] } : undefined;
    if (attr === 'members') return MEMBERS;
    return undefined;
  },
};
