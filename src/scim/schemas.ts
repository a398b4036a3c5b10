// The SCIM schemas Gatehouse serves (RFC 7643), the discovery documents, and
// the reading of request bodies into domain inputs. Attribute names are
// case-insensitive (7643 §2.1): input keys are canonicalised first. Entra's
// quirks accepted here: "True"/"False" strings, dotted keys (`name.givenName`,
// `metadata.city`), full-URN attribute keys, custom extension objects whose URN
// is missing from `schemas`, JSON null meaning "unassigned".
import { ScimProtocolError } from './errors.js';
import type { Address, EnterpriseFields, JsonObject, JsonValue, MemberData, MemberInput, MultiValue } from '../domain/member/member.model.js';
import type { GroupInput } from '../domain/group/group.model.js';
import { CORE_USER_URN, ENTERPRISE_USER_URN } from '../domain/member/member.query.js';
import { CORE_GROUP_URN } from '../domain/group/group.query.js';
import { ADDRESS_ATTRIBUTES, ENTERPRISE_ATTRIBUTES, NAME_ATTRIBUTES, USER_ATTRIBUTES } from '../domain/member/member.schema.js';
import { GROUP_ATTRIBUTES } from '../domain/group/group.schema.js';
import type { Attribute } from '../domain/query/attribute.js';

export { CORE_USER_URN, ENTERPRISE_USER_URN, CORE_GROUP_URN };
export const LIST_RESPONSE_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const MAX_RESULTS = 1000;
export const DEFAULT_COUNT = 100;

/** `urn:ietf:params:scim:schemas:extension:<Name>:2.0:User` (what Entra admins add). */
const CUSTOM_EXTENSION_RE = /^urn:ietf:params:scim:schemas:extension:[^:]+:2\.0:User$/i;
const CUSTOM_ATTR_RE = /^(urn:ietf:params:scim:schemas:extension:[^:]+:2\.0:User):(.+)$/i;

const canon = (names: readonly string[]): Map<string, string> => new Map(names.map((n) => [n.toLowerCase(), n]));
const namesOf = (attributes: readonly Attribute[]): string[] => attributes.map((a) => a.name);
const isText = (a: Attribute): boolean => !a.multiValued && (a.type === 'string' || a.type === 'reference');

// What a body may set, read off the one attribute table (member.schema.ts):
// every User attribute but the read-only ones (`groups`), and custom
// attributes (`metadata`, not in the table: Gatehouse's own).
const WRITABLE = USER_ATTRIBUTES.filter((a) => a.mutability !== 'readOnly');
const USER_TOP = canon([...namesOf(WRITABLE), 'metadata']);
const NAME_SUBS = namesOf(NAME_ATTRIBUTES);
const NAME_CANON = canon(NAME_SUBS);
const ADDRESS_SUBS = namesOf(ADDRESS_ATTRIBUTES);
const ENTERPRISE_CANON = canon(namesOf(ENTERPRISE_ATTRIBUTES));
const MULTI = WRITABLE.filter((a) => a.multiValued);
export const MULTI_ATTRS = canon(namesOf(MULTI));
/** The sub-attributes of each multi-valued attribute (by its name), in any case. */
const MULTI_SUB_CANON = new Map(MULTI.map((a) => [a.name, canon(namesOf(a.subAttributes ?? []))]));

/** A MemberData field holding one text, named as its SCIM attribute, besides userName and externalId (which lead a User). */
type ProfileText = Exclude<{ [K in keyof MemberData]-?: MemberData[K] extends string | null ? K : never }[keyof MemberData], 'userName' | 'externalId'>;
/** The User's single-valued texts (string or reference) besides userName and externalId, in the table's order. */
export const PROFILE_TEXTS = WRITABLE.filter((a) => isText(a) && a.name !== 'userName' && a.name !== 'externalId').map((a) => a.name as ProfileText);
/** The enterprise extension's texts (all but `manager`), in the table's order. */
export const ENTERPRISE_TEXTS = ENTERPRISE_ATTRIBUTES.filter(isText).map((a) => a.name as Exclude<keyof EnterpriseFields, 'managerId'>);

