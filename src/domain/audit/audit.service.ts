// The audit trail: who did what to which resource, written in the same
// transaction as the change (or, for a refused request, on its own). It is the
// provisioning and login log an admin reads when Entra reports a failure.
import { actorId, requireAdmin, type Actor } from '../actor.js';
import type { Db, Sql, SqlParam } from '../db.js';
import { toDate } from '../rows.js';
import { pageSize } from '../paging.js';
import { currentOrigin } from '../origin.js';
import { exportAuditPage, type ExportPage, type ExportStart } from './audit-export.js';
import { Invalid } from '../errors.js';

const MAX_BIGINT = 2n ** 63n - 1n;

export interface AuditEntry {
  readonly action: string;
  readonly outcome?: 'success' | 'failure';
  readonly resourceType?: string;
  readonly resourceId?: string | null;
  readonly resourceLabel?: string | null;
  readonly reason?: string | null;
  /** What was sent and what changed; never secrets. */
  readonly detail?: Record<string, unknown>;
}

export interface AuditEvent {
  readonly id: string;
  readonly at: Date;
  readonly actorKind: string;
  readonly actorId: string | null;
  readonly actorLabel: string | null;
  readonly action: string;
  readonly outcome: 'success' | 'failure';
  readonly resourceType: string | null;
  readonly resourceId: string | null;
  readonly resourceLabel: string | null;
  readonly reason: string | null;
  readonly detail: Record<string, unknown>;
}

export interface AuditFilter {
  /** Action prefix, e.g. `scim.` or `saml.login`. */
  readonly actionPrefix?: string;
  /** The provisioning log: SCIM settings changes (`scim.*`) and everything the SCIM client did. */
  readonly provisioning?: boolean;
  readonly outcome?: 'success' | 'failure';
  readonly resourceId?: string;
  /** Matches the resource label case-insensitively (a userName). */
  readonly resourceLabel?: string;
  /** Only events with an id below this (paging newest first). */
  readonly before?: string;
  readonly limit?: number;
}

const MAX_DETAIL_CHARS = 16_000;

/** The audit INSERT's text, built once per source (the same string on every call of a hot path). */
const AUDIT_SQL = new Map<string, string>();
export function auditInsertSql(from: string | undefined): string {
  let sql = AUDIT_SQL.get(from ?? '');
  if (!sql) {
    const values = '?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?';
    sql = `insert into audit_events (organization_id, actor_kind, actor_id, actor_label, action, outcome, resource_type, resource_id, resource_label, reason, detail, request_id, client_address)
     ${from ? `select ${values} from ${from}` : `values (${values})`}`;
    AUDIT_SQL.set(from ?? '', sql);
  }
  return sql;
}

export async function writeAudit(sql: Sql, actor: Actor, entry: AuditEntry): Promise<void> {
  const insert = auditInsert(actor, entry);
  await sql.run(insert.sql, insert.params);
}

/**
 * The audit row as one INSERT statement, to run on its own (writeAudit) or as a
 * CTE of the statement that makes the change: the change and its audit event
 * then commit together in a single round trip. With `from` (the name of a CTE
 * of that statement), the row is written only if `from` has a row: the audit
 * event of a conditional change (an update that may find nothing to update).
 */
export function auditInsert(actor: Actor, entry: AuditEntry, from?: string): { sql: string; params: SqlParam[] } {
  let detail = JSON.stringify(entry.detail ?? {});
  if (detail.length > MAX_DETAIL_CHARS) detail = JSON.stringify({ truncated: true, preview: detail.slice(0, 2000) });
  const origin = currentOrigin();
  return {
    sql: auditInsertSql(from),
    params: [
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
      detail,
      origin.requestId,
      origin.clientAddress,
    ],
  };
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

export class AuditService {
  constructor(private readonly db: Db) {}

  /** Records a refused request on its own (the refused change itself rolled back). */
  async recordFailure(actor: Actor, entry: AuditEntry): Promise<void> {
    await writeAudit(this.db.sql, actor, { ...entry, outcome: 'failure' });
  }

  /** One page of the audit export (commit order, resumable cursor): see audit-export.ts. */
  async exportPage(actor: Actor, start: ExportStart, first?: number): Promise<ExportPage> {
    return exportAuditPage(this.db, actor, start, first);
  }

  async list(actor: Actor, filter: AuditFilter = {}): Promise<AuditEvent[]> {
    requireAdmin(actor);
    const where: string[] = ['organization_id = ?'];
    const params: (string | number)[] = [actor.organizationId];
    if (filter.actionPrefix) {
      where.push(`action like ? escape '\\'`);
      params.push(filter.actionPrefix.replace(/[\\%_]/g, '\\$&') + '%');
    }
    if (filter.provisioning) where.push(`(action like 'scim.%' or actor_kind = 'scim')`);
    if (filter.outcome) {
      where.push('outcome = ?');
      params.push(filter.outcome);
    }
    if (filter.resourceId) {
      where.push('resource_id = ?');
      params.push(filter.resourceId);
    }
    if (filter.resourceLabel) {
      where.push('lower(resource_label) = lower(?)');
      params.push(filter.resourceLabel);
    }
    if (filter.before !== undefined) {
      // An event id: digits within bigint (beyond it PostgreSQL's range error would be a 5xx).
      if (!/^\d{1,19}$/.test(filter.before) || BigInt(filter.before) > MAX_BIGINT) {
        throw new Invalid('invalid_cursor', 'before must be an event id from a previous page', 'before');
      }
      where.push('id < ?');
      params.push(filter.before);
    }
    const limit = pageSize(filter.limit, 50, 1, 500, 'limit');
    const rows = await this.db.sql.all<AuditRow>(
      `select id::text, at, actor_kind, actor_id, actor_label, action, outcome, resource_type, resource_id, resource_label, reason, detail
       from audit_events where ${where.join(' and ')} order by audit_events.id desc limit ${limit}`,
      params,
    );
    return rows.map(toAuditEvent);
  }
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
