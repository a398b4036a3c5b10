// Member use cases. Each is atomic (one statement, or one transaction) and
// writes its audit event (and any access change) with the change. userName
// uniqueness is the database's lower(user_name) index; a violation becomes
// Conflict.
import crypto from 'node:crypto';
import { requireDirectoryReader, requireDirectoryWriter, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db-errors.js';
import type { ResourceQuery } from '../query/filter-ast.js';
import { Conflict, Forbidden, Invalid, NotFound, Unavailable } from '../errors.js';
import { isUuid } from '../ids.js';
import { decodeCursor, encodeCursor, pageSize, type CountedPage, type CountOption } from '../paging.js';
import { writeAudit, type AuditOpts } from '../audit/audit.service.js';
import { auditValues } from '../audit/audit.sql.js';
import { recordAccessChange } from '../access/access-feed.js';
import type { Group } from '../group/group.model.js';
import { sharesWithTargets, type Share } from '../share/share.model.js';
import type { Lock, Place } from '../place/place.model.js';
import {
  diffMemberData,
  memberDataFrom,
  memberDataOf,
  sourceOf,
  validateMemberData,
  type Member,
  type MemberData,
  type MemberInput,
  type MemberSource,
} from './member.model.js';
import * as memberSql from './member.sql.js';
import * as guardSql from '../guard/guard.sql.js';
import type { ActiveFlip, MemberStamp } from './member.sql.js';

/** A change: the fields to set, or a function from the current state to the next. */
export type MemberChange = Partial<MemberData> | ((current: MemberData) => MemberData);

export interface MemberListQuery extends CountOption {
  /** Case-insensitive text on userName, displayName, given/family name and email. */
  readonly text?: string;
  readonly active?: boolean;
  readonly source?: MemberSource;
  readonly groupId?: string;
  readonly orderBy?: 'userName' | 'createdAt';
  /** Opaque cursor from a previous page. */
  readonly after?: string;
  readonly first?: number;
  /** Also load these relations of the page's members, in the same statement. */
  readonly include?: { readonly groups?: boolean; readonly shares?: boolean };
}

/** Relations of a page's members, keyed by member id (when asked for with `include`). */
export interface MemberPageRelations {
  readonly groups?: Map<string, Group[]>;
  /** Shares granted directly to each member, with the locks and places they target. */
  readonly shares?: Map<string, Share[]>;
  readonly locks: Lock[];
  readonly places: Place[];
}

export interface MemberPage extends CountedPage<Member> {
  readonly relations?: MemberPageRelations;
}

export const MAX_PAGE_SIZE = 500;
/** Rounds of read-and-write before a change of a hotly contested member gives up (each lost round is another change that won). */
const MAX_UPDATE_ATTEMPTS = 50;

/** A page of a SCIM-style query: the members and the total number matching. */
export interface MemberSearchResult {
  readonly totalResults: number;
  readonly members: Member[];
}

/** Fields Entra owns on a SCIM-provisioned member: apps and members may not change them. */
const ENTRA_OWNED_EXEMPT = new Set<keyof MemberData>(['metadata']);

/** Apps, console admins and members: they may not change what Entra (SCIM) owns. */
function defersToEntra(actor: Actor): boolean {
  return actor.kind === 'api_key' || actor.kind === 'member' || actor.kind === 'admin';
}

function stamped(data: MemberData, who: Pick<Member, 'id' | 'organizationId' | 'source' | 'deactivatedBy'>, stamp: MemberStamp): Member {
  return { ...data, id: who.id, organizationId: who.organizationId, source: who.source, deactivatedBy: who.deactivatedBy, ...stamp };
}

/** The lower-case keys that identify the person of a member to the import: its userName and its emails. */
function ownershipKeys(data: MemberData): string[] {
  const keys = new Set([data.userName.toLowerCase()]);
  for (const e of data.emails) if (typeof e.value === 'string') keys.add(e.value.toLowerCase());
  return [...keys];
}

const SOURCE_NAME: Record<MemberSource, string> = { scim: 'Entra (SCIM)', import: 'the Entra group import', admin: 'an administrator' };

/**
 * A deactivation stands until the source that made it re-activates:
 * no other source re-opens the doors. SCIM taking over a member the import
 * deactivated becomes that member's owner, so it may.
 */
function checkReactivation(current: Member, source: MemberSource, takeover: boolean): void {
  const by = current.deactivatedBy;
  if (by === null || by === source || (takeover && by === 'import')) return;
  throw new Forbidden('deactivated_by_other_source', `This member was deactivated by ${SOURCE_NAME[by]}; only ${SOURCE_NAME[by]} may re-activate it`, {
    deactivatedBy: by,
  });
}

export class MemberService {
  constructor(private readonly db: Db) {}

  async create(actor: Actor, input: MemberInput, opts: AuditOpts = {}): Promise<Member> {
    requireDirectoryWriter(actor);
    const data = memberDataFrom(input);
    validateMemberData(data);
    const id = crypto.randomUUID();
    // One statement: the member and its audit event commit together (a CTE), in one round trip.
    // The log keeps what the edge says was sent (Entra's request), else the member as stored.
    const audit = auditValues(actor, {
      action: opts.action ?? 'member.create',
      resourceType: 'member',
      resourceId: id,
      resourceLabel: data.userName,
      detail: opts.detail ?? { member: data },
    });
    const source = sourceOf(actor);
    // SCIM takes over a member the import created for the same person (its userName, or one of its emails
    // when the import used --identifier mail): checked in the same statement, so it costs Entra nothing.
    const importKeys = source === 'scim' ? ownershipKeys(data) : [];
    const stamp = await this.translate(data, () => memberSql.insertMember(this.db.sql, { organizationId: actor.organizationId, id, source, data, importKeys }, audit));
    if (stamp) return stamped(data, { id, organizationId: actor.organizationId, source, deactivatedBy: data.active ? null : source }, stamp);
    const adopted = await memberSql.selectImportedByKeys(this.db.sql, actor.organizationId, data.userName.toLowerCase(), importKeys);
    // Gone between the two statements (deleted, or taken over by a concurrent create): answer as a clash.
    if (!adopted) throw new Conflict('user_name_taken', `A member with userName "${data.userName}" already exists in this organisation`, { field: 'userName' });
    return this.update(actor, adopted, () => data, { action: opts.action ?? 'member.create', detail: { ...opts.detail, adoptedFromImport: true } });
  }

  async get(actor: Actor, id: string): Promise<Member> {
    if (actor.kind === 'member' && actor.id !== id) throw new NotFound('member', id);
    const [member] = await this.getMany(actor, [id], true);
    if (!member) throw new NotFound('member', id);
    return member;
  }

  /** Members by id in one statement (DataLoader); unknown or foreign ids are left out. */
  async getMany(actor: Actor, ids: readonly string[], allowSelf = false): Promise<Member[]> {
    if (!(allowSelf && actor.kind === 'member')) requireDirectoryReader(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    return memberSql.selectMembersById(this.db.lagTolerant, actor.organizationId, valid);
  }

  async findByUserName(actor: Actor, userName: string): Promise<Member | undefined> {
    requireDirectoryReader(actor);
    return memberSql.selectMemberByUserName(this.db.sql, actor.organizationId, userName);
  }

  /**
   * Applies a change atomically: the current state is read, the next one
   * computed and validated, then written in ONE statement together with its
   * audit event (the difference), and, when `active` flips, the end of the
   * member's sessions and the access feed entry. The statement writes only if
   * the member still has the version that was read; otherwise another change
   * came first and this one is computed again from the new state. So changes
   * of one member apply one after the other and none is lost, in two
   * statements and no open transaction.
   */
  async update(actor: Actor, id: string, change: MemberChange, opts: AuditOpts = {}): Promise<Member> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('member', id);
    const source = sourceOf(actor);
    // Set once the guard held this deactivation: the rest of the change still applies, `active` stays as it is.
    let held = false;
    for (let attempt = 1; ; attempt++) {
      const current = await memberSql.selectMember(this.db.sql, actor.organizationId, id);
      if (!current) throw new NotFound('member', id);
      const before = memberDataOf(current);
      const wanted: MemberData = typeof change === 'function' ? change(before) : { ...before, ...change };
      const next: MemberData = held && !wanted.active ? { ...wanted, active: before.active } : wanted;
      validateMemberData(next);
      const diff = diffMemberData(before, next);
      const changed = Object.keys(diff) as (keyof MemberData)[];
      // SCIM takes ownership of a member the import created: from then on the import only keeps its membership.
      const takeover = source === 'scim' && current.source === 'import';
      if (changed.length === 0 && !takeover) return current;
      this.checkOwnership(actor, current, changed);
      const flip: ActiveFlip = before.active === next.active ? 'none' : next.active ? 'activated' : 'deactivated';
      if (flip === 'activated') checkReactivation(current, source, takeover);
      const owner: MemberSource = takeover ? 'scim' : current.source;
      const deactivatedBy = flip === 'deactivated' ? source : flip === 'activated' ? null : current.deactivatedBy;

      const audit = auditValues(actor, {
        action: opts.action ?? 'member.update',
        resourceType: 'member',
        resourceId: id,
        resourceLabel: next.userName,
        detail: { ...opts.detail, changes: diff, ...(takeover ? { owner: { from: current.source, to: owner } } : {}) },
      });
      // Entra's deactivations pass the mass-deprovision guard; an admin's deliberate ones never wait.
      const guard = source === 'scim' ? source : undefined;
      const updated = await this.translate(next, () =>
        memberSql.updateMember(this.db.sql, { organizationId: actor.organizationId, id, version: current.version, next, flip, source: owner, deactivatedBy, guard }, audit),
      );
      if (updated === 'held') {
        await this.holdRevocation(actor, 'deactivate', current);
        held = true;
        continue;
      }
      if (updated) return stamped(next, { ...current, source: owner, deactivatedBy }, updated);
      // Changed (or deleted) since it was read: read again. Each retry means another change succeeded.
      if (attempt >= MAX_UPDATE_ATTEMPTS) throw new Unavailable('member_busy', 'This member is being changed by many requests at once; retry shortly');
    }
  }

  async delete(actor: Actor, id: string, opts: AuditOpts = {}): Promise<void> {
    requireDirectoryWriter(actor);
    if (!isUuid(id)) throw new NotFound('member', id);
    const source = sourceOf(actor);
    const held = await this.db.transaction(async (tx) => {
      // Entra deleting an active member revokes access: the mass-deprovision guard decides first (an inactive one has none left).
      if (source === 'scim') {
        const m = await memberSql.selectActiveForUpdate(tx, actor.organizationId, id);
        if (m?.active && !(await guardSql.admit(tx, actor.organizationId, 'scim', 1))) return m;
        if (m?.active) await guardSql.insertRevocations(tx, actor.organizationId, 'scim', [id]);
      }
      const row = await memberSql.deleteMember(tx, actor.organizationId, id);
      if (!row) throw new NotFound('member', id);
      if (row.source === 'scim' && defersToEntra(actor)) {
        throw new Forbidden('managed_by_scim', 'This member is provisioned by Entra (SCIM); remove it there');
      }
      // A person SCIM or an admin removed stays removed: the group import will not create them again.
      const by = sourceOf(actor);
      if (by !== 'import') await memberSql.insertTombstone(tx, { organizationId: actor.organizationId, memberId: id, userName: row.userName, emails: row.emails, deletedBy: by });
      await recordAccessChange(tx, actor.organizationId, { kind: 'member_deleted', memberId: id });
      await writeAudit(tx, actor, { action: opts.action ?? 'member.delete', resourceType: 'member', resourceId: id, resourceLabel: row.userName, detail: opts.detail });
      return undefined;
    });
    if (held) await this.holdRevocation(actor, 'delete', { id, userName: held.userName });
  }

  /**
   * Holds a revocation the guard refused (the member stays as it is, and GET
   * says so); asked again, the same change is counted, not duplicated.
   * Audited with the provisioning log's other entries.
   */
  private async holdRevocation(actor: Actor, kind: 'deactivate' | 'delete', m: { id: string; userName: string }): Promise<void> {
    const source = sourceOf(actor);
    if (source !== 'scim' && source !== 'import') return;
    await this.db.transaction(async (tx) => {
      const fresh = await guardSql.hold(tx, actor.organizationId, { source, actorLabel: actor.label, kind, groupId: null, members: [{ id: m.id, label: m.userName }] });
      await writeAudit(tx, actor, {
        action: kind === 'delete' ? 'guard.hold.delete' : 'guard.hold.deactivate',
        resourceType: 'member',
        resourceId: m.id,
        resourceLabel: m.userName,
        detail: { repeated: fresh === 0, reason: 'mass-deprovision guard: held for an administrator to approve or discard' },
      });
    });
  }

  async list(actor: Actor, q: MemberListQuery = {}): Promise<MemberPage> {
    requireDirectoryReader(actor);
    const first = pageSize(q.first, 50, 0, MAX_PAGE_SIZE);
    let text: string | undefined;
    if (q.text !== undefined && q.text !== '') {
      if (typeof q.text !== 'string' || q.text.length > 1024 || q.text.includes('\u0000')) throw new Invalid('invalid_value', 'text must be a string of at most 1024 characters', 'text');
      text = q.text.toLowerCase();
    }
    const count = q.count !== false;
    if (q.groupId !== undefined && !isUuid(q.groupId)) return { items: [], hasNextPage: false, totalCount: count ? 0 : undefined, cursors: [] };
    const { rows, total } = await memberSql.selectMemberPage(
      this.db.lagTolerant,
      actor.organizationId,
      { text, active: q.active, source: q.source, groupId: q.groupId },
      { by: q.orderBy ?? 'userName', after: q.after ? decodeCursor(q.after) : undefined, limit: first + 1, count },
      q.include,
    );
    const page = rows.slice(0, first);
    let relations: MemberPageRelations | undefined;
    if (q.include?.groups || q.include?.shares) {
      const targets = sharesWithTargets(q.include.shares ? page.flatMap((r) => r.shares ?? []) : []);
      const shares = new Map<string, Share[]>(page.map((r) => [r.member.id, []]));
      for (const s of targets.shares) if (s.memberId) shares.get(s.memberId)?.push(s);
      relations = {
        groups: q.include.groups ? new Map(page.map((r) => [r.member.id, r.groups ?? []])) : undefined,
        shares: q.include.shares ? shares : undefined,
        locks: targets.locks,
        places: targets.places,
      };
    }
    return {
      items: page.map((r) => r.member),
      hasNextPage: rows.length > first,
      totalCount: total,
      cursors: page.map((r) => encodeCursor(r.sortKey, r.member.id)),
      relations,
    };
  }

  /** Filter (SCIM AST compiled to SQL), sort and 1-based offset paging, in one statement. */
  async search(actor: Actor, q: ResourceQuery): Promise<MemberSearchResult> {
    requireDirectoryReader(actor);
    return memberSql.searchMembers(this.db.sql, actor.organizationId, q, Math.min(Math.max(q.count, 0), MAX_PAGE_SIZE * 2));
  }

  /** The custom attribute names (`metadata.<name>`) this organisation's members carry, for SCIM discovery. */
  async metadataKeys(actor: Actor, limit = 200): Promise<string[]> {
    requireDirectoryReader(actor);
    return memberSql.selectMetadataKeys(this.db.lagTolerant, actor.organizationId, Math.min(Math.max(limit, 1), 1000));
  }

  /** Entra owns SCIM-provisioned members: apps may only change their metadata. */
  private checkOwnership(actor: Actor, member: Member, changed: (keyof MemberData)[]): void {
    if (member.source !== 'scim' || !defersToEntra(actor)) return;
    const owned = changed.filter((f) => !ENTRA_OWNED_EXEMPT.has(f));
    if (owned.length > 0) {
      throw new Forbidden('field_owned_by_entra', `This member is provisioned by Entra (SCIM); change ${owned.join(', ')} in Entra`, { fields: owned });
    }
  }

  private async translate<T>(data: MemberData, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new Conflict('user_name_taken', `A member with userName "${data.userName}" already exists in this organisation`, { field: 'userName' });
      }
      if (isForeignKeyViolation(e)) {
        throw new Invalid('unknown_manager', `The manager "${data.enterprise.managerId}" is not a member of this organisation`, 'manager');
      }
      throw e;
    }
  }
}
