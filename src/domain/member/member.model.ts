// The member aggregate: its shape, its rules, and its row mapping.
import type { Actor } from '../actor.js';
import { Invalid } from '../errors.js';
import { toDate } from '../rows.js';
import { isUuid } from '../ids.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = { [k: string]: JsonValue };

export type MemberSource = 'scim' | 'admin' | 'import';

/** Where what an actor creates comes from: SCIM and the import manage their members and groups. */
export function sourceOf(actor: Actor): MemberSource {
  return actor.kind === 'scim' ? 'scim' : actor.kind === 'import' ? 'import' : 'admin';
}

/** One entry of a multi-valued attribute (emails, phoneNumbers). Stored as sent. */
export interface MultiValue {
  readonly value: string;
  readonly type?: string | null;
  readonly primary?: boolean;
  readonly display?: string | null;
}

export interface Address {
  readonly type?: string | null;
  readonly formatted?: string | null;
  readonly streetAddress?: string | null;
  readonly locality?: string | null;
  readonly region?: string | null;
  readonly postalCode?: string | null;
  readonly country?: string | null;
  readonly primary?: boolean;
}

export interface MemberName {
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly middleName: string | null;
  readonly formatted: string | null;
  readonly honorificPrefix: string | null;
  readonly honorificSuffix: string | null;
}

/** The SCIM enterprise extension (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User). */
export interface EnterpriseFields {
  readonly employeeNumber: string | null;
  readonly costCenter: string | null;
  readonly organization: string | null;
  readonly division: string | null;
  readonly department: string | null;
  /** Id of another member of the same organisation. */
  readonly managerId: string | null;
}

/** Everything about a member that can be written. */
export interface MemberData {
  readonly userName: string;
  readonly externalId: string | null;
  readonly active: boolean;
  readonly displayName: string | null;
  readonly nickName: string | null;
  readonly profileUrl: string | null;
  readonly title: string | null;
  readonly userType: string | null;
  readonly preferredLanguage: string | null;
  readonly locale: string | null;
  readonly timezone: string | null;
  readonly name: MemberName;
  readonly emails: readonly MultiValue[];
  readonly phoneNumbers: readonly MultiValue[];
  readonly addresses: readonly Address[];
  readonly enterprise: EnterpriseFields;
  /** Custom attributes (`metadata.city` in Entra lands here as `{ city }`). */
  readonly metadata: JsonObject;
  /** Custom SCIM extension namespaces: URN → single-valued attributes. */
  readonly extensions: Readonly<Record<string, JsonObject>>;
}

export interface Member extends MemberData {
  readonly id: string;
  readonly organizationId: string;
  readonly source: MemberSource;
  /** Which source made the member inactive (only that source re-activates it); null while active. */
  readonly deactivatedBy: MemberSource | null;
  /** Increases with every change (SCIM ETag). */
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Input for create: userName is required, everything else defaults to empty. */
export type MemberInput = Partial<Omit<MemberData, 'name' | 'enterprise'>> & {
  readonly userName: string;
  readonly name?: Partial<MemberName>;
  readonly enterprise?: Partial<EnterpriseFields>;
};

export const EMPTY_NAME: MemberName = {
  givenName: null,
  familyName: null,
  middleName: null,
  formatted: null,
  honorificPrefix: null,
  honorificSuffix: null,
};

export const EMPTY_ENTERPRISE: EnterpriseFields = {
  employeeNumber: null,
  costCenter: null,
  organization: null,
  division: null,
  department: null,
  managerId: null,
};

export function memberDataFrom(input: MemberInput): MemberData {
  return {
    userName: input.userName,
    externalId: input.externalId ?? null,
    active: input.active ?? true,
    displayName: input.displayName ?? null,
    nickName: input.nickName ?? null,
    profileUrl: input.profileUrl ?? null,
    title: input.title ?? null,
    userType: input.userType ?? null,
    preferredLanguage: input.preferredLanguage ?? null,
    locale: input.locale ?? null,
    timezone: input.timezone ?? null,
    name: { ...EMPTY_NAME, ...input.name },
    emails: input.emails ?? [],
    phoneNumbers: input.phoneNumbers ?? [],
    addresses: input.addresses ?? [],
    enterprise: { ...EMPTY_ENTERPRISE, ...input.enterprise },
    metadata: input.metadata ?? {},
    extensions: input.extensions ?? {},
  };
}

export function memberDataOf(m: Member): MemberData {
  const { id: _i, organizationId: _o, source: _s, deactivatedBy: _d, version: _v, createdAt: _c, updatedAt: _u, ...data } = m;
  return data;
}

// ---- rules -------------------------------------------------------------

export const LIMITS = {
  stringLength: 1024,
  userNameLength: 512,
  multiValues: 50,
  jsonBytes: 16 * 1024,
  metadataKeys: 100,
} as const;

const SINGLE_STRINGS = [
  'externalId',
  'displayName',
  'nickName',
  'profileUrl',
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
] as const;

function checkString(value: unknown, field: string, max: number = LIMITS.stringLength): void {
  if (value === null) return;
  if (typeof value !== 'string') throw new Invalid('invalid_value', `${field} must be a string`, field);
  if (value.length > max) throw new Invalid('too_long', `${field} is longer than ${max} characters`, field);
  // A NUL cannot be stored in PostgreSQL text: refuse it as input, not as a database error.
  if (value.includes('\u0000')) throw new Invalid('invalid_value', `${field} contains a NUL character`, field);
}

function checkMultiValues(values: readonly MultiValue[], field: string): void {
  if (!Array.isArray(values)) throw new Invalid('invalid_value', `${field} must be a list`, field);
  if (values.length > LIMITS.multiValues) throw new Invalid('too_many_values', `${field} has more than ${LIMITS.multiValues} entries`, field);
  const types = new Set<string>();
  for (const v of values) {
    if (!v || typeof v !== 'object') throw new Invalid('invalid_value', `${field} entries must be objects`, field);
    checkString(v.value, `${field}.value`);
    checkString(v.type ?? null, `${field}.type`);
    checkString(v.display ?? null, `${field}.display`);
    if (v.primary !== undefined && typeof v.primary !== 'boolean') throw new Invalid('invalid_value', `${field}.primary must be a boolean`, field);
    if (v.type) {
      const t = v.type.toLowerCase();
      if (types.has(t)) throw new Invalid('duplicate_type', `${field} has more than one entry of type "${v.type}"`, field);
      types.add(t);
    }
  }
  if (values.filter((v) => v.primary).length > 1) throw new Invalid('multiple_primary', `${field} has more than one primary entry`, field);
}

function checkJson(value: unknown, field: string): void {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    throw new Invalid('invalid_value', `${field} is not JSON`, field);
  }
  if (Buffer.byteLength(text) > LIMITS.jsonBytes) throw new Invalid('too_large', `${field} is larger than ${LIMITS.jsonBytes} bytes`, field);
  if (text.includes('\\u0000')) throw new Invalid('invalid_value', `${field} contains a NUL character`, field);
}