/** A core or enterprise User attribute Gatehouse keeps (by name, any case). */
export function isKnownUserAttribute(name: string): boolean {
  const n = name.toLowerCase();
  return USER_TOP.has(n) || ENTERPRISE_CANON.has(n);
}

export type Doc = Record<string, unknown>;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): ScimProtocolError {
  return new ScimProtocolError('invalidValue', message);
}

// ---- canonical form -----------------------------------------------------

/**
 * Rewrites a User body (or a path-less PATCH value) into canonical keys:
 * known attributes in their schema spelling, dotted and URN-qualified keys
 * nested, custom extensions under their URN. `null` values are kept (they
 * mean "unassigned"). Unknown attributes are dropped, never an error.
 */
export function canonicalUser(body: Record<string, unknown>, into: Doc = {}): Doc {
  for (const [key, value] of Object.entries(body)) setUserKey(into, key, value);
  return into;
}

/** Sets one (possibly dotted or URN-qualified) key on a canonical doc, merging complex values. */
export function setUserKey(doc: Doc, key: string, value: unknown): void {
  const lower = key.toLowerCase();
  if (lower.startsWith('urn:')) {
    if (lower === CORE_USER_URN.toLowerCase()) {
      if (isObject(value)) canonicalUser(value, doc);
      return;
    }
    if (lower.startsWith(CORE_USER_URN.toLowerCase() + ':')) return setUserKey(doc, key.slice(CORE_USER_URN.length + 1), value);
    if (lower === ENTERPRISE_USER_URN.toLowerCase()) {
      if (value === null) {
        doc[ENTERPRISE_USER_URN] = null;
        return;
      }
      if (!isObject(value)) throw invalid(`${ENTERPRISE_USER_URN} must be an object`);
      for (const [k, v] of Object.entries(value)) setEnterprise(doc, k, v);
      return;
    }
    if (lower.startsWith(ENTERPRISE_USER_URN.toLowerCase() + ':')) return setEnterprise(doc, key.slice(ENTERPRISE_USER_URN.length + 1), value);
    if (CUSTOM_EXTENSION_RE.test(key)) {
      if (value === null) {
        doc[Object.keys(doc).find((k) => k.toLowerCase() === lower) ?? key] = null;
        return;
      }
      if (!isObject(value)) throw invalid(`${key} must be an object`);
      for (const [k, v] of Object.entries(value)) setCustom(doc, key, k, v);
      return;
    }
    const m = CUSTOM_ATTR_RE.exec(key);
    if (m) return setCustom(doc, m[1]!, m[2]!, value);
    return; // another schema (e.g. Microsoft's ADSCIM URI): not ours, ignored
  }
  // Entra's default dialect names the enterprise manager without its URN (path "manager").
  if (ENTERPRISE_CANON.has(lower.split('.')[0]!)) return setEnterprise(doc, key, value);
  const dot = key.indexOf('.');
  if (dot > 0) {
    const top = USER_TOP.get(key.slice(0, dot).toLowerCase());
    const sub = key.slice(dot + 1);
    if (top === 'name') return setSub(doc, 'name', NAME_CANON.get(sub.toLowerCase()), value);
    if (top === 'metadata') return setSub(doc, 'metadata', sub, value);
    return; // emails.value etc. without a filter: ambiguous, ignored like any unknown attribute
  }
  const name = USER_TOP.get(lower);
  if (!name) return;
  if (name === 'name' || name === 'metadata') {
    if (value === null) {
      doc[name] = null;
      return;
    }
    if (!isObject(value)) throw invalid(`${name} must be an object`);
    if (name === 'metadata') {
      for (const [k, v] of Object.entries(value)) setSub(doc, 'metadata', k, v);
    } else {
      for (const [k, v] of Object.entries(value)) setSub(doc, 'name', NAME_CANON.get(k.toLowerCase()), v);
    }
    return;
  }
  if (MULTI_ATTRS.has(lower)) {
    doc[name] = value === null ? null : canonicalMulti(name, value);
    return;
  }
  doc[name] = value;
}

