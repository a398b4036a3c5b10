// The statements of the mass-deprovision guard: settings, held changes, and
// applying what an admin approves (set-based, whatever the count).
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';
import type { GuardSettings, HeldChange, HeldKind, HeldSource } from './guard.model.js';

interface SettingsRow {
  guard_enabled: boolean;
  guard_threshold_percent: number;
  guard_min_count: number;
  guard_window_minutes: number;
}

export async function selectSettings(sql: Sql, organizationId: string): Promise<GuardSettings | undefined> {
  const r = await sql.maybeOne<SettingsRow>(
    `select guard_enabled, guard_threshold_percent, guard_min_count, guard_window_minutes from organizations where organization_id = $1`,
    [organizationId],
  );
  return r && { enabled: r.guard_enabled, thresholdPercent: r.guard_threshold_percent, minCount: r.guard_min_count, windowMinutes: r.guard_window_minutes };
}

export async function updateSettings(sql: Sql, organizationId: string, s: GuardSettings): Promise<void> {
  await sql.run(
    `update organizations set guard_enabled = $2, guard_threshold_percent = $3, guard_min_count = $4, guard_window_minutes = $5 where organization_id = $1`,
    [organizationId, s.enabled, s.thresholdPercent, s.minCount, s.windowMinutes],
  );
}

/** Whether the guard lets `n` more revocations of `source` through now (see gatehouse_guard_admit). */
export async function admit(sql: Sql, organizationId: string, source: HeldSource, n: number): Promise<boolean> {
  return (await sql.one<{ ok: boolean }>(`select gatehouse_guard_admit($1, $2, $3) as ok`, [organizationId, source, n])).ok;
}

/** Records revocations the guard let through (the sliding window). */
export async function insertRevocations(sql: Sql, organizationId: string, source: HeldSource, memberIds: readonly string[]): Promise<void> {
  if (memberIds.length === 0) return;
  await sql.run(`insert into revocations (organization_id, source, member_id) select $1, $2, m from unnest($3::uuid[]) as m`, [organizationId, source, memberIds]);
}

/** Holds changes; one already held is asked again (repeats + 1), never duplicated. Returns how many were new. */
export async function hold(
  sql: Sql,
  organizationId: string,
  c: { source: HeldSource; actorLabel: string; kind: HeldKind; groupId: string | null; members: readonly { id: string; label: string | null }[] },
): Promise<number> {
  if (c.members.length === 0) return 0;
  const r = await sql.one<{ n: number }>(
    `with ins as (
       insert into held_changes (organization_id, id, source, actor_label, kind, member_id, member_label, group_id)
       select $1, gen_random_uuid(), $2, $3, $4, x.m, x.l, $5::uuid from unnest($6::uuid[], $7::text[]) as x(m, l)
       on conflict (organization_id, kind, member_id, coalesce(group_id, '00000000-0000-0000-0000-000000000000'::uuid)) where status = 'held'
       do update set repeats = held_changes.repeats + 1, last_asked_at = now()
       returning (xmax = 0) as inserted
     ) select count(*) filter (where inserted)::int as n from ins`,
    [organizationId, c.source, c.actorLabel, c.kind, c.groupId, c.members.map((m) => m.id), c.members.map((m) => m.label)],
  );
  return r.n;
}

interface HeldRow {
  id: string;
  source: HeldSource;
  actor_label: string;
  kind: HeldKind;
  member_id: string;
  member_label: string | null;
  group_id: string | null;
  status: HeldChange['status'];
  held_at: string | Date;
  repeats: number;
  last_asked_at: string | Date;
  decided_at: string | Date | null;
  decided_by: string | null;
}

function toHeld(r: HeldRow): HeldChange {
  return {
    id: r.id,
    source: r.source,
    actorLabel: r.actor_label,
    kind: r.kind,
    memberId: r.member_id,
    memberLabel: r.member_label,
    groupId: r.group_id,
    status: r.status,
    heldAt: toDate(r.held_at),
    repeats: r.repeats,
    lastAskedAt: toDate(r.last_asked_at),
    decidedAt: r.decided_at === null ? null : toDate(r.decided_at),
    decidedBy: r.decided_by,
  };
}

const HELD_COLUMNS = 'id, source, actor_label, kind, member_id, member_label, group_id, status, held_at, repeats, last_asked_at, decided_at, decided_by';

export async function selectHeld(sql: Sql, organizationId: string, status: HeldChange['status'], limit: number): Promise<HeldChange[]> {
  const rows = await sql.all<HeldRow>(
    `select ${HELD_COLUMNS} from held_changes where organization_id = $1 and status = $2 order by held_at, id limit ${limit}`,
    [organizationId, status],
  );
  return rows.map(toHeld);
}

