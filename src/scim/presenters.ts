// Domain objects → SCIM JSON. Unassigned attributes are omitted (Entra's
// validator wants no nulls); `meta.location` is built from PUBLIC_URL.
import type { Group, GroupMemberRef } from '../domain/group/group.model.js';
import type { MemberData, Member } from '../domain/member/member.model.js';
import { CORE_GROUP_URN, CORE_USER_URN, ENTERPRISE_TEXTS, ENTERPRISE_USER_URN, LIST_RESPONSE_URN, PROFILE_TEXTS, isObject, type Doc } from './schemas.js';

function put(out: Doc, key: string, v: unknown): void {
  if (v !== null && v !== undefined) out[key] = v;
}

/** The member's writable state as a canonical SCIM User doc (what a PATCH is applied to). */
export function userDoc(m: MemberData, baseUrl: string): Doc {
  const out: Doc = {};
  put(out, 'externalId', m.externalId);
  out.userName = m.userName;
  out.active = m.active;
  for (const k of PROFILE_TEXTS) put(out, k, m[k]);
  const name: Doc = {};
  for (const [k, v] of Object.entries(m.name)) put(name, k, v);
  if (Object.keys(name).length > 0) out.name = name;
  if (m.emails.length > 0) out.emails = m.emails.map((e) => ({ ...e }));
  if (m.phoneNumbers.length > 0) out.phoneNumbers = m.phoneNumbers.map((e) => ({ ...e }));
  if (m.addresses.length > 0) out.addresses = m.addresses.map((e) => ({ ...e }));
  if (Object.keys(m.metadata).length > 0) out.metadata = { ...m.metadata };
  const ent: Doc = {};
  const e = m.enterprise;
  for (const k of ENTERPRISE_TEXTS) put(ent, k, e[k]);
  if (e.managerId) ent.manager = { value: e.managerId, $ref: `${baseUrl}/Users/${e.managerId}` };
  if (Object.keys(ent).length > 0) out[ENTERPRISE_USER_URN] = ent;
  for (const [urn, attrs] of Object.entries(m.extensions)) out[urn] = { ...attrs };
  return out;
}

export function toScimUser(m: Member, baseUrl: string): Doc {
  const doc = userDoc(m, baseUrl);
  const schemas = [CORE_USER_URN, ...Object.keys(doc).filter((k) => k.startsWith('urn:'))];
  return {
    schemas,
    id: m.id,
    ...doc,
    meta: {
      resourceType: 'User',
      created: m.createdAt.toISOString(),
      lastModified: m.updatedAt.toISOString(),
      location: `${baseUrl}/Users/${m.id}`,
      version: etag(m.version),
    },
  };
}

export function etag(version: number): string {
  return `W/"${version}"`;
}

export function toScimGroup(g: Group, baseUrl: string): Doc {
  const out: Doc = { schemas: [CORE_GROUP_URN], id: g.id, displayName: g.displayName };
  put(out, 'externalId', g.externalId);
  out.meta = {
    resourceType: 'Group',
    created: g.createdAt.toISOString(),
    lastModified: g.updatedAt.toISOString(),
    location: `${baseUrl}/Groups/${g.id}`,
    version: etag(g.version),
  };
  return out;
}

export function toScimMemberRef(m: GroupMemberRef, baseUrl: string): Doc {
  return { value: m.id, $ref: `${baseUrl}/Users/${m.id}`, display: m.displayName ?? m.userName, type: 'User' };
}

export function listResponse(resources: Doc[], totalResults: number, startIndex: number): Doc {
  return { schemas: [LIST_RESPONSE_URN], totalResults, startIndex, itemsPerPage: resources.length, Resources: resources };
}

// ---- attributes / excludedAttributes (RFC 7644 §3.4.2.5) -------------------

/** One requested attribute: a top-level key (or extension URN) and an optional sub-attribute. */
export interface Projection {
  readonly top: string;
  readonly sub?: string;
}

export function parseAttributeList(text: string | undefined): Projection[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return text.split(',').map((raw) => {
    const p = raw.trim();
    const lower = p.toLowerCase();
    for (const urn of [CORE_USER_URN, CORE_GROUP_URN]) {
      if (lower.startsWith(urn.toLowerCase() + ':')) return split(p.slice(urn.length + 1));
    }
    if (lower.startsWith('urn:')) {
      // urn:…:User (a whole extension) or urn:…:User:attr
      const m = /^(urn:.*:(?:User|Group))(?::([^:]+))?$/i.exec(p);
      if (m) return { top: m[1]!.toLowerCase(), sub: m[2]?.toLowerCase() };
      return { top: lower };
    }
    return split(p);
  });
}

function split(p: string): Projection {
  const [top, sub] = p.toLowerCase().split('.', 2) as [string, string | undefined];
  return { top, sub };
}

/** Whether `members` would be returned (so a group GET knows whether to read memberships at all). */
export function wantsAttribute(name: string, attributes: Projection[] | undefined, excluded: Projection[] | undefined): boolean {
  const n = name.toLowerCase();
  if (attributes) return attributes.some((a) => a.top === n);
  if (excluded) return !excluded.some((a) => a.top === n && !a.sub);
  return true;
}

const ALWAYS = new Set(['schemas', 'id']);

export function project(doc: Doc, attributes: Projection[] | undefined, excluded: Projection[] | undefined): Doc {
  if (!attributes && !excluded) return doc;
  const out: Doc = {};
  for (const [key, value] of Object.entries(doc)) {
    const k = key.toLowerCase();
    if (ALWAYS.has(k)) {
      out[key] = value;
      continue;
    }
    if (attributes) {
      const wanted = attributes.filter((a) => a.top === k);
      if (wanted.length === 0) continue;
      if (wanted.some((a) => !a.sub) || !isObject(value)) out[key] = value;
      else out[key] = pick(value, wanted.map((a) => a.sub!), true);
    } else if (excluded) {
      const ex = excluded.filter((a) => a.top === k);
      if (ex.some((a) => !a.sub)) continue;
      out[key] = ex.length > 0 && isObject(value) ? pick(value, ex.map((a) => a.sub!), false) : value;
    }
  }
  return out;
}

function pick(obj: Record<string, unknown>, subs: string[], keep: boolean): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(obj)) if (subs.includes(k.toLowerCase()) === keep) out[k] = v;
  return out;
}
