// The mass-deprovision guard (README, Mass-deprovision guard), modelled on Entra's "accidental
// deletions prevention": when one automated source (SCIM, the group import)
// would revoke access for more than a threshold of an organisation's active
// members within a sliding window, the excess is held. The decision is made in
// the statement that would revoke (member.sql.ts, gatehouse_guard_admit); this
// service holds the settings and lets an admin approve (every held change
// applied in one transaction, audited with who) or discard.
import { requireAdmin, requireDirectoryReader, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { Invalid } from '../errors.js';
import { writeAudit } from '../audit/audit.service.js';
import { insertAuditBatch } from '../audit/audit.sql.js';
import { isUuid } from '../ids.js';
import * as guardSql from './guard.sql.js';
import { DEFAULT_GUARD_SETTINGS, type GuardDecision, type GuardSettings, type HeldChange, type HeldSource } from './guard.model.js';

const LIMITS = { thresholdPercent: [1, 100], minCount: [1, 1_000_000], windowMinutes: [1, 10_080] } as const;

export class GuardService {
  constructor(private readonly db: Db) {}

  async settings(actor: Actor): Promise<GuardSettings> {
    requireDirectoryReader(actor);
    return (await guardSql.selectSettings(this.db.sql, actor.organizationId)) ?? DEFAULT_GUARD_SETTINGS;
  }

  async updateSettings(actor: Actor, change: Partial<GuardSettings>): Promise<GuardSettings> {
    requireAdmin(actor);
    return this.db.transaction(async (tx) => {
      const before = (await guardSql.selectSettings(tx, actor.organizationId)) ?? DEFAULT_GUARD_SETTINGS;
      const next: GuardSettings = { ...before, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) };
      if (typeof next.enabled !== 'boolean') throw new Invalid('invalid_guard_setting', 'enabled must be true or false', 'enabled');
      for (const [field, [min, max]] of Object.entries(LIMITS) as [keyof typeof LIMITS, readonly [number, number]][]) {
        const v = next[field];
        if (!Number.isInteger(v) || v < min || v > max) throw new Invalid('invalid_guard_setting', `${field} must be a whole number from ${min} to ${max}`, field);
      }
      await guardSql.updateSettings(tx, actor.organizationId, next);
      await writeAudit(tx, actor, { action: 'guard.settings', resourceType: 'organization', resourceId: actor.organizationId, detail: { from: before, to: next } });
      return next;
    });
  }

  /** Held changes (newest decisions are kept: status approved/discarded lists history), oldest first. */
  async list(actor: Actor, status: HeldChange['status'] = 'held', limit = 1000): Promise<HeldChange[]> {
    requireDirectoryReader(actor);
    return guardSql.selectHeld(this.db.sql, actor.organizationId, status, Math.min(Math.max(Math.trunc(limit) || 1, 1), 10_000));
  }

  async heldCount(actor: Actor): Promise<number> {
    requireDirectoryReader(actor);
    return guardSql.countHeld(this.db.sql, actor.organizationId);
  }

  /** For the Prometheus gauge: held changes of every organisation, by source. */
  async heldEverywhere(): Promise<{ source: HeldSource; n: number }[]> {
    return guardSql.countHeldEverywhere(this.db.sql);
  }

  /**
   * Applies every held change (or those `ids`) in ONE transaction: members
   * deactivated or deleted, memberships removed, each with its access-feed
   * entry and audit event, the held rows marked approved by this admin.
   */
  async approve(actor: Actor, ids: readonly string[] | null = null): Promise<GuardDecision> {
    requireAdmin(actor);
    checkIds(ids);
    return this.db.transaction(async (tx) => {
      const held = await guardSql.lockHeld(tx, actor.organizationId, ids);
      const org = actor.organizationId;
      let deactivated = 0;
      let deleted = 0;
      let membershipsRemoved = 0;
      for (const source of ['scim', 'import'] as const) {
        const mine = held.filter((h) => h.source === source);
        const removals = mine.filter((h) => h.kind === 'group_remove' && h.groupId !== null).map((h) => ({ groupId: h.groupId!, memberId: h.memberId }));
        membershipsRemoved += await guardSql.removeMemberships(tx, org, removals);
        const off = await guardSql.deactivateMembers(tx, org, mine.filter((h) => h.kind === 'deactivate').map((h) => h.memberId), source);
        deactivated += off.length;
        const gone = await guardSql.deleteMembers(tx, org, mine.filter((h) => h.kind === 'delete').map((h) => h.memberId), source);
        deleted += gone.length;
        const approvedBy = actor.label;
        await insertAuditBatch(tx, actor, [
          ...off.map((m) => ({
            action: 'member.update',
            resourceType: 'member',
            resourceId: m.id,
            resourceLabel: m.userName,
            detail: { changes: { active: { from: true, to: false } }, heldFrom: source, approvedBy },
          })),
          ...gone.map((m) => ({ action: 'member.delete', resourceType: 'member', resourceId: m.id, resourceLabel: m.userName, detail: { heldFrom: source, approvedBy } })),
        ]);
      }
      await guardSql.decide(tx, org, held.map((h) => h.id), 'approved', actor.label);
      await writeAudit(tx, actor, {
        action: 'guard.approve',
        resourceType: 'organization',
        resourceId: org,
        detail: { approved: held.length, deactivated, deleted, membershipsRemoved, by: actor.label, ids: held.slice(0, 200).map((h) => h.id) },
      });
      return { approved: held.length, discarded: 0, deactivated, deleted, membershipsRemoved };
    });
  }

  /** Drops every held change (or those `ids`): nothing is applied; audited with who. */
  async discard(actor: Actor, ids: readonly string[] | null = null): Promise<GuardDecision> {
    requireAdmin(actor);
    checkIds(ids);
    return this.db.transaction(async (tx) => {
      const held = await guardSql.lockHeld(tx, actor.organizationId, ids);
      await guardSql.decide(tx, actor.organizationId, held.map((h) => h.id), 'discarded', actor.label);
      await writeAudit(tx, actor, {
        action: 'guard.discard',
        resourceType: 'organization',
        resourceId: actor.organizationId,
        detail: { discarded: held.length, by: actor.label, ids: held.slice(0, 200).map((h) => h.id) },
      });
      return { approved: 0, discarded: held.length, deactivated: 0, deleted: 0, membershipsRemoved: 0 };
    });
  }
}

/** Held change ids are UUIDs: anything else is bad input (never a database error). */
function checkIds(ids: readonly string[] | null): void {
  if (ids !== null && (!Array.isArray(ids) || ids.length > 10_000 || !ids.every((i) => typeof i === 'string' && isUuid(i)))) {
    throw new Invalid('invalid_value', 'ids must be a list of held change ids', 'ids');
  }
}