/** A group of string fields (name parts, enterprise fields): an object with only the known keys. */
function checkParts(value: unknown, field: string, shape: object): void {
  if (!isPlainObject(value)) throw new Invalid('invalid_value', `${field} must be an object`, field);
  for (const [k, v] of Object.entries(value)) {
    if (!(k in shape)) throw new Invalid('unknown_attribute', `${field}.${k} is not a known attribute`, `${field}.${k}`);
    checkString(v, `${field}.${k}`);
  }
}

/** Validates a member's full state; throws Invalid naming the field. */
export function validateMemberData(d: MemberData): void {
  if (typeof d.userName !== 'string' || d.userName.trim().length === 0) {
    throw new Invalid('user_name_required', 'userName is required', 'userName');
  }
  checkString(d.userName, 'userName', LIMITS.userNameLength);
  if (typeof d.active !== 'boolean') throw new Invalid('invalid_value', 'active must be a boolean', 'active');
  for (const f of SINGLE_STRINGS) checkString(d[f], f);
  checkParts(d.name, 'name', EMPTY_NAME);
  checkParts(d.enterprise, 'enterprise', EMPTY_ENTERPRISE);
  // Not a UUID cannot name a member: the same answer as an unknown one, never a cast error.
  if (d.enterprise.managerId !== null && !isUuid(d.enterprise.managerId)) {
    throw new Invalid('unknown_manager', `The manager "${d.enterprise.managerId}" is not a member of this organisation`, 'manager');
  }
  checkMultiValues(d.emails, 'emails');
  checkMultiValues(d.phoneNumbers, 'phoneNumbers');
  if (!Array.isArray(d.addresses) || d.addresses.length > LIMITS.multiValues) {
    throw new Invalid('invalid_value', `addresses must be a list of at most ${LIMITS.multiValues}`, 'addresses');
  }
  for (const a of d.addresses) {
    if (!isPlainObject(a)) throw new Invalid('invalid_value', 'addresses entries must be objects', 'addresses');
    for (const [k, v] of Object.entries(a)) if (k !== 'primary') checkString(v ?? null, `addresses.${k}`);
  }
  if (!isPlainObject(d.metadata)) throw new Invalid('invalid_value', 'metadata must be an object', 'metadata');
  if (Object.keys(d.metadata).length > LIMITS.metadataKeys) throw new Invalid('too_many_values', `metadata has more than ${LIMITS.metadataKeys} keys`, 'metadata');
  checkJson(d.metadata, 'metadata');
  if (!isPlainObject(d.extensions)) throw new Invalid('invalid_value', 'extensions must be an object', 'extensions');
  checkJson(d.extensions, 'extensions');
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- rows --------------------------------------------------------------

export interface MemberRow {
  organization_id: string;
  id: string;
  user_name: string;
  external_id: string | null;
  active: boolean;
  display_name: string | null;
  nick_name: string | null;
  profile_url: string | null;
  title: string | null;
  user_type: string | null;
  preferred_language: string | null;
  locale: string | null;
  timezone: string | null;
  given_name: string | null;
  family_name: string | null;
  middle_name: string | null;
  formatted_name: string | null;
  honorific_prefix: string | null;
  honorific_suffix: string | null;
  emails: MultiValue[];
  phone_numbers: MultiValue[];
  addresses: Address[];
  employee_number: string | null;
  cost_center: string | null;
  enterprise_organization: string | null;
  division: string | null;
  department: string | null;
  manager_id: string | null;
  metadata: JsonObject;
  extensions: Record<string, JsonObject>;
  source: MemberSource;
  deactivated_by: MemberSource | null;
  version: number;
  created_at: string;
  updated_at: string;
}

export const MEMBER_COLUMNS =
  'organization_id, id, user_name, external_id, active, display_name, nick_name, profile_url, title, user_type, preferred_language, locale, timezone, ' +
  'given_name, family_name, middle_name, formatted_name, honorific_prefix, honorific_suffix, emails, phone_numbers, addresses, ' +
  'employee_number, cost_center, enterprise_organization, division, department, manager_id, metadata, extensions, source, deactivated_by, version, created_at, updated_at';

/** MEMBER_COLUMNS qualified with a table alias. */
export function memberColumns(alias: string): string {
  return MEMBER_COLUMNS.split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');
}

export function toMember(r: MemberRow): Member {
  return {
    id: r.id,
    organizationId: r.organization_id,
    userName: r.user_name,
    externalId: r.external_id,
    active: r.active,
    displayName: r.display_name,
    nickName: r.nick_name,
    profileUrl: r.profile_url,
    title: r.title,
    userType: r.user_type,
    preferredLanguage: r.preferred_language,
    locale: r.locale,
    timezone: r.timezone,
    name: {
      givenName: r.given_name,
      familyName: r.family_name,
      middleName: r.middle_name,
      formatted: r.formatted_name,
      honorificPrefix: r.honorific_prefix,
      honorificSuffix: r.honorific_suffix,
    },
    emails: r.emails,
    phoneNumbers: r.phone_numbers,
    addresses: r.addresses,
    enterprise: {
      employeeNumber: r.employee_number,
      costCenter: r.cost_center,
      organization: r.enterprise_organization,
      division: r.division,
      department: r.department,
      managerId: r.manager_id,
    },
    metadata: r.metadata,
    extensions: r.extensions,
    source: r.source,
    deactivatedBy: r.deactivated_by,
    version: r.version,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

/** The values of the writable columns, in WRITABLE_COLUMNS order. */
export const WRITABLE_COLUMNS = [
  'user_name',
  'external_id',
  'active',
  'display_name',
  'nick_name',
  'profile_url',
  'title',
  'user_type',
  'preferred_language',
  'locale',
  'timezone',
  'given_name',
  'family_name',
  'middle_name',
  'formatted_name',
  'honorific_prefix',
  'honorific_suffix',
  'emails',
  'phone_numbers',
  'addresses',
  'employee_number',
  'cost_center',
  'enterprise_organization',
  'division',
  'department',
  'manager_id',
  'metadata',
  'extensions',
] as const;

export function writableValues(d: MemberData): (string | boolean | null)[] {
  return [
    d.userName,
    d.externalId,
    d.active,
    d.displayName,
    d.nickName,
    d.profileUrl,
    d.title,
    d.userType,
    d.preferredLanguage,
    d.locale,
    d.timezone,
    d.name.givenName,
    d.name.familyName,
    d.name.middleName,
    d.name.formatted,
    d.name.honorificPrefix,
    d.name.honorificSuffix,
    JSON.stringify(d.emails),
    JSON.stringify(d.phoneNumbers),
    JSON.stringify(d.addresses),
    d.enterprise.employeeNumber,
    d.enterprise.costCenter,
    d.enterprise.organization,
    d.enterprise.division,
    d.enterprise.department,
    d.enterprise.managerId,
    JSON.stringify(d.metadata),
    JSON.stringify(d.extensions),
  ];
}

/**
 * A value as JSON with object keys sorted and absent (undefined) members
 * dropped: the state read back from PostgreSQL is jsonb, which reorders keys
 * (`{"type","value","primary"}`), so the same emails sent in another key order
 * must not count as a change.
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The fields that differ between two states (for the audit trail). */
export function diffMemberData(before: MemberData, after: MemberData): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(after) as (keyof MemberData)[]) {
    const a = before[key];
    const b = after[key];
    if (a === b) continue;
    // Objects (name parts, lists, metadata) compare by content, whatever their key order; anything else differs already.
    if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && canonicalJson(a) === canonicalJson(b)) continue;
    out[key] = { from: a, to: b };
  }
  return out;
}
