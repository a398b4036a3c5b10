// SCIM-style queries of members (filter, sort, offset paging) compiled to SQL.
// The attribute names are the SCIM User schema's; case-exactness follows it
// (RFC 7643 §4.1: id and externalId are caseExact, the rest are not).
import type { AttrPath } from '../query/filter-ast.js';
import type { AttributeMap, Leaf, Multi, Resolved } from '../query/filter-sql.js';

export const CORE_USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const str = (expr: string, caseExact = false): Leaf => ({ type: 'string', expr, caseExact });

const SINGLE: Record<string, Leaf> = {
  id: { type: 'uuid', expr: 'm.id' },
  username: str('m.user_name'),
  externalid: str('m.external_id', true),
  active: { type: 'boolean', expr: 'm.active' },
  displayname: str('m.display_name'),
  nickname: str('m.nick_name'),
  profileurl: str('m.profile_url', true),
  title: str('m.title'),
  usertype: str('m.user_type'),
  preferredlanguage: str('m.preferred_language'),
  locale: str('m.locale'),
  timezone: str('m.timezone'),
};

const NAME: Record<string, Leaf> = {
  givenname: str('m.given_name'),
  familyname: str('m.family_name'),
  middlename: str('m.middle_name'),
  formatted: str('m.formatted_name'),
  honorificprefix: str('m.honorific_prefix'),
  honorificsuffix: str('m.honorific_suffix'),
};

const META: Record<string, Leaf> = {
  created: { type: 'datetime', expr: 'm.created_at' },
  lastmodified: { type: 'datetime', expr: 'm.updated_at' },
  resourcetype: { type: 'string', expr: `'User'` },
};

const ENTERPRISE: Record<string, Leaf> = {
  employeenumber: str('m.employee_number'),
  costcenter: str('m.cost_center'),
  organization: str('m.enterprise_organization'),
  division: str('m.division'),
  department: str('m.department'),
};

function jsonMulti(column: string, subs: Record<string, { type?: 'boolean'; caseExact?: boolean; key: string }>): Multi {
  const leaves: Record<string, Leaf> = {};
  for (const [name, s] of Object.entries(subs)) {
    leaves[name] =
      s.type === 'boolean'
        ? { type: 'boolean', expr: `(case when jsonb_typeof(e.value->'${s.key}') = 'boolean' then (e.value->>'${s.key}')::boolean end)` }
        : { type: 'string', expr: `(e.value->>'${s.key}')`, caseExact: s.caseExact ?? false };
  }
  return {
    kind: 'multi',
    from: `jsonb_array_elements(${column}) e`,
    subs: leaves,
    defaultSub: 'value',
    present: `(jsonb_array_length(${column}) > 0)`,
    sort: { type: 'string', expr: `(${column}->0->>'value')` },
  };
}

const MULTI_SUBS = {
  value: { key: 'value' },
  type: { key: 'type' },
  display: { key: 'display' },
  primary: { key: 'primary', type: 'boolean' as const },
};

const EMAILS = jsonMulti('m.emails', MULTI_SUBS);
const PHONES = jsonMulti('m.phone_numbers', MULTI_SUBS);
const ADDRESSES: Multi = {
  ...jsonMulti('m.addresses', {
    type: { key: 'type' },
    formatted: { key: 'formatted' },
    streetaddress: { key: 'streetAddress' },
    locality: { key: 'locality' },
    region: { key: 'region' },
    postalcode: { key: 'postalCode' },
    country: { key: 'country' },
    primary: { key: 'primary', type: 'boolean' },
  }),
  defaultSub: 'formatted',
  sort: undefined,
};

/** Group membership seen from the member: `groups.value eq "<group id>"`. */
const GROUPS: Multi = {
  kind: 'multi',
  from: 'group_members gm join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id',
  where: 'gm.organization_id = m.organization_id and gm.member_id = m.id',
  subs: { value: { type: 'uuid', expr: 'gm.group_id' }, display: str('g.display_name') },
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
      if (attr === 'name') return sub ? leaf(NAME[sub]) : { kind: 'complex', subs: NAME };
      if (attr === 'meta') return sub ? leaf(META[sub]) : undefined;
      if (attr === 'emails') return EMAILS;
      if (attr === 'phonenumbers') return PHONES;
      if (attr === 'addresses') return ADDRESSES;
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
