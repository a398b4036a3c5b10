// One sync of an integration, set-based: three reads plan it, then each batch
// of changed users is one transaction of a handful of statements (unnest
// arrays), whatever the batch size. Nothing is written for a user whose
// member, link and membership already match (compare before writing), so a
// resync without change opens no transaction at all.
import crypto from 'node:crypto';
import { actorId, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { DomainError } from '../errors.js';
import { memberDataFrom, validateMemberData, type MemberSource, type MultiValue } from '../member/member.model.js';
import type { EntraUser, ImportIdentifier, ImportProgress } from './import.model.js';
import { currentOrigin } from '../origin.js';
import { memberAddressSql } from '../mail/mail.service.js';
import * as guardSql from '../guard/guard.sql.js';
import { membershipDetail } from '../group/group.model.js';

export interface SyncCounts {
  total: number;
  added: number;
  created: number;
  updated: number;
  removed: number;
  skipped: number;
  /** Removals the mass-deprovision guard held. */
  held?: number;
}

/** The fields an import keeps on the members it created. */
interface Profile {
  readonly userName: string;
  readonly displayName: string | null;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly emails: readonly MultiValue[];
  readonly active: boolean;
}

interface PlanItem {
  readonly entraId: string;
  profile: Profile;
  /** Existing member; null: create one (with `newId`). */
  memberId: string | null;
  readonly newId: string;
  /** The link entraId → member is to be written. */
  readonly link: boolean;
  /** The member is linked under another (stale) Entra id of this integration. */
  readonly relink: boolean;
  /** Changed fields of an import-created member. */
  changes: Record<string, { from: unknown; to: unknown }> | null;
  activeChanged: boolean;
  readonly addToGroup: boolean;
}

export interface SyncPlan {
  readonly organizationId: string;
  readonly integrationId: string;
  readonly items: PlanItem[];
  /** Members of the integration's group no longer in the Entra group: only their membership goes. */
  readonly removeMemberIds: string[];
  readonly skipped: number;
}

interface MemberState {
  id: string;
  user_name: string;
  display_name: string | null;
  given_name: string | null;
  family_name: string | null;
  emails: MultiValue[];
  active: boolean;
  source: MemberSource;
  deactivated_by: MemberSource | null;
}

const STATE_COLUMNS = 'm.id, m.user_name, m.display_name, m.given_name, m.family_name, m.emails, m.active, m.source, m.deactivated_by';

function clean(v: string | null | undefined): string | null {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t.length === 0 ? null : t;
}

function profileOf(u: EntraUser, identifier: ImportIdentifier): Profile | null {
  // The import's product rule: the chosen attribute (UPN by default, or Mail) holds the user's email address.
  const key = clean(identifier === 'upn' ? u.userPrincipalName : u.mail);
  if (key === null) return null;
  return {
    userName: key,
    displayName: clean(u.displayName),
    givenName: clean(u.givenName),
    familyName: clean(u.surname),
    emails: [{ value: key, type: 'work', primary: true }],
    active: u.accountEnabled !== false,
  };
}

function sameEmails(a: readonly MultiValue[], b: readonly MultiValue[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!;
      return x.value === y.value && (x.type ?? null) === (y.type ?? null) && (x.primary ?? false) === (y.primary ?? false) && (x.display ?? null) === (y.display ?? null);
    })
  );
}

/**
 * The profile the import may write on a member it owns: `active` follows
 * Entra's accountEnabled only while no other source (SCIM, an admin)
 * deactivated the member; such a deactivation stands.
 */
function ownedProfile(m: MemberState, p: Profile): Profile {
  return m.deactivated_by === null || m.deactivated_by === 'import' ? p : { ...p, active: m.active };
}

function diff(m: MemberState, p: Profile): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  if (m.user_name !== p.userName) out.userName = { from: m.user_name, to: p.userName };
  if (m.display_name !== p.displayName) out.displayName = { from: m.display_name, to: p.displayName };
  if (m.given_name !== p.givenName) out['name.givenName'] = { from: m.given_name, to: p.givenName };
  if (m.family_name !== p.familyName) out['name.familyName'] = { from: m.family_name, to: p.familyName };
  if (!sameEmails(m.emails, p.emails)) out.emails = { from: m.emails, to: p.emails };
  if (m.active !== p.active) out.active = { from: m.active, to: p.active };
  return out;
}

