// PatchOp (RFC 7644 §3.5.2) → domain change. A user PATCH is applied to the
// member's SCIM document inside the domain's locked transaction (a pure
// function from the current state), so all operations apply or none. A group
// PATCH becomes one net membership change (add/remove/replace sets), whose cost
// grows with the batch, never with the group.
// Entra's dialect: `Add`/`Replace`/`Remove`, "True"/"False", dotted keys in
// path-less values, remove of members with a value array, add of an existing
// member and remove of an absent one succeed, a filtered path such as
// `emails[type eq "work"].value` creates the entry when there is none.
import { ScimProtocolError } from './errors.js';
import type { FilterNode, FilterValue } from '../domain/query/filter-ast.js';
import type { GroupChange } from '../domain/group/group.model.js';
import { parsePatchPath, type PatchPath } from './filter.js';
import { CORE_GROUP_URN, CORE_USER_URN, MULTI_ATTRS, canonicalUser, isKnownUserAttribute, isObject, memberRefs, setUserKey, type Doc } from './schemas.js';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  readonly op: PatchOpName;
  readonly path?: PatchPath;
  /** The path as sent (for the audit trail and errors). */
  readonly pathText?: string;
  readonly value?: unknown;
}

export const MAX_OPERATIONS = 1000;

function syntax(message: string): ScimProtocolError {
  return new ScimProtocolError('invalidSyntax', message);
}

/** Validates a PatchOp body and parses its paths. */
export function parsePatchBody(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw syntax('The body must be a PatchOp JSON object');
  const opsKey = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = opsKey ? body[opsKey] : undefined;
  if (!Array.isArray(ops) || ops.length === 0) throw syntax('A PatchOp needs a non-empty "Operations" array');
  if (ops.length > MAX_OPERATIONS) throw new ScimProtocolError('invalidValue', `At most ${MAX_OPERATIONS} operations per PATCH`);
  return ops.map((raw: unknown, i) => {
    if (!isObject(raw)) throw syntax(`Operation ${i + 1} must be an object`);
    const get = (name: string): unknown => raw[Object.keys(raw).find((k) => k.toLowerCase() === name) ?? name];
    const opRaw = get('op');
    const op = typeof opRaw === 'string' ? opRaw.toLowerCase() : undefined;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw syntax(`Operation ${i + 1}: "op" must be add, replace or remove`);
    const pathRaw = get('path');
    if (pathRaw !== undefined && pathRaw !== null && typeof pathRaw !== 'string') throw new ScimProtocolError('invalidPath', `Operation ${i + 1}: "path" must be a string`);
    const path = typeof pathRaw === 'string' && pathRaw.trim() !== '' ? parsePatchPath(pathRaw) : undefined;
    const value = get('value');
    if (op !== 'remove' && value === undefined) throw new ScimProtocolError('invalidValue', `Operation ${i + 1}: ${op} needs a "value"`);
    if (!path && op === 'remove') throw new ScimProtocolError('noTarget', `Operation ${i + 1}: remove needs a "path"`);
    return { op, path, pathText: path ? (pathRaw as string) : undefined, value };
  });
}

// ---- users ------------------------------------------------------------------

const COMPLEX_KEYS = new Set(['name', 'metadata']);

function pathKey(p: PatchPath): string {
  return `${p.uri ? p.uri + ':' : ''}${p.attr}${p.sub ? '.' + p.sub : ''}`;
}

/**
 * Applies the operations in order to a canonical User doc (mutated and
 * returned). `active` may be set but never unassigned: a remove or a null
 * would otherwise read as "default true" and re-open the doors of a member
 * Entra deprovisioned, so it is refused, whichever form said it.
 */
export function applyUserPatch(doc: Doc, ops: readonly PatchOperation[]): Doc {
  for (const op of ops) applyUserOp(doc, op);
  if (doc.active === null || doc.active === undefined) {
    throw new ScimProtocolError('invalidValue', '"active" cannot be removed or set to null; replace it with true or false');
  }
  return doc;
}

function applyUserOp(doc: Doc, op: PatchOperation): void {
  const p = op.path;
  if (!p) {
    if (!isObject(op.value) || op.op === 'remove') throw new ScimProtocolError('invalidValue', `A path-less ${op.op} needs an object value`);
    merge(doc, canonicalUser(op.value), op.op);
    return;
  }
  if (p.uri && p.uri.toLowerCase() === CORE_USER_URN.toLowerCase()) return applyUserOp(doc, { ...op, path: { ...p, uri: undefined } });
  if (p.filter) return applyFiltered(doc, p, op);
  const multi = !p.uri && !p.sub ? MULTI_ATTRS.get(p.attr.toLowerCase()) : undefined;
  const partial: Doc = {};
  if (op.op === 'remove') {
    if (multi && op.value !== undefined && op.value !== null) {
      // Remove the listed entries (the default dialect sends values with a remove).
      const gone = new Set(asList(op.value).map((v) => String(isObject(v) ? v.value : v).toLowerCase()));
      const list = Array.isArray(doc[multi]) ? (doc[multi] as Doc[]) : [];
      doc[multi] = list.filter((e) => !gone.has(String(e.value).toLowerCase()));
      return;
    }
    setUserKey(partial, pathKey(p), null);
    merge(doc, partial, 'replace');
    return;
  }
  setUserKey(partial, pathKey(p), op.value);
  merge(doc, partial, op.op);
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [v];
}

