// The audit trail's statements. An audit row is written on its own or as a
// CTE of the statement that makes the change, so the change and its event
// commit together in one round trip.
import { actorId, type Actor } from '../actor.js';
import type { Sql, SqlParam } from '../db.js';
import { SqlParams } from '../sql-params.js';
import { toDate } from '../rows.js';
import type { AuditEntry, AuditEvent, AuditFilter } from './audit.service.js';
import { currentOrigin } from '../origin.js';

const MAX_DETAIL_CHARS = 16_000;

/** Parameters of an audit row (auditValues), taken by auditInsertSql from its `first`. */
export const AUDIT_PARAMS = 13;
/** Which of them is the detail (cast to jsonb). */
const DETAIL_PARAM = 10;

const AUDIT_SQL = new Map<string, string>();

/**
 * The audit INSERT, its parameters numbered from `first` (built once per
 * shape: the same string on every call of a hot path). With `from` (the name
 * of a CTE of the statement it is part of), the row is written only if `from`
 * has a row: the audit event of a conditional change.
 */
export function auditInsertSql(from: string | undefined, first = 1): string {
  const key = `${from ?? ''}:${first}`;
  let sql = AUDIT_SQL.get(key);
  if (!sql) {
    const values = Array.from({ length: AUDIT_PARAMS }, (_, i) => `$${first + i}${i === DETAIL_PARAM ? '::jsonb' : ''}`).join(', ');
    sql = `insert into audit_events (organization_id, actor_kind, actor_id, actor_label, action, outcome, resource_type, resource_id, resource_label, reason, detail,
       request_id, client_address)
     ${from ? `select ${values} from ${from}` : `values (${values})`}`;
    AUDIT_SQL.set(key, sql);
  }
  return sql;
}

/** The detail as stored: JSON, cut to a preview when it is very long. */
export function auditDetail(detail: Record<string, unknown> | undefined): string {
  const json = JSON.stringify(detail ?? {});
  return json.length > MAX_DETAIL_CHARS ? JSON.stringify({ truncated: true, preview: json.slice(0, 2000) }) : json;
}

/** The parameters of auditInsertSql, in order: the event, then the request it came from (see origin.ts). */
export function auditValues(actor: Actor, entry: AuditEntry): SqlParam[] {
  const origin = currentOrigin();
  return [
    actor.organizationId,
    actor.kind,
    actorId(actor),
    actor.label,
    entry.action,
    entry.outcome ?? 'success',
    entry.resourceType ?? null,
    entry.resourceId ?? null,
    entry.resourceLabel ?? null,
    entry.reason ?? null,
    auditDetail(entry.detail),
    origin.requestId,
    origin.clientAddress,
  ];
}

export async function insertAudit(sql: Sql, actor: Actor, entry: AuditEntry): Promise<void> {
  await sql.run(auditInsertSql(undefined), auditValues(actor, entry));
}

/** One successful event of a batch (insertAuditBatch). */
export interface BatchAuditEntry {
  readonly action: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly resourceLabel: string;
  readonly detail: Record<string, unknown>;
}

/** Audit rows of many resources, one actor, in one statement (in the order given). */
export async function insertAuditBatch(sql: Sql, actor: Actor, rows: readonly BatchAuditEntry[]): Promise<void> {
  if (rows.length === 0) return;
  const origin = currentOrigin();
  await sql.run(
    `insert into audit_events (organization_id, actor_kind, actor_id, actor_label, action, outcome, resource_type, resource_id, resource_label, detail, request_id, client_address)
     select $1, $2, $3, $4, a.action, 'success', a.rtype, a.rid, a.label, a.detail::jsonb, $10, $11
     from unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) with ordinality as a(action, rtype, rid, label, detail, n) order by a.n`,
    [
      actor.organizationId,
      actor.kind,
      actorId(actor),
      actor.label,
      rows.map((r) => r.action),
      rows.map((r) => r.resourceType),
      rows.map((r) => r.resourceId),
      rows.map((r) => r.resourceLabel),
      rows.map((r) => JSON.stringify(r.detail)),
      origin.requestId,
      origin.clientAddress,
    ],
  );
}

export interface AuditRow {
  id: string;
  at: string;
  actor_kind: string;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  outcome: 'success' | 'failure';
  resource_type: string | null;
  resource_id: string | null;
  resource_label: string | null;
  reason: string | null;
  detail: Record<string, unknown>;
}