function setSub(doc: Doc, top: string, sub: string | undefined, value: unknown): void {
  if (!sub) return;
  const current = isObject(doc[top]) ? (doc[top] as Doc) : {};
  doc[top] = { ...current, [sub]: value };
}

function setEnterprise(doc: Doc, key: string, value: unknown): void {
  const [head, rest] = key.split('.', 2) as [string, string | undefined];
  const name = ENTERPRISE_CANON.get(head.toLowerCase());
  if (!name) return;
  // `manager.value` addresses the manager's id directly.
  const v = name === 'manager' && rest?.toLowerCase() === 'value' ? { value } : value;
  setSub(doc, ENTERPRISE_USER_URN, name, v);
}

function setCustom(doc: Doc, urn: string, attr: string, value: unknown): void {
  // Custom attributes may come through an extension too: `…:User:metadata.city`.
  if (/^metadata\./i.test(attr)) return setSub(doc, 'metadata', attr.slice('metadata.'.length), value);
  if (attr.toLowerCase() === 'metadata' && isObject(value)) {
    for (const [k, v] of Object.entries(value)) setSub(doc, 'metadata', k, v);
    return;
  }
  const existing = Object.keys(doc).find((k) => k.toLowerCase() === urn.toLowerCase()) ?? urn;
  setSub(doc, existing, attr, value);
}

function canonicalMulti(name: string, value: unknown): Doc[] {
  const list = Array.isArray(value) ? value : [value];
  const keys = MULTI_SUB_CANON.get(name)!;
  return list.map((item) => {
    if (!isObject(item)) throw invalid(`${name} entries must be objects`);
    const out: Doc = {};
    for (const [k, v] of Object.entries(item)) {
      const c = keys.get(k.toLowerCase());
      if (c) out[c] = v;
    }
    return out;
  });
}

// ---- canonical doc → domain input ----------------------------------------

function str(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  throw invalid(`${field} must be a string`);
}

/** JSON booleans, and Entra's "True"/"False" strings. */
export function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw invalid(`${field} must be a boolean`);
}