/** Reads the current state (three statements) and decides what each user needs. */
export async function planSync(
  sql: Sql,
  ctx: { organizationId: string; integrationId: string; groupId: string; identifier: ImportIdentifier },
  users: readonly EntraUser[],
): Promise<SyncPlan> {
  let skipped = 0;
  const wanted: { user: EntraUser; profile: Profile }[] = [];
  const seenKeys = new Set<string>();
  const seenIds = new Set<string>();
  for (const user of users) {
    const profile = profileOf(user, ctx.identifier);
    const k = profile?.userName.toLowerCase();
    if (!profile || !k || seenKeys.has(k) || seenIds.has(user.id)) {
      skipped++;
      continue;
    }
    try {
      validateMemberData(memberDataFrom({ ...profile, name: { givenName: profile.givenName, familyName: profile.familyName } }));
    } catch (e) {
      if (e instanceof DomainError) {
        skipped++;
        continue;
      }
      throw e;
    }
    seenKeys.add(k);
    seenIds.add(user.id);
    wanted.push({ user, profile });
  }

  const linked = await sql.all<MemberState & { entra_id: string }>(
    `select l.entra_id, ${STATE_COLUMNS} from import_links l join members m on m.organization_id = l.organization_id and m.id = l.member_id
     where l.organization_id = $1 and l.integration_id = $2`,
    [ctx.organizationId, ctx.integrationId],
  );
  const byEntraId = new Map(linked.map((r) => [r.entra_id, r]));
  const linkOfMember = new Map(linked.map((r) => [r.id, r.entra_id]));
  const inGroup = new Set(
    (await sql.all<{ member_id: string }>(`select member_id from group_members where organization_id = $1 and group_id = $2`, [ctx.organizationId, ctx.groupId])).map(
      (r) => r.member_id,
    ),
  );

  const unlinkedKeys = wanted.filter((w) => !byEntraId.has(w.user.id)).map((w) => w.profile.userName.toLowerCase());
  const byKey = new Map<string, MemberState>();
  if (unlinkedKeys.length > 0) {
    const candidates = await sql.all<MemberState>(
      ctx.identifier === 'upn'
        ? `select ${STATE_COLUMNS} from members m where m.organization_id = $1 and lower(m.user_name) = any($2::text[])`
        : `select ${STATE_COLUMNS} from members m where m.organization_id = $1 and (lower(m.user_name) = any($2::text[])
             or exists (select 1 from jsonb_array_elements(m.emails) e where lower(e->>'value') = any($2::text[])))`,
      [ctx.organizationId, unlinkedKeys],
    );
    // A userName match wins over an email match (Mail: "email / userName").
    for (const c of candidates) for (const e of c.emails) if (typeof e?.value === 'string' && !byKey.has(e.value.toLowerCase())) byKey.set(e.value.toLowerCase(), c);
    for (const c of candidates) byKey.set(c.user_name.toLowerCase(), c);
  }

  const items: PlanItem[] = [];
  const used = new Set<string>();
  // Linked users first, so a member keeps the Entra user it was imported for.
  const ordered = [...wanted.filter((w) => byEntraId.has(w.user.id)), ...wanted.filter((w) => !byEntraId.has(w.user.id))];
  for (const { user, profile } of ordered) {
    const viaLink = byEntraId.get(user.id);
    const member = viaLink ?? byKey.get(profile.userName.toLowerCase());
    if (member && used.has(member.id)) {
      skipped++;
      continue;
    }
    if (member) used.add(member.id);
    const owned = member && member.source === 'import' ? ownedProfile(member, profile) : profile;
    const changes = member && member.source === 'import' ? diff(member, owned) : null;
    items.push({
      entraId: user.id,
      profile: owned,
      memberId: member?.id ?? null,
      newId: crypto.randomUUID(),
      link: !viaLink,
      relink: !viaLink && member !== undefined && linkOfMember.has(member.id),
      changes: changes && Object.keys(changes).length > 0 ? changes : null,
      activeChanged: changes?.active !== undefined,
      addToGroup: !member || !inGroup.has(member.id),
    });
  }
  // A new userName (UPN or mail changed in Entra) taken by another member: leave that profile as it is (skipped), keep the membership.
  const renames = items.filter((i) => i.changes?.userName && i.memberId !== null);
  if (renames.length > 0) {
    const taken = await sql.all<{ id: string; k: string }>(`select id, lower(user_name) as k from members where organization_id = $1 and lower(user_name) = any($2::text[])`, [
      ctx.organizationId,
      renames.map((i) => i.profile.userName.toLowerCase()),
    ]);
    const owner = new Map(taken.map((r) => [r.k, r.id]));
    for (const i of renames) {
      const o = owner.get(i.profile.userName.toLowerCase());
      if (o !== undefined && o !== i.memberId) {
        i.changes = null;
        i.activeChanged = false;
        skipped++;
      }
    }
  }
  // A person SCIM or an admin deleted is not created again: the deletion stands.
  const creates = items.filter((i) => i.memberId === null);
  if (creates.length > 0) {
    const keys = creates.map((i) => i.profile.userName.toLowerCase());
    const gone = await sql.all<{ user_key: string; email_keys: string[] }>(
      `select user_key, email_keys from member_tombstones where organization_id = $1 and (user_key = any($2::text[]) or email_keys && $2::text[])`,
      [ctx.organizationId, keys],
    );
    if (gone.length > 0) {
      const dead = new Set(gone.flatMap((g) => [g.user_key, ...g.email_keys]));
      for (let k = items.length - 1; k >= 0; k--) {
        if (items[k]!.memberId === null && dead.has(items[k]!.profile.userName.toLowerCase())) {
          items.splice(k, 1);
          skipped++;
        }
      }
    }
  }
  const removeMemberIds = [...inGroup].filter((id) => !used.has(id));
  return { organizationId: ctx.organizationId, integrationId: ctx.integrationId, items, removeMemberIds, skipped };
}