/** Merges a canonical partial doc: complex values by sub-attribute, multi-valued by add or replace. */
function merge(doc: Doc, partial: Doc, mode: 'add' | 'replace'): void {
  for (const [k, v] of Object.entries(partial)) {
    if (MULTI_ATTRS.has(k.toLowerCase())) {
      if (v === null || mode === 'replace') {
        doc[k] = v;
        continue;
      }
      const list = Array.isArray(doc[k]) ? [...(doc[k] as Doc[])] : [];
      for (const e of v as Doc[]) {
        const same = list.findIndex(
          (x) =>
            (typeof e.value === 'string' && typeof x.value === 'string' && x.value.toLowerCase() === e.value.toLowerCase()) ||
            (typeof e.type === 'string' && typeof x.type === 'string' && x.type.toLowerCase() === e.type.toLowerCase()),
        );
        if (same >= 0) list[same] = { ...list[same], ...e };
        else list.push(e);
      }
      doc[k] = list;
    } else if ((COMPLEX_KEYS.has(k) || k.startsWith('urn:')) && isObject(v)) {
      doc[k] = { ...(isObject(doc[k]) ? doc[k] : {}), ...v };
    } else {
      doc[k] = v;
    }
  }
}

function applyFiltered(doc: Doc, p: PatchPath, op: PatchOperation): void {
  const name = p.uri ? undefined : MULTI_ATTRS.get(p.attr.toLowerCase());
  if (!name) {
    if (!p.uri && isKnownUserAttribute(p.attr)) {
      throw new ScimProtocolError('invalidPath', `"${p.attr}" is not multi-valued: a [filter] does not apply`);
    }
    return; // roles[primary eq "True"].value and other attributes Gatehouse does not keep
  }
  const list = Array.isArray(doc[name]) ? (doc[name] as Doc[]).map((e) => ({ ...e })) : [];
  const sub = p.sub ? canonicalSub(name, p.sub) : undefined;
  const matches = list.filter((e) => matchElement(p.filter!, e));
  if (op.op === 'remove') {
    doc[name] = sub && sub !== 'value' ? list.map((e) => (matches.includes(e) ? withoutKey(e, sub) : e)) : list.filter((e) => !matches.includes(e));
    return;
  }
  const patchOf = (): Doc => {
    if (sub) return { [sub]: op.value };
    if (!isObject(op.value)) throw new ScimProtocolError('invalidValue', `${op.op} of "${p.attr}[…]" needs an object value`);
    return (canonicalUser({ [name]: [op.value] })[name] as Doc[])[0]!;
  };
  if (matches.length === 0) {
    const seed = seedOf(p.filter!);
    if (!seed) throw new ScimProtocolError('noTarget', `No ${p.attr} entry matches the filter of the path`);
    list.push({ ...(canonicalUser({ [name]: [seed] })[name] as Doc[])[0], ...patchOf() });
  } else {
    const patch = patchOf();
    for (const e of matches) Object.assign(e, patch);
  }
  doc[name] = list;
}

function withoutKey(e: Doc, key: string): Doc {
  const { [key]: _gone, ...rest } = e;
  return rest;
}

function canonicalSub(name: string, sub: string): string {
  const probe = canonicalUser({ [name]: [{ [sub]: true }] })[name] as Doc[];
  const key = Object.keys(probe[0] ?? {})[0];
  if (!key) throw new ScimProtocolError('invalidPath', `Unknown sub-attribute "${name}.${sub}"`);
  return key;
}

/** For a filter made only of `eq`s joined by `and`, the entry it describes (to create it). */
function seedOf(f: FilterNode): Doc | undefined {
  if (f.type === 'compare' && f.op === 'eq' && !f.path.sub && !f.path.uri) return { [f.path.attr]: f.value };
  if (f.type === 'and') {
    const l = seedOf(f.left);
    const r = seedOf(f.right);
    return l && r ? { ...l, ...r } : undefined;
  }
  return undefined;
}