function multi(v: unknown, field: string): MultiValue[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${field} must be a list`);
  return v.map((e: Doc) => {
    const value = str(e.value, `${field}.value`);
    if (value === null) throw invalid(`${field} entries need a value`);
    const out: { value: string; type?: string; primary?: boolean; display?: string } = { value };
    const type = str(e.type, `${field}.type`);
    if (type !== null) out.type = type;
    const primary = bool(e.primary, `${field}.primary`);
    if (primary !== undefined) out.primary = primary;
    const display = str(e.display, `${field}.display`);
    if (display !== null) out.display = display;
    return out;
  });
}

function addresses(v: unknown): Address[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid('addresses must be a list');
  return v.map((e: Doc) => {
    const out: Record<string, string | boolean> = {};
    for (const k of ADDRESS_SUBS) {
      if (k === 'primary') {
        const p = bool(e.primary, 'addresses.primary');
        if (p !== undefined) out.primary = p;
      } else {
        const s = str(e[k], `addresses.${k}`);
        if (s !== null) out[k] = s;
      }
    }
    return out as Address;
  });
}

function managerId(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  // Entra's PATCH sends [{"$ref": …, "value": id}]; POST bodies send {"value": id}.
  if (Array.isArray(v)) return v.length === 0 ? null : managerId(v[0]);
  if (isObject(v)) return managerId(v.value ?? null);
  throw invalid('manager must be an object with a value');
}

function jsonObject(v: unknown, field: string): JsonObject {
  if (v === undefined || v === null) return {};
  if (!isObject(v)) throw invalid(`${field} must be an object`);
  const out: JsonObject = {};
  for (const [k, val] of Object.entries(v)) if (val !== null && val !== undefined) out[k] = val as JsonValue;
  return out;
}

/**
 * Reads a canonical User doc as the complete state of a member (POST, PUT,
 * result of a PATCH). `active` stays undefined when absent or null: only a
 * create may default it to true (RFC 7644 §3.5.2.2: a removed attribute is
 * unassigned), so a PUT without it keeps the stored value.
 */
export function memberInputFromDoc(doc: Doc): MemberInput {
  const userName = str(doc.userName, 'userName');
  if (userName === null) throw new ScimProtocolError('invalidValue', 'userName is required');
  const name = isObject(doc.name) ? doc.name : {};
  const ent = isObject(doc[ENTERPRISE_USER_URN]) ? (doc[ENTERPRISE_USER_URN] as Doc) : {};
  const extensions: Record<string, JsonObject> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (!CUSTOM_EXTENSION_RE.test(k) || k.toLowerCase() === ENTERPRISE_USER_URN.toLowerCase() || !isObject(v)) continue;
    const attrs: JsonObject = {};
    for (const [a, val] of Object.entries(v)) {
      if (val === null || val === undefined) continue;
      if (typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') {
        throw invalid(`${k}:${a} must be a single value (string, number or boolean)`);
      }
      attrs[a] = val;
    }
    if (Object.keys(attrs).length > 0) extensions[k] = attrs;
  }
  return {
    userName,
    externalId: str(doc.externalId, 'externalId'),
    active: bool(doc.active, 'active'),
    ...(Object.fromEntries(PROFILE_TEXTS.map((k) => [k, str(doc[k], k)])) as Partial<Record<ProfileText, string | null>>),
    name: Object.fromEntries(NAME_SUBS.map((k) => [k, str(name[k], `name.${k}`)])),
    emails: multi(doc.emails, 'emails'),
    phoneNumbers: multi(doc.phoneNumbers, 'phoneNumbers'),
    addresses: addresses(doc.addresses),
    enterprise: {
      ...Object.fromEntries(ENTERPRISE_TEXTS.map((k) => [k, str(ent[k], k)])),
      managerId: managerId(ent.manager),
    },
    metadata: jsonObject(doc.metadata, 'metadata'),
    extensions,
  };
}

/** A POST/PUT /Users body → complete member input. */
export function memberInputFromBody(body: unknown): MemberInput {
  if (!isObject(body)) throw new ScimProtocolError('invalidSyntax', 'The body must be a JSON object');
  return memberInputFromDoc(canonicalUser(body));
}

function memberRefs(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((m) => {
    const id = isObject(m) ? m.value : m;
    if (typeof id !== 'string') throw invalid('members entries need a string value (the member id)');
    return id;
  });
}

export { memberRefs };

/** A POST/PUT /Groups body → group input. */
export function groupInputFromBody(body: unknown): Required<GroupInput> {
  if (!isObject(body)) throw new ScimProtocolError('invalidSyntax', 'The body must be a JSON object');
  let displayName: unknown;
  let externalId: unknown = null;
  let members: unknown;
  for (const [k, v] of Object.entries(body)) {
    const key = k.toLowerCase().replace(CORE_GROUP_URN.toLowerCase() + ':', '');
    if (key === 'displayname') displayName = v;
    else if (key === 'externalid') externalId = v;
    else if (key === 'members') members = v;
  }
  if (typeof displayName !== 'string') throw new ScimProtocolError('invalidValue', 'displayName is required and must be a string');
  if (externalId !== null && typeof externalId !== 'string') throw invalid('externalId must be a string');
  return { displayName, externalId: externalId as string | null, memberIds: memberRefs(members) };
}

type AttrDef = Record<string, unknown>;

// ---- discovery ------------------------------------------------------------
// Described from the domain's attribute tables (member.schema.ts, group.schema.ts):
// an attribute is described once, with every characteristic RFC 7643 §7 lists.

export const SEARCH_REQUEST_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
/** Gatehouse's own addition to ServiceProviderConfig: which POST .search endpoints exist. */
export const GATEHOUSE_SPC_URN = 'urn:ietf:params:scim:schemas:extension:gatehouse:2.0:ServiceProviderConfig';

function describe(a: Attribute): AttrDef {
  const out: AttrDef = {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    description: a.description ?? a.name,
    required: a.required ?? false,
    caseExact: a.caseExact ?? false,
    mutability: a.mutability ?? 'readWrite',
    returned: a.returned ?? 'default',
    uniqueness: a.uniqueness ?? 'none',
  };
  if (a.canonicalValues) out.canonicalValues = [...a.canonicalValues];
  if (a.referenceTypes) out.referenceTypes = [...a.referenceTypes];
  if (a.subAttributes) out.subAttributes = a.subAttributes.map(describe);
  return out;
}

/**
 * `metadata` holds an organisation's custom attributes (Entra maps an
 * attribute to the target "metadata.<name>"). RFC 7643 §2.3.8 wants a complex
 * attribute's sub-attributes listed, so it is published with the names this
 * organisation uses (to a client that sends its token), each a string, and
 * left out when there are none to list.
 */
function metadataAttribute(keys: readonly string[]): Attribute | undefined {
  if (keys.length === 0) return undefined;
  return {
    name: 'metadata',
    type: 'complex',
    description: 'Custom attributes: map an Entra attribute to the target "metadata.<name>" and it is stored as metadata.<name>',
    subAttributes: keys.map((k) => ({ name: k, type: 'string', description: `Custom attribute metadata.${k}` })),
  };
}

function userSchema(metadataKeys: readonly string[]) {
  const metadata = metadataAttribute(metadataKeys);
  return {
    id: CORE_USER_URN,
    name: 'User',
    description: 'User Account. Custom attributes are kept under metadata.<name> (any name; send them as "metadata.<name>").',
    attributes: [...USER_ATTRIBUTES, ...(metadata ? [metadata] : [])].map(describe),
  };
}

const ENTERPRISE_SCHEMA = { id: ENTERPRISE_USER_URN, name: 'EnterpriseUser', description: 'Enterprise User', attributes: ENTERPRISE_ATTRIBUTES.map(describe) };
const GROUP_SCHEMA = { id: CORE_GROUP_URN, name: 'Group', description: 'Group', attributes: GROUP_ATTRIBUTES.map(describe) };

/** The schemas; `metadataKeys`: the custom attribute names of the organisation asking (none when anonymous). */
export function schemaDocs(baseUrl: string, metadataKeys: readonly string[] = []): Record<string, unknown>[] {
  return [userSchema(metadataKeys), ENTERPRISE_SCHEMA, GROUP_SCHEMA].map((s) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    ...s,
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${s.id}` },
  }));
}

export function resourceTypeDocs(baseUrl: string): Record<string, unknown>[] {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: CORE_USER_URN,
      schemaExtensions: [{ schema: ENTERPRISE_USER_URN, required: false }],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: CORE_GROUP_URN,
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

export function serviceProviderConfig(baseUrl: string): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig', GATEHOUSE_SPC_URN],
    documentationUri: `${baseUrl.replace(/\/scim\/v2$/, '')}/`,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    // meta.version is returned, but If-Match preconditions are not enforced.
    etag: { supported: false },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'The secret token from `npm run cli -- scim enable`', primary: true },
    ],
    // RFC 7644 §3.4.3: POST /Users/.search and /Groups/.search are served; the
    // root POST /.search (all resource types at once) answers 501.
    [GATEHOUSE_SPC_URN]: {
      searchByPost: { supported: true, endpoints: ['/Users/.search', '/Groups/.search'], rootSearch: false },
    },
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}