/**
 * Passes this batch's deactivations (accountEnabled false on an active member
 * the import owns the `active` of) through the mass-deprovision guard one by
 * one: those admitted are counted in the sliding window, the excess is held
 * (kind deactivate, source import) and the item keeps the member active.
 */
async function holdExcessDeactivations(tx: Sql, actor: Actor, org: string, items: PlanItem[], counts: SyncCounts): Promise<void> {
  const offs = items.filter((i) => i.activeChanged && !i.profile.active && i.memberId !== null);
  if (offs.length === 0) return;
  // Re-read under lock: only a member still active whose deactivation is the import's to make revokes anything.
  const live = await tx.all<{ id: string; user_name: string }>(
    `select id, user_name from members where organization_id = $1 and id = any($2::uuid[]) and active and source = 'import'
       and coalesce(deactivated_by, 'import') = 'import' order by id for update`,
    [org, offs.map((i) => i.memberId)],
  );
  const revoking = new Set(live.map((r) => r.id));
  const admitted: string[] = [];
  const held: { id: string; label: string }[] = [];
  for (const i of offs) {
    if (!revoking.has(i.memberId!)) continue;
    if (await guardSql.admit(tx, org, 'import', 1)) {
      admitted.push(i.memberId!);
      // Counted at once: the next admit in this transaction sees it.
      await guardSql.insertRevocations(tx, org, 'import', [i.memberId!]);
    } else {
      held.push({ id: i.memberId!, label: i.profile.userName });
      i.profile = { ...i.profile, active: true };
      i.activeChanged = false;
      const { active: _kept, ...rest } = i.changes ?? {};
      i.changes = Object.keys(rest).length > 0 ? rest : null;
    }
  }
  if (held.length === 0) return;
  // One audit row per member, as a held SCIM deactivation writes (the provisioning log, the deprovision.held event).
  const rows: AuditRow[] = [];
  for (const h of held) {
    const fresh = await guardSql.hold(tx, org, { source: 'import', actorLabel: actor.label, kind: 'deactivate', groupId: null, members: [h] });
    rows.push({
      action: 'guard.hold.deactivate',
      resourceType: 'member',
      resourceId: h.id,
      label: h.label,
      detail: { repeated: fresh === 0, reason: 'mass-deprovision guard: held for an administrator to approve or discard' },
    });
  }
  await insertAudit(tx, actor, rows);
  counts.held = (counts.held ?? 0) + held.length;
}

