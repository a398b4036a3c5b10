// One sync of an integration, set-based: three reads plan it, then each batch
// of changed users is one transaction of a handful of statements (unnest
// arrays), whatever the batch size. Nothing is written for a user whose
// member, link and membership already match (compare before writing), so a
// resync without change opens no transaction at all.
import crypto from 'node:crypto';
import type { Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { DomainError } from '../errors.js';
import { memberDataFrom, validateMemberData, type MultiValue } from '../member/member.model.js';
import type { EntraUser, ImportIdentifier, ImportProgress } from './import.model.js';
import { insertAuditBatch, type BatchAuditEntry } from '../audit/audit.sql.js';
import * as guardSql from '../guard/guard.sql.js';
import * as syncSql from './import.sync.sql.js';
import type { ImportedProfile, MemberState } from './import.sync.sql.js';
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
type Profile = Omit<ImportedProfile, 'id'>;

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

  const linked = await syncSql.selectLinkedMembers(sql, ctx.organizationId, ctx.integrationId);
  const byEntraId = new Map(linked.map((r) => [r.entra_id, r]));
  const linkOfMember = new Map(linked.map((r) => [r.id, r.entra_id]));
  const inGroup = new Set(await syncSql.selectGroupMemberIds(sql, ctx.organizationId, ctx.groupId));

  const unlinkedKeys = wanted.filter((w) => !byEntraId.has(w.user.id)).map((w) => w.profile.userName.toLowerCase());
  const byKey = new Map<string, MemberState>();
  if (unlinkedKeys.length > 0) {
    const candidates = await syncSql.selectCandidates(sql, ctx.organizationId, ctx.identifier, unlinkedKeys);
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
    const owner = await syncSql.selectIdsByUserName(
      sql,
      ctx.organizationId,
      renames.map((i) => i.profile.userName.toLowerCase()),
    );
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
    const dead = await syncSql.selectTombstoneKeys(sql, ctx.organizationId, keys);
    if (dead.size > 0) {
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
  const live = await syncSql.lockImportDeactivatable(
    tx,
    org,
    offs.map((i) => i.memberId!),
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
  const rows: BatchAuditEntry[] = [];
  for (const h of held) {
    const fresh = await guardSql.hold(tx, org, { source: 'import', actorLabel: actor.label, kind: 'deactivate', groupId: null, members: [h] });
    rows.push({
      action: 'guard.hold.deactivate',
      resourceType: 'member',
      resourceId: h.id,
      resourceLabel: h.label,
      detail: { repeated: fresh === 0, reason: 'mass-deprovision guard: held for an administrator to approve or discard' },
    });
  }
  await insertAuditBatch(tx, actor, rows);
  counts.held = (counts.held ?? 0) + held.length;
}

function isChange(i: PlanItem): boolean {
  return i.memberId === null || i.link || i.changes !== null || i.addToGroup;
}


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
      const audit: BatchAuditEntry[] = [];
      let created = 0;

      // 1. New members (source import). A userName taken meanwhile is matched instead.
      const creates = batch.filter((i) => i.memberId === null);
      if (creates.length > 0) {
        const inserted = await syncSql.insertImportedMembers(
          tx,
          org,
          creates.map((i) => ({ ...i.profile, id: i.newId })),
        );
        created = inserted.size;
        const clashed = creates.filter((i) => !inserted.has(i.newId));
        if (clashed.length > 0) {
          const byKey = await syncSql.selectIdsByUserName(
            tx,
            org,
            clashed.map((i) => i.profile.userName.toLowerCase()),
          );
          for (const i of clashed) i.memberId = byKey.get(i.profile.userName.toLowerCase()) ?? null;
        }
        for (const i of creates) {
          if (inserted.has(i.newId)) {
            i.memberId = i.newId;
            audit.push({ action: 'member.create', resourceType: 'member', resourceId: i.newId, resourceLabel: i.profile.userName, detail: { member: i.profile, entraId: i.entraId } });
          }
        }
      }
      const live = batch.filter((i) => i.memberId !== null);

      // 2. Links Entra user → member (a member linked under a stale Entra id is relinked).
      const relinks = live.filter((i) => i.relink);
      if (relinks.length > 0) {
        await syncSql.deleteLinks(
          tx,
          org,
          plan.integrationId,
          relinks.map((i) => i.memberId!),
        );
      }
      const links = live.filter((i) => i.link);
      if (links.length > 0) {
        await syncSql.upsertLinks(
          tx,
          org,
          plan.integrationId,
          links.map((i) => ({ entraId: i.entraId, memberId: i.memberId! })),
        );
      }

      // 3. Profile changes of members this import created.
      // The mass-deprovision guard: Entra disabling accounts (accountEnabled false) revokes access; beyond the
      // threshold the deactivation is held (the member stays active, the rest of its profile still follows Entra).
      await holdExcessDeactivations(tx, actor, org, live, opts.counts);
      const updates = live.filter((i) => i.changes !== null);
      if (updates.length > 0) {
        await syncSql.updateImportedMembers(
          tx,
          org,
          updates.map((i) => ({ ...i.profile, id: i.memberId! })),
        );
        for (const i of updates) audit.push({ action: 'member.update', resourceType: 'member', resourceId: i.memberId!, resourceLabel: i.profile.userName, detail: { changes: i.changes } });
        const flips = updates.filter((i) => i.activeChanged);
        if (flips.length > 0) {
          // Deactivation (accountEnabled false) ends sessions at once, as in MemberService.
          await syncSql.recordActiveFlips(
            tx,
            org,
            flips.map((i) => ({ id: i.memberId!, active: i.profile.active })),
          );
        }
      }

      // 4. Membership of the integration's group (and so its shares).
      const adds = live.filter((i) => i.addToGroup);
      let added = 0;
      if (adds.length > 0) {
        const ids = await syncSql.addGroupMembers(
          tx,
          org,
          opts.groupId,
          adds.map((i) => i.memberId!),
          opts.invitation ? JSON.stringify(opts.invitation) : undefined,
        );
        added = ids.length;
        if (added > 0) {
          audit.push({
            action: 'group.update',
            resourceType: 'group',
            resourceId: opts.groupId,
            resourceLabel: actor.label,
            detail: membershipDetail(ids, []),
          });
        }
      }
      await insertAuditBatch(tx, actor, audit);
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
        const revoking = await syncSql.selectActiveMembers(tx, org, plan.removeMemberIds);
        if (revoking.length > 0 && !(await guardSql.admit(tx, org, 'import', revoking.length))) {
          const fresh = await guardSql.hold(tx, org, {
            source: 'import',
            actorLabel: actor.label,
            kind: 'group_remove',
            groupId: opts.groupId,
            members: revoking.map((r) => ({ id: r.id, label: r.user_name })),
          });
          await insertAuditBatch(tx, actor, [
            {
              action: 'guard.hold.group_remove',
              resourceType: 'group',
              resourceId: opts.groupId,
              resourceLabel: actor.label,
              detail: { held: revoking.length, new: fresh, memberIds: revoking.slice(0, 200).map((r) => r.id) },
            },
          ]);
          const keep = new Set(revoking.map((r) => r.id));
          plan.removeMemberIds.splice(0, plan.removeMemberIds.length, ...plan.removeMemberIds.filter((id) => !keep.has(id)));
          opts.counts.held = (opts.counts.held ?? 0) + revoking.length;
          if (plan.removeMemberIds.length === 0) return 0;
        } else if (revoking.length > 0) {
          await guardSql.insertRevocations(tx, org, 'import', revoking.map((r) => r.id));
        }
      }
      const ids = await syncSql.removeGroupMembers(tx, org, opts.groupId, plan.removeMemberIds);
      const n = ids.length;
      if (n > 0) {
        await insertAuditBatch(tx, actor, [
          {
            action: 'group.update',
            resourceType: 'group',
            resourceId: opts.groupId,
            resourceLabel: actor.label,
            detail: membershipDetail([], ids),
          },
        ]);
      }
      return n;
    });
    opts.counts.removed += removed;
    done += plan.removeMemberIds.length;
    opts.onProgress?.({ phase: 'writing', done, total });
  }
}
