// One sync of an integration, set-based: three reads plan it, then each batch
// of changed users is one transaction of a handful of statements (unnest
// arrays), whatever the batch size. Nothing is written for a user whose
// member, link and membership already match (compare before writing), so a
// resync without change opens no transaction at all.
import crypto from 'node:crypto';
import { actorId, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { DomainError } from '../errors.js';
import { currentOrigin } from '../origin.js';
import { memberAddressSql } from '../mail/mail.service.js';
import { memberDataFrom, validateMemberData, type MemberSource, type MultiValue } from '../member/member.model.js';
import type { EntraUser, ImportIdentifier, ImportProgress } from './import.model.js';

export interface SyncCounts {
  total: number;
  added: number;
  created: number;
  updated: number;
  removed: number;
  skipped: number;
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
  readonly profile: Profile;
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
}

const STATE_COLUMNS = 'm.id, m.user_name, m.display_name, m.given_name, m.family_name, m.emails, m.active, m.source';

/** A PostgreSQL array literal with NULLs, for one `?::type[]` parameter. */
function pgArray(values: readonly (string | boolean | null)[]): string {
  return `{${values
    .map((v) => (v === null ? 'NULL' : typeof v === 'boolean' ? (v ? 't' : 'f') : `"${v.replace(/["\\]/g, '\\$&')}"`))
    .join(',')}}`;
}

function clean(v: string | null | undefined): string | null {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t.length === 0 ? null : t;
}

function profileOf(u: EntraUser, identifier: ImportIdentifier): Profile | null {
  // Seed 003: the chosen attribute (UPN by default, or Mail) holds the user's email address.
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
     where l.organization_id = ? and l.integration_id = ?`,
    [ctx.organizationId, ctx.integrationId],
  );
  const byEntraId = new Map(linked.map((r) => [r.entra_id, r]));
  const linkOfMember = new Map(linked.map((r) => [r.id, r.entra_id]));
  const inGroup = new Set(
    (await sql.all<{ member_id: string }>(`select member_id from group_members where organization_id = ? and group_id = ?`, [ctx.organizationId, ctx.groupId])).map(
      (r) => r.member_id,
    ),
  );

  const unlinkedKeys = wanted.filter((w) => !byEntraId.has(w.user.id)).map((w) => w.profile.userName.toLowerCase());
  const byKey = new Map<string, MemberState>();
  if (unlinkedKeys.length > 0) {
    const keys = pgArray(unlinkedKeys);
    const candidates = await sql.all<MemberState>(
      ctx.identifier === 'upn'
        ? `select ${STATE_COLUMNS} from members m where m.organization_id = ? and lower(m.user_name) = any(?::text[])`
        : `select ${STATE_COLUMNS} from members m where m.organization_id = ? and (lower(m.user_name) = any(?::text[])
             or exists (select 1 from jsonb_array_elements(m.emails) e where lower(e->>'value') = any(?::text[])))`,
      ctx.identifier === 'upn' ? [ctx.organizationId, keys] : [ctx.organizationId, keys, keys],
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
    const changes = member && member.source === 'import' ? diff(member, profile) : null;
    items.push({
      entraId: user.id,
      profile,
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
    const taken = await sql.all<{ id: string; k: string }>(`select id, lower(user_name) as k from members where organization_id = ? and lower(user_name) = any(?::text[])`, [
      ctx.organizationId,
      pgArray(renames.map((i) => i.profile.userName.toLowerCase())),
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
  const removeMemberIds = [...inGroup].filter((id) => !used.has(id));
  return { organizationId: ctx.organizationId, integrationId: ctx.integrationId, items, removeMemberIds, skipped };
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
    select ?, gen_random_uuid(), a.address, m.id, 'access_shared', ?::jsonb
    from ins join members m on m.organization_id = ? and m.id = ins.member_id
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
    /** When the integration shares access: the mail's data (what is shared); each member added gets the mail (seed 003). */
    invitation?: Record<string, unknown>;
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
          `insert into members (organization_id, id, source, user_name, display_name, given_name, family_name, emails, active)
           select ?, u.id, 'import', u.user_name, u.display_name, u.given_name, u.family_name, u.emails::jsonb, u.active
           from unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::boolean[]) as u(id, user_name, display_name, given_name, family_name, emails, active)
           on conflict (organization_id, lower(user_name)) do nothing returning id`,
          [
            org,
            pgArray(creates.map((i) => i.newId)),
            pgArray(creates.map((i) => i.profile.userName)),
            pgArray(creates.map((i) => i.profile.displayName)),
            pgArray(creates.map((i) => i.profile.givenName)),
            pgArray(creates.map((i) => i.profile.familyName)),
            pgArray(creates.map((i) => JSON.stringify(i.profile.emails))),
            pgArray(creates.map((i) => i.profile.active)),
          ],
        );
        const inserted = new Set(rows.map((r) => r.id));
        created = inserted.size;
        const clashed = creates.filter((i) => !inserted.has(i.newId));
        if (clashed.length > 0) {
          const found = await tx.all<{ id: string; k: string }>(
            `select id, lower(user_name) as k from members where organization_id = ? and lower(user_name) = any(?::text[])`,
            [org, pgArray(clashed.map((i) => i.profile.userName.toLowerCase()))],
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
        await tx.run(`delete from import_links where organization_id = ? and integration_id = ? and member_id = any(?::uuid[])`, [
          org,
          plan.integrationId,
          pgArray(relinks.map((i) => i.memberId)),
        ]);
      }
      const links = live.filter((i) => i.link);
      if (links.length > 0) {
        await tx.run(
          `insert into import_links (organization_id, integration_id, entra_id, member_id)
           select ?, ?, x.e, x.m from unnest(?::text[], ?::uuid[]) as x(e, m)
           on conflict (organization_id, integration_id, entra_id) do update set member_id = excluded.member_id`,
          [org, plan.integrationId, pgArray(links.map((i) => i.entraId)), pgArray(links.map((i) => i.memberId))],
        );
      }

      // 3. Profile changes of members this import created.
      const updates = live.filter((i) => i.changes !== null);
      if (updates.length > 0) {
        await tx.run(
          `update members m set user_name = u.user_name, display_name = u.display_name, given_name = u.given_name, family_name = u.family_name,
             emails = u.emails::jsonb, active = u.active, version = m.version + 1, updated_at = now()
           from unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::boolean[]) as u(id, user_name, display_name, given_name, family_name, emails, active)
           where m.organization_id = ? and m.id = u.id`,
          [
            pgArray(updates.map((i) => i.memberId)),
            pgArray(updates.map((i) => i.profile.userName)),
            pgArray(updates.map((i) => i.profile.displayName)),
            pgArray(updates.map((i) => i.profile.givenName)),
            pgArray(updates.map((i) => i.profile.familyName)),
            pgArray(updates.map((i) => JSON.stringify(i.profile.emails))),
            pgArray(updates.map((i) => i.profile.active)),
            org,
          ],
        );
        for (const i of updates) audit.push({ action: 'member.update', resourceType: 'member', resourceId: i.memberId!, label: i.profile.userName, detail: { changes: i.changes } });
        const flips = updates.filter((i) => i.activeChanged);
        if (flips.length > 0) {
          // Deactivation (accountEnabled false) ends sessions at once, as in MemberService.
          await tx.run(
            `with s as (delete from sessions where organization_id = ? and member_id = any(?::uuid[]))
             insert into access_changes (organization_id, kind, member_id)
             select ?, case when x.a then 'member_activated' else 'member_deactivated' end, x.id from unnest(?::uuid[], ?::boolean[]) as x(id, a)`,
            [org, pgArray(flips.filter((i) => !i.profile.active).map((i) => i.memberId)), org, pgArray(flips.map((i) => i.memberId)), pgArray(flips.map((i) => i.profile.active))],
          );
        }
      }

      // 4. Membership of the integration's group (and so its shares).
      const adds = live.filter((i) => i.addToGroup);
      let added = 0;
      if (adds.length > 0) {
        const row = await tx.one<{ n: number }>(
          `with ins as (insert into group_members (organization_id, group_id, member_id)
                        select ?, ?, u.m from unnest(?::uuid[]) as u(m) join members x on x.organization_id = ? and x.id = u.m
                        on conflict do nothing returning member_id),
                feed as (insert into access_changes (organization_id, kind, group_id, member_id) select ?, 'group_member_added', ?, member_id from ins),
                bump as (update groups set version = version + 1, updated_at = now() where organization_id = ? and id = ? and exists (select 1 from ins))
                ${opts.invitation ? INVITATION_CTE : ''}
           select count(*)::int as n from ins`,
          [
            org,
            opts.groupId,
            pgArray(adds.map((i) => i.memberId)),
            org,
            org,
            opts.groupId,
            org,
            opts.groupId,
            ...(opts.invitation ? [org, JSON.stringify(opts.invitation), org] : []),
          ],
        );
        added = row.n;
        if (added > 0) {
          audit.push({
            action: 'group.update',
            resourceType: 'group',
            resourceId: opts.groupId,
            label: actor.label,
            detail: { membersAdded: added, members: adds.slice(0, 200).map((i) => i.profile.userName) },
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

  // Seed 003: removed from the group or deleted in Entra → only the membership (the share) goes.
  if (plan.removeMemberIds.length > 0) {
    const removed = await db.transaction(async (tx) => {
      await opts.renewLease(tx);
      const row = await tx.one<{ n: number }>(
        `with del as (delete from group_members where organization_id = ? and group_id = ? and member_id = any(?::uuid[]) returning member_id),
              feed as (insert into access_changes (organization_id, kind, group_id, member_id) select ?, 'group_member_removed', ?, member_id from del),
              bump as (update groups set version = version + 1, updated_at = now() where organization_id = ? and id = ? and exists (select 1 from del))
         select count(*)::int as n from del`,
        [org, opts.groupId, pgArray(plan.removeMemberIds), org, opts.groupId, org, opts.groupId],
      );
      if (row.n > 0) {
        await insertAudit(tx, actor, [
          { action: 'group.update', resourceType: 'group', resourceId: opts.groupId, label: actor.label, detail: { membersRemoved: row.n, memberIds: plan.removeMemberIds.slice(0, 200) } },
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
     select ?, ?, ?, ?, a.action, 'success', a.rtype, a.rid, a.label, a.detail::jsonb, ?, ?
     from unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) with ordinality as a(action, rtype, rid, label, detail, n) order by a.n`,
    [
      actor.organizationId,
      actor.kind,
      actorId(actor),
      actor.label,
      origin.requestId,
      origin.clientAddress,
      pgArray(rows.map((r) => r.action)),
      pgArray(rows.map((r) => r.resourceType)),
      pgArray(rows.map((r) => r.resourceId)),
      pgArray(rows.map((r) => r.label)),
      pgArray(rows.map((r) => JSON.stringify(r.detail))),
    ],
  );
}