/** Evaluates a value filter against one element of a multi-valued attribute of one resource. */
export function matchElement(f: FilterNode, e: Doc): boolean {
  switch (f.type) {
    case 'and':
      return matchElement(f.left, e) && matchElement(f.right, e);
    case 'or':
      return matchElement(f.left, e) || matchElement(f.right, e);
    case 'not':
      return !matchElement(f.filter, e);
    case 'valuePath':
      throw new ScimProtocolError('invalidPath', 'A value filter cannot contain another [...]');
    case 'present': {
      const v = field(e, f.path.attr);
      return v !== undefined && v !== null && v !== '';
    }
    case 'compare':
      return compare(field(e, f.path.attr), f.op, f.value);
  }
}

function field(e: Doc, name: string): unknown {
  const key = Object.keys(e).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : e[key];
}

function compare(actual: unknown, op: string, expected: FilterValue): boolean {
  if (expected === null) return op === 'eq' ? actual == null : op === 'ne' ? actual != null : false;
  if (actual === undefined || actual === null) return op === 'ne';
  if (typeof expected === 'boolean' || typeof actual === 'boolean') {
    const a = typeof actual === 'string' ? actual.toLowerCase() === 'true' : Boolean(actual);
    const b = typeof expected === 'string' ? expected.toLowerCase() === 'true' : Boolean(expected);
    return op === 'eq' ? a === b : op === 'ne' ? a !== b : false;
  }
  const a = String(actual).toLowerCase();
  const b = String(expected).toLowerCase();
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return false;
  }
}

// ---- groups -------------------------------------------------------------------

/** Folds the operations into one net group change (later operations win). */
export function groupChangeFromPatch(ops: readonly PatchOperation[]): GroupChange {
  let displayName: string | undefined;
  let externalId: string | null | undefined;
  let replace: Set<string> | undefined;
  const add = new Set<string>();
  const remove = new Set<string>();
  const addIds = (ids: string[]) => {
    for (const raw of ids) {
      const id = raw.toLowerCase();
      remove.delete(id);
      if (replace) replace.add(id);
      else add.add(id);
    }
  };
  const removeIds = (ids: string[]) => {
    for (const raw of ids) {
      const id = raw.toLowerCase();
      add.delete(id);
      if (replace) replace.delete(id);
      else remove.add(id);
    }
  };
  const setAttr = (key: string, value: unknown, op: PatchOpName) => {
    const k = key.toLowerCase();
    if (k === 'displayname') {
      if (op === 'remove') throw new ScimProtocolError('invalidValue', 'displayName is required and cannot be removed');
      if (typeof value !== 'string') throw new ScimProtocolError('invalidValue', 'displayName must be a string');
      displayName = value;
    } else if (k === 'externalid') {
      if (op === 'remove' || value === null) externalId = null;
      else if (typeof value !== 'string') throw new ScimProtocolError('invalidValue', 'externalId must be a string');
      else externalId = value;
    } else if (k === 'members') {
      if (op === 'add') addIds(memberRefs(value));
      else if (op === 'remove') {
        if (value === undefined || value === null) {
          replace = new Set();
          add.clear();
          remove.clear();
        } else removeIds(memberRefs(value));
      } else {
        replace = new Set(memberRefs(value).map((id) => id.toLowerCase()));
        add.clear();
        remove.clear();
      }
    }
    // Other attributes (e.g. Entra's ADSCIM extras) are not kept: ignored.
  };

  for (const op of ops) {
    const p = op.path;
    if (!p) {
      if (!isObject(op.value)) throw new ScimProtocolError('invalidValue', `A path-less ${op.op} needs an object value`);
      for (const [k, v] of Object.entries(op.value)) setAttr(k.replace(/^urn:ietf:params:scim:schemas:core:2\.0:group:/i, ''), v, op.op);
      continue;
    }
    if (p.uri && p.uri.toLowerCase() !== CORE_GROUP_URN.toLowerCase()) continue;
    if (p.attr.toLowerCase() === 'members' && p.filter) {
      if (op.op !== 'remove' || p.sub) throw new ScimProtocolError('invalidPath', 'Only remove applies to members[...]; add members with path "members"');
      removeIds(idsOf(p.filter));
      continue;
    }
    if (p.sub || p.filter) throw new ScimProtocolError('invalidPath', `Invalid path "${op.pathText}" for a Group`);
    setAttr(p.attr, op.value, op.op);
  }
  return {
    displayName,
    externalId,
    replaceMembers: replace && [...replace],
    addMembers: [...add],
    removeMembers: [...remove],
  };
}

/** `members[value eq "a" or value eq "b"]` → [a, b]. */
function idsOf(f: FilterNode): string[] {
  if (f.type === 'or') return [...idsOf(f.left), ...idsOf(f.right)];
  if (f.type === 'compare' && f.op === 'eq' && f.path.attr.toLowerCase() === 'value' && typeof f.value === 'string') return [f.value];
  throw new ScimProtocolError('invalidPath', 'members[...] supports value eq "<id>" (joined with or)');
}
