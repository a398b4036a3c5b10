// Rejection recording: every refused SCIM request is a row of the audit trail
// (the provisioning log an admin reads beside Entra's), with what was sent,
// cut to size.
import type { Domain } from '../domain/index.js';
import type { ScimErrorResponse } from './errors.js';
import type { PatchOperation } from './patch.js';
import { isObject } from './schemas.js';
import type { Call, Resource } from './transport.js';

/** Records a refused request in the provisioning log; never fails the answer. */
export async function recordRejection(domain: Domain, call: Call, resource: Resource, action: string, err: ScimErrorResponse): Promise<void> {
  const actor = call.actor;
  if (!actor) return;
  if (call.req.method === 'GET' && err.status === 404) return; // lookups of unknown ids are Entra's normal probing
  const body = call.body;
  let label: string | null = null;
  if (isObject(body)) {
    const key = Object.keys(body).find((k) => k.toLowerCase() === (resource === 'user' ? 'username' : 'displayname'));
    if (key && typeof body[key] === 'string') label = body[key];
  }
  const id = call.id ?? null;
  if (!label && id) {
    try {
      label = resource === 'user' ? (await domain.members.get(actor, id)).userName : (await domain.groups.get(actor, id)).displayName;
    } catch {
      // unknown id: no label
    }
  }
  try {
    await domain.audit.recordFailure(actor, {
      action,
      resourceType: resource === 'user' ? 'member' : 'group',
      resourceId: id,
      resourceLabel: label,
      reason: `${err.body.status}${err.body.scimType ? ` ${err.body.scimType}` : ''}: ${err.body.detail}`,
      detail: { method: call.req.method, path: (call.req.url ?? '').slice(0, 500), request: summarise(body) },
    });
  } catch (e) {
    call.scope.log.warn({ err: e }, 'could not record a rejected SCIM request');
  }
}

/** What was sent, for the audit trail: long member lists are cut to their first entries. */
export function summarise(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 50 ? { first: v.slice(0, 50), count: v.length } : v;
  if (!isObject(v)) return v;
  // Copied only where something was cut: a usual body is logged as it came.
  let out: Record<string, unknown> | undefined;
  for (const [k, val] of Object.entries(v)) {
    const cut = summarise(val);
    if (cut !== val) (out ??= { ...v })[k] = cut;
  }
  return out ?? v;
}

/** PATCH operations for the audit trail: at most 100, values cut as above. */
export function summariseOps(ops: readonly PatchOperation[]): unknown {
  return ops.slice(0, 100).map((o) => ({ op: o.op, ...(o.pathText ? { path: o.pathText } : {}), ...(o.value !== undefined ? { value: summarise(o.value) } : {}) }));
}