function isChange(i: PlanItem): boolean {
  return i.memberId === null || i.link || i.changes !== null || i.addToGroup;
}

interface AuditRow {
  action: string;
  resourceType: string;
  resourceId: string;
  label: string;
  detail: Record<string, unknown>;
}

/** The "access has been shared with you" mail of each member the batch added to the group, in the batch's statement (the outbox). */
const INVITATION_CTE = `, mail as (insert into mail_outbox (organization_id, id, to_address, member_id, template, data)
    select $1, gen_random_uuid(), a.address, m.id, 'access_shared', $4::jsonb
    from ins join members m on m.organization_id = $1 and m.id = ins.member_id
    cross join lateral (select ${memberAddressSql('m')} as address) a where a.address is not null)`;

/** Writes the plan: one transaction per batch of changed users, then one for the removals. */
export async function applySync(
  db: Db,
  actor: Actor,
  plan: SyncPlan,
  opts: {
    batchSize: number;
    groupId: string;
    counts: SyncCounts;
    renewLease: (tx: Sql) => Promise<void>;
    onProgress?: (p: ImportProgress) => void;
    /** When the integration shares access: the mail's data (what is shared); each member added gets the mail. */
    invitation?: Record<string, unknown>;
    /** The integration's group grants access (not "import as users only"): its removals pass the mass-deprovision guard. */
    sharesAccess?: boolean;
  },
): Promise<void> {
  const changed = plan.items.filter(isChange);
  const org = plan.organizationId;
  const total = changed.length + plan.removeMemberIds.length;
  let done = 0;
  opts.onProgress?.({ phase: 'writing', done, total });

  for (let start = 0; start < changed.length; start += opts.batchSize) {
    const batch = changed.slice(start, start + opts.batchSize);
    const counts = await db.transaction(async (tx) => {
      await opts.renewLease(tx);
      const audit: AuditRow[] = [];
      let created = 0;

      // 1. New members (source import). A userName taken meanwhile is matched instead.
      const creates = batch.filter((i) => i.memberId === null);
      if (creates.length > 0) {
        const rows = await tx.all<{ id: string }>(
          `insert into members (organization_id, id, source, user_name, display_name, given_name, family_name, emails, active, deactivated_by)
           select $1, u.id, 'import', u.user_name, u.display_name, u.given_name, u.family_name, u.emails::jsonb, u.active, case when u.active then null else 'import' end
           from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[]) as u(id, user_name, display_name, given_name, family_name, emails, active)
           on conflict (organization_id, lower(user_name)) do nothing returning id`,
          [
            org,
            creates.map((i) => i.newId),
            creates.map((i) => i.profile.userName),
            creates.map((i) => i.profile.displayName),
            creates.map((i) => i.profile.givenName),
            creates.map((i) => i.profile.familyName),
            creates.map((i) => JSON.stringify(i.profile.emails)),
            creates.map((i) => i.profile.active),
          ],
        );
        const inserted = new Set(rows.map((r) => r.id));
        created = inserted.size;
        const clashed = creates.filter((i) => !inserted.has(i.newId));
        if (clashed.length > 0) {
          const found = await tx.all<{ id: string; k: string }>(
            `select id, lower(user_name) as k from members where organization_id = $1 and lower(user_name) = any($2::text[])`,
            [org, clashed.map((i) => i.profile.userName.toLowerCase())],
          );
          const byKey = new Map(found.map((f) => [f.k, f.id]));
          for (const i of clashed) i.memberId = byKey.get(i.profile.userName.toLowerCase()) ?? null;
        }
        for (const i of creates) {
          if (inserted.has(i.newId)) {
            i.memberId = i.newId;
            audit.push({ action: 'member.create', resourceType: 'member', resourceId: i.newId, label: i.profile.userName, detail: { member: i.profile, entraId: i.entraId } });
          }
        }
      }
      const live = batch.filter((i) => i.memberId !== null);

      // 2. Links Entra user → member (a member linked under a stale Entra id is relinked).
      const relinks = live.filter((i) => i.relink);
      if (relinks.length > 0) {
        await tx.run(`delete from import_links where organization_id = $1 and integration_id = $2 and member_id = any($3::uuid[])`, [
          org,
          plan.integrationId,
          relinks.map((i) => i.memberId),
        ]);
      }
      const links = live.filter((i) => i.link);
      if (links.length > 0) {
        await tx.run(
          `insert into import_links (organization_id, integration_id, entra_id, member_id)
           select $1, $2, x.e, x.m from unnest($3::text[], $4::uuid[]) as x(e, m)
           on conflict (organization_id, integration_id, entra_id) do update set member_id = excluded.member_id`,
          [org, plan.integrationId, links.map((i) => i.entraId), links.map((i) => i.memberId)],
        );
      }

      // 3. Profile changes of members this import created.
      // The mass-deprovision guard: Entra disabling accounts (accountEnabled false) revokes access; beyond the
      // threshold the deactivation is held (the member stays active, the rest of its profile still follows Entra).
      await holdExcessDeactivations(tx, actor, org, live, opts.counts);
      const updates = live.filter((i) => i.changes !== null);
      if (updates.length > 0) {
        await tx.run(
          `update members m set user_name = u.user_name, display_name = u.display_name, given_name = u.given_name, family_name = u.family_name,
             emails = u.emails::jsonb, version = m.version + 1, updated_at = now(),
             -- Planned from a read: checked again here, as SCIM or an admin may have acted since (their deactivation stands).
             active = case when coalesce(m.deactivated_by, 'import') = 'import' then u.active else m.active end,
             deactivated_by = case when coalesce(m.deactivated_by, 'import') <> 'import' then m.deactivated_by when u.active then null else 'import' end
           from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[]) as u(id, user_name, display_name, given_name, family_name, emails, active)
           where m.organization_id = $8 and m.id = u.id and m.source = 'import'`,
          [
            updates.map((i) => i.memberId),
            updates.map((i) => i.profile.userName),
            updates.map((i) => i.profile.displayName),
            updates.map((i) => i.profile.givenName),
            updates.map((i) => i.profile.familyName),
            updates.map((i) => JSON.stringify(i.profile.emails)),
            updates.map((i) => i.profile.active),
            org,
          ],
        );
        for (const i of updates) audit.push({ action: 'member.update', resourceType: 'member', resourceId: i.memberId!, label: i.profile.userName, detail: { changes: i.changes } });
        const flips = updates.filter((i) => i.activeChanged);
        if (flips.length > 0) {
          // Deactivation (accountEnabled false) ends sessions at once, as in MemberService.
          await tx.run(
            `with s as (delete from sessions where organization_id = $1 and member_id = any($2::uuid[]))
             insert into access_changes (organization_id, kind, member_id)
             select $1, case when x.a then 'member_activated' else 'member_deactivated' end, x.id from unnest($3::uuid[], $4::boolean[]) as x(id, a)`,
            [org, flips.filter((i) => !i.profile.active).map((i) => i.memberId), flips.map((i) => i.memberId), flips.map((i) => i.profile.active)],
          );
        }
      }

      // 4. Membership of the integration's group (and so its shares).
      const adds = live.filter((i) => i.addToGroup);
      let added = 0;
      if (adds.length > 0) {
        const row = await tx.one<{ n: number; ids: string[] | null }>(
          `with ins as (insert into group_members (organization_id, group_id, member_id)
                        select $1, $2, u.m from unnest($3::uuid[]) as u(m) join members x on x.organization_id = $1 and x.id = u.m
                        on conflict do nothing returning member_id),
                feed as (insert into access_changes (organization_id, kind, group_id, member_id) select $1, 'group_member_added', $2, member_id from ins),
                bump as (update groups set version = version + 1, updated_at = now() where organization_id = $1 and id = $2 and exists (select 1 from ins))
                ${opts.invitation ? INVITATION_CTE : ''}
           select count(*)::int as n, array_agg(member_id) as ids from ins`,
          [org, opts.groupId, adds.map((i) => i.memberId), ...(opts.invitation ? [JSON.stringify(opts.invitation)] : [])],
        );
        added = row.n;
        if (added > 0) {
          audit.push({
            action: 'group.update',
            resourceType: 'group',
            resourceId: opts.groupId,
            label: actor.label,
            detail: membershipDetail(row.ids ?? [], []),
          });
        }
      }
      await insertAudit(tx, actor, audit);
      return { created, added, updated: updates.length };
    });
    opts.counts.created += counts.created;
    opts.counts.added += counts.added;
    opts.counts.updated += counts.updated;
    done += batch.length;
    opts.onProgress?.({ phase: 'writing', done, total });
  }

  // The import's product rule: removed from the group or deleted in Entra → only the membership (the share) goes.
  if (plan.removeMemberIds.length > 0) {
    const removed = await db.transaction(async (tx) => {
      await opts.renewLease(tx);
      // The mass-deprovision guard: removals that take access away (the group shares something, the member is active)
      // beyond the threshold are held, all of this run's, for an admin (a run seeing most users vanish is a mistake
      // more often than a mass leave: a lost consent, the wrong group).
      if (opts.sharesAccess) {
        const revoking = await tx.all<{ id: string; user_name: string }>(
          `select id, user_name from members where organization_id = $1 and id = any($2::uuid[]) and active`,
          [org, plan.removeMemberIds],
        );
        if (revoking.length > 0 && !(await guardSql.admit(tx, org, 'import', revoking.length))) {
          const fresh = await guardSql.hold(tx, org, {
            source: 'import',
            actorLabel: actor.label,
            kind: 'group_remove',
            groupId: opts.groupId,
            members: revoking.map((r) => ({ id: r.id, label: r.user_name })),
          });
          await insertAudit(tx, actor, [
            { action: 'guard.hold.group_remove', resourceType: 'group', resourceId: opts.groupId, label: actor.label, detail: { held: revoking.length, new: fresh, memberIds: revoking.slice(0, 200).map((r) => r.id) } },
          ]);
          const keep = new Set(revoking.map((r) => r.id));
          plan.removeMemberIds.splice(0, plan.removeMemberIds.length, ...plan.removeMemberIds.filter((id) => !keep.has(id)));
          opts.counts.held = (opts.counts.held ?? 0) + revoking.length;
          if (plan.removeMemberIds.length === 0) return 0;
        } else if (revoking.length > 0) {
          await guardSql.insertRevocations(tx, org, 'import', revoking.map((r) => r.id));
        }
      }
      const row = await tx.one<{ n: number; ids: string[] | null }>(
        `with del as (delete from group_members where organization_id = $1 and group_id = $2 and member_id = any($3::uuid[]) returning member_id),
              feed as (insert into access_changes (organization_id, kind, group_id, member_id) select $1, 'group_member_removed', $2, member_id from del),
              bump as (update groups set version = version + 1, updated_at = now() where organization_id = $1 and id = $2 and exists (select 1 from del))
         select count(*)::int as n, array_agg(member_id) as ids from del`,
        [org, opts.groupId, plan.removeMemberIds],
      );
      if (row.n > 0) {
        await insertAudit(tx, actor, [
          { action: 'group.update', resourceType: 'group', resourceId: opts.groupId, label: actor.label, detail: membershipDetail([], row.ids ?? []) },
        ]);
      }
      return row.n;
    });
    opts.counts.removed += removed;
    done += plan.removeMemberIds.length;
    opts.onProgress?.({ phase: 'writing', done, total });
  }
}

/** The audit rows of a batch in one statement. */
async function insertAudit(tx: Sql, actor: Actor, rows: AuditRow[]): Promise<void> {
  if (rows.length === 0) return;
  const origin = currentOrigin();
  await tx.run(
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
      rows.map((r) => r.label),
      rows.map((r) => JSON.stringify(r.detail)),
      origin.requestId,
      origin.clientAddress,
    ],
  );
}