export function toAuditEvent(r: AuditRow): AuditEvent {
  return {
    id: r.id,
    at: toDate(r.at),
    actorKind: r.actor_kind,
    actorId: r.actor_id,
    actorLabel: r.actor_label,
    action: r.action,
    outcome: r.outcome,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    resourceLabel: r.resource_label,
    reason: r.reason,
    detail: r.detail,
  };
}

/**
 * Admin activity: what console admins did, the operator's admin links, and
 * every settings change (SCIM token, SAML, API keys, webhooks, the group
 * import, mail, the guard) whoever made it (the CLI, an admin API key).
 */
const ADMIN_ACTIVITY = `(actor_kind = 'admin' or action like 'admin.%'
  or (actor_kind not in ('scim', 'member', 'import') and (
    action in ('scim.enable', 'scim.disable', 'scim.token.rotate', 'scim.token.revoke_previous', 'mail.settings', 'guard.settings', 'import.create', 'import.delete', 'import.secret')
    or action like 'apikey.%' or action like 'webhook.endpoint.%'
    or (action like 'saml.%' and action not in ('saml.login', 'saml.test')))))`;

function auditWhere(p: SqlParams, organizationId: string, filter: AuditFilter, paging: boolean): string {
  const org = p.add(organizationId);
  const where = [`organization_id = ${org}`];
  if (filter.actionPrefix) where.push(`action like ${p.add(filter.actionPrefix.replace(/[\\%_]/g, '\\$&') + '%')} escape '\\'`);
  if (filter.provisioning) where.push(`(action like 'scim.%' or actor_kind = 'scim')`);
  if (filter.adminActivity) where.push(ADMIN_ACTIVITY);
  if (filter.outcome) where.push(`outcome = ${p.add(filter.outcome)}`);
  if (filter.resourceId) where.push(`resource_id = ${p.add(filter.resourceId)}`);
  if (filter.memberId) {
    const id = p.add(filter.memberId);
    // What happened to the member (provisioning, sign-ins, admin role) and the group and share changes that name it.
    where.push(`(resource_id = ${id} or (resource_type in ('group', 'share') and detail::text like '%' || ${id} || '%'))`);
  }
  if (filter.resourceLabel) where.push(`lower(resource_label) = lower(${p.add(filter.resourceLabel)})`);
  if (filter.search) {
    const like = p.add(`%${filter.search.trim().replace(/[\\%_]/g, '\\$&')}%`);
    // The members and groups the text names (by userName, display name or group name), at most 50 of them.
    where.push(`(resource_label ilike ${like} escape '\\' or actor_label ilike ${like} escape '\\' or exists (
      select 1 from (
        (select m.id::text as id from members m where m.organization_id = ${org}
           and (m.user_name ilike ${like} escape '\\' or m.display_name ilike ${like} escape '\\') limit 50)
        union all
        (select g.id::text from groups g where g.organization_id = ${org} and g.display_name ilike ${like} escape '\\' limit 50)
      ) named where audit_events.resource_id = named.id or audit_events.detail::text like '%' || named.id || '%'))`);
  }
  if (filter.since) where.push(`at >= ${p.add(filter.since)}`);
  if (filter.until) where.push(`at < ${p.add(filter.until)}`);
  if (paging && filter.before !== undefined) where.push(`id < ${p.add(filter.before)}`);
  return where.join(' and ');
}

/** Events of one organisation matching `filter`, newest first (`before`: an id already checked to be a bigint). */
export async function selectAuditEvents(sql: Sql, organizationId: string, filter: AuditFilter, limit: number): Promise<AuditEvent[]> {
  const p = new SqlParams();
  const where = auditWhere(p, organizationId, filter, true);
  const rows = await sql.all<AuditRow>(
    `select id::text, at, actor_kind, actor_id, actor_label, action, outcome, resource_type, resource_id, resource_label, reason, detail
     from audit_events where ${where} order by audit_events.id desc limit ${limit}`,
    p.values,
  );
  return rows.map(toAuditEvent);
}

/** How many events of one organisation match `filter`. */
export async function countAuditEvents(sql: Sql, organizationId: string, filter: AuditFilter): Promise<number> {
  const p = new SqlParams();
  const row = await sql.one<{ n: number }>(`select count(*)::int as n from audit_events where ${auditWhere(p, organizationId, filter, false)}`, p.values);
  return row.n;
}

/** Deletes up to `limit` audit events older than `days` (the oldest rows lie first in the table, so each batch finds them early). */
export async function deleteOlderThan(sql: Sql, days: number, limit: number): Promise<number> {
  return sql.run(
    `delete from audit_events where ctid = any(array(select ctid from audit_events where at < now() - make_interval(days => $1) limit ${limit}))`,
    [days],
  );
}
