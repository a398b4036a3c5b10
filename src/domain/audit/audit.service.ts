// The audit trail: who did what to which resource, written in the same
// transaction as the change (or, for a refused request, on its own). It is the
// provisioning and login log an admin reads when Entra reports a failure.
import { requireAdmin, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { countAuditEvents, deleteOlderThan as deleteAuditOlderThan, insertAudit, selectAuditEvents } from './audit.sql.js';
import { pageOf, pageSize, type Page } from '../paging.js';
import { exportAuditPage, type ExportPage, type ExportStart } from './audit-export.js';
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';

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

const UUID_IN_TEXT = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * The ids an event names, for showing them by name: its resource and any id in
 * its detail (the members of a membership change, a share's grantee), at most
 * 200, its resource first.
 */
export function idsNamedBy(e: Pick<AuditEvent, 'resourceId' | 'detail'>): string[] {
  const ids = new Set<string>();
  if (e.resourceId) ids.add(e.resourceId.toLowerCase());
  for (const id of JSON.stringify(e.detail ?? {}).match(UUID_IN_TEXT) ?? []) ids.add(id.toLowerCase());
  return [...ids].slice(0, 200);
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
  /**
   * Part of a userName, display name or group name (case-insensitive): events
   * on such a resource, and events whose detail names such a member or group
   * (a membership change lists member ids), so a member's history includes
   * the groups it joined and left.
   */
  readonly search?: string;
  /** Events on this member, and the group and share changes that name it (a member's history). */
  readonly memberId?: string;
  /** Admin activity: what console admins did, the operator's admin links, and settings changes by anyone. */
  readonly adminActivity?: boolean;
  /** From this time (inclusive). */
  readonly since?: Date;
  /** Until this time (exclusive). */
  readonly until?: Date;
  /** Only events with an id below this (paging newest first). */
  readonly before?: string;
  readonly limit?: number;
}

/** How a use case labels its audit event (an edge names its protocol action and what was sent). */
export interface AuditOpts {
  readonly action?: string;
  readonly detail?: Record<string, unknown>;
}

/** Writes an audit event in the caller's transaction (or on its own). */
export async function writeAudit(sql: Sql, actor: Actor, entry: AuditEntry): Promise<void> {
  await insertAudit(sql, actor, entry);
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
    checkFilter(filter);
    return selectAuditEvents(this.db.lagTolerant, actor.organizationId, filter, pageSize(filter.limit, 50, 1, 500, 'limit'));
  }

  /** A page, newest first, and whether older events follow (one statement: limit + 1); an event's cursor is its id, the next page's `before`. */
  async page(actor: Actor, filter: AuditFilter = {}): Promise<Page<AuditEvent>> {
    requireAdmin(actor);
    checkFilter(filter);
    const limit = pageSize(filter.limit, 50, 1, 10_000, 'limit');
    // The console's log lists and GraphQL's auditEvents: a read replica may serve them (read-your-writes holds).
    const rows = await selectAuditEvents(this.db.lagTolerant, actor.organizationId, filter, limit + 1);
    return pageOf(rows, limit, (e) => e, (e) => e.id);
  }

  /** How many events match `filter` (all pages; `before` and `limit` ignored). */
  async count(actor: Actor, filter: AuditFilter = {}): Promise<number> {
    requireAdmin(actor);
    checkFilter(filter);
    return countAuditEvents(this.db.lagTolerant, actor.organizationId, filter);
  }

  /**
   * Retention (a background job, across organisations): deletes audit events
   * older than `days`, in batches so that no statement holds many rows;
   * returns how many went.
   */
  async purgeOlderThan(days: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await deleteAuditOlderThan(this.db.sql, days, 5000);
      total += n;
      if (n < 5000) return total;
    }
  }
}

function checkFilter(filter: AuditFilter): void {
  // An event id: digits within bigint (beyond it PostgreSQL's range error would be a 5xx).
  if (filter.before !== undefined && (!/^\d{1,19}$/.test(filter.before) || BigInt(filter.before) > MAX_BIGINT)) {
    throw new Invalid('invalid_cursor', 'before must be an event id from a previous page', 'before');
  }
  if (filter.memberId !== undefined && !isUuid(filter.memberId)) throw new NotFound('member', String(filter.memberId).slice(0, 100));
  if (filter.search !== undefined && (filter.search.length > 200 || filter.search.includes('\u0000'))) {
    throw new Invalid('too_long', 'Search for at most 200 characters', 'search');
  }
  for (const [field, d] of [['since', filter.since], ['until', filter.until]] as const) {
    if (d !== undefined && Number.isNaN(d.getTime())) throw new Invalid('invalid_date', `${field} is not a date`, field);
  }
}