export async function countHeld(sql: Sql, organizationId: string): Promise<number> {
  return (await sql.one<{ n: number }>(`select count(*)::int as n from held_changes where organization_id = $1 and status = 'held'`, [organizationId])).n;
}

/** Every organisation's held changes by source (the Prometheus gauge). */
export async function countHeldEverywhere(sql: Sql): Promise<{ source: HeldSource; n: number }[]> {
  return sql.all<{ source: HeldSource; n: number }>(`select source, count(*)::int as n from held_changes where status = 'held' group by source`, []);
}

/** Locks and returns the held changes to decide (all, or those ids), oldest first. */
export async function lockHeld(sql: Sql, organizationId: string, ids: readonly string[] | null): Promise<HeldChange[]> {
  const rows = await sql.all<HeldRow>(
    `select ${HELD_COLUMNS} from held_changes where organization_id = $1 and status = 'held' ${ids ? 'and id = any($2::uuid[])' : ''}
     order by held_at, id for update`,
    ids ? [organizationId, ids] : [organizationId],
  );
  return rows.map(toHeld);
}

export async function decide(sql: Sql, organizationId: string, ids: readonly string[], status: 'approved' | 'discarded', by: string): Promise<void> {
  await sql.run(`update held_changes set status = $3, decided_at = now(), decided_by = $4 where organization_id = $1 and id = any($2::uuid[])`, [
    organizationId,
    ids,
    status,
    by,
  ]);
}

/** Deactivates members still active (by `source`): feed entries and the end of their sessions in the same statement. */
export async function deactivateMembers(sql: Sql, organizationId: string, memberIds: readonly string[], source: HeldSource): Promise<{ id: string; userName: string }[]> {
  if (memberIds.length === 0) return [];
  return sql.all<{ id: string; userName: string }>(
    `with upd as (
       update members set active = false, deactivated_by = $3, version = version + 1, updated_at = now()
       where organization_id = $1 and id = any($2::uuid[]) and active returning id, user_name
     ),
     feed as (insert into access_changes (organization_id, kind, member_id) select $1, 'member_deactivated', id from upd),
     ended as (delete from sessions where organization_id = $1 and member_id in (select id from upd))
     select id, user_name as "userName" from upd`,
    [organizationId, memberIds, source],
  );
}

/** Deletes members (feed entries and tombstones in the same statement). */
export async function deleteMembers(sql: Sql, organizationId: string, memberIds: readonly string[], source: HeldSource): Promise<{ id: string; userName: string }[]> {
  if (memberIds.length === 0) return [];
  return sql.all<{ id: string; userName: string }>(
    `with del as (delete from members where organization_id = $1 and id = any($2::uuid[]) returning id, user_name, emails),
     feed as (insert into access_changes (organization_id, kind, member_id) select $1, 'member_deleted', id from del),
     tomb as (
       insert into member_tombstones (organization_id, user_key, email_keys, member_id, deleted_by)
       select $1, lower(d.user_name), coalesce((select array_agg(lower(e->>'value')) from jsonb_array_elements(d.emails) e where e->>'value' is not null), '{}'), d.id, $3
       from del d
       on conflict (organization_id, user_key) do update set email_keys = excluded.email_keys, member_id = excluded.member_id, deleted_by = excluded.deleted_by, deleted_at = now()
     )
     select id, user_name as "userName" from del`,
    [organizationId, memberIds, source],
  );
}

/** Removes memberships (feed entries, the groups' versions bumped). */
export async function removeMemberships(sql: Sql, organizationId: string, pairs: readonly { groupId: string; memberId: string }[]): Promise<number> {
  if (pairs.length === 0) return 0;
  const r = await sql.one<{ n: number }>(
    `with del as (
       delete from group_members gm using unnest($2::uuid[], $3::uuid[]) as x(g, m)
       where gm.organization_id = $1 and gm.group_id = x.g and gm.member_id = x.m returning gm.group_id, gm.member_id
     ),
     feed as (insert into access_changes (organization_id, kind, group_id, member_id) select $1, 'group_member_removed', group_id, member_id from del),
     bump as (update groups set version = version + 1, updated_at = now() where organization_id = $1 and id in (select group_id from del))
     select count(*)::int as n from del`,
    [organizationId, pairs.map((p) => p.groupId), pairs.map((p) => p.memberId)],
  );
  return r.n;
}
