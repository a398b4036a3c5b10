// Organisation admins: the members who may use the /admin console, and the
// one-time bootstrap link an operator prints (`admin link`) so the first admin
// can get in before SAML is set up. An admin's console session is an ordinary
// member session (SessionService); what makes it an admin session is the
// organization_admins row, checked on every request, so revoking takes effect
// at once.
import crypto from 'node:crypto';
import { requireAdmin, systemActor, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db-errors.js';
import { toDate } from '../rows.js';
import { Forbidden, Invalid, NotFound, Unauthenticated } from '../errors.js';
import { hashSecret, issueSecret } from '../secrets.js';
import { writeAudit } from '../audit/audit.service.js';
import { isUuid } from '../ids.js';
import type { SessionService, StartedSession } from '../session/session.service.js';
import type { RateLimitService } from '../rate-limit/rate-limit.service.js';
import type { MailService } from '../mail/mail.service.js';

const LINK_PREFIX = 'gh_adm_';
/** A bootstrap link is for the operator to open now, not to keep. */
export const BOOTSTRAP_LINK_MINUTES = 15;
/** userName of the member created for a bootstrap link when none is named. */
export const BOOTSTRAP_USER_NAME = 'bootstrap-admin';

export type AdminActor = Actor & { kind: 'admin' };

export interface BootstrapLink {
  /** The secret of the link: printed once, stored hashed. */
  readonly token: string;
  readonly expiresAt: Date;
  readonly organizationId: string;
  readonly memberId: string;
  readonly userName: string;
  /** True when the member was created for this link. */
  readonly memberCreated: boolean;
}

export interface OrganizationAdmin {
  readonly memberId: string;
  readonly userName: string;
  readonly displayName: string | null;
  readonly active: boolean;
  readonly grantedBy: string | null;
  readonly createdAt: Date;
}

export class AdminService {
  constructor(
    private readonly db: Db,
    private readonly sessions: SessionService,
    private readonly rateLimits?: RateLimitService,
    /** Mail to a member made admin (absent: none is written). */
    private readonly mail?: MailService,
  ) {}

  /**
   * Operator (CLI) use: makes `userName` (default bootstrap-admin, created
   * with source admin when missing) an admin of the organisation and issues a
   * one-time link that signs it in.
   */
  async createBootstrapLink(organizationId: string, opts: { userName?: string; minutes?: number } = {}): Promise<BootstrapLink> {
    const actor = systemActor(organizationId, 'cli');
    const userName = (opts.userName ?? BOOTSTRAP_USER_NAME).trim();
    if (userName.length < 1 || userName.length > 512) throw new Invalid('invalid_user_name', 'The member userName must be 1 to 512 characters', 'member');
    const minutes = Math.min(Math.max(opts.minutes ?? BOOTSTRAP_LINK_MINUTES, 1), 24 * 60);
    const secret = issueSecret(LINK_PREFIX);
    return this.db.transaction(async (tx) => {
      // Insert-or-find in one statement: never check-then-insert.
      const created = await tx.maybeOne<{ id: string; user_name: string }>(
        `insert into members (organization_id, id, user_name, display_name, source) values ($1, $2, $3, $4, 'admin')
         on conflict (organization_id, lower(user_name)) do nothing returning id, user_name`,
        [organizationId, crypto.randomUUID(), userName, userName === BOOTSTRAP_USER_NAME ? 'Bootstrap admin' : null],
      );
      const member =
        created ??
        (await tx.maybeOne<{ id: string; user_name: string; active: boolean }>(
          `select id, user_name, active from members where organization_id = $1 and lower(user_name) = lower($2)`,
          [organizationId, userName],
        ));
      if (!member) throw new NotFound('member', userName);
      if ('active' in member && !member.active) throw new Invalid('member_inactive', `The member "${member.user_name}" is deactivated`, 'member');
      if (created) {
        await writeAudit(tx, actor, { action: 'member.create', resourceType: 'member', resourceId: created.id, resourceLabel: created.user_name, detail: { reason: 'admin bootstrap' } });
      }
      await tx.run(
        `insert into organization_admins (organization_id, member_id, granted_by) values ($1, $2, 'cli') on conflict do nothing`,
        [organizationId, member.id],
      );
      const row = await tx.one<{ expires_at: string }>(
        `insert into admin_bootstrap_links (organization_id, token_hash, member_id, expires_at) values ($1, $2, $3, now() + make_interval(mins => $4))
         returning expires_at`,
        [organizationId, secret.hash, member.id, minutes],
      );
      await writeAudit(tx, actor, {
        action: 'admin.bootstrap_link.create',
        resourceType: 'member',
        resourceId: member.id,
        resourceLabel: member.user_name,
        detail: { expiresInMinutes: minutes },
      });
      return {
        token: secret.value,
        expiresAt: toDate(row.expires_at),
        organizationId,
        memberId: member.id,
        userName: member.user_name,
        memberCreated: Boolean(created),
      };
    });
  }

  /**
   * Uses a bootstrap link up (exactly once, before it expires) and starts the
   * admin's session. A refused link counts against `client` like any bad
   * credential (see OrganizationService.authenticateScim).
   */
  async redeemBootstrapLink(token: string, client?: string): Promise<StartedSession & { organizationId: string; memberId: string }> {
    try {
      return await this.redeem(token);
    } catch (e) {
      if (e instanceof Unauthenticated && client !== undefined && this.rateLimits) await this.rateLimits.recordFailure(`auth:${client}`);
      throw e;
    }
  }

  private async redeem(token: string): Promise<StartedSession & { organizationId: string; memberId: string }> {
    const refused = () =>
      new Unauthenticated('invalid_bootstrap_link', 'This admin link is unknown, expired or already used. Each link works once, for 15 minutes: ask whoever sent it for a new one.');
    if (!token.startsWith(LINK_PREFIX) || token.length > 200) throw refused();
    // One transaction: the link is used up only if the session and its audit event exist.
    return this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ organization_id: string; member_id: string; user_name: string }>(
        `update admin_bootstrap_links l set used_at = now()
         from members m
         where l.token_hash = $1 and l.used_at is null and l.expires_at > now()
           and m.organization_id = l.organization_id and m.id = l.member_id and m.active
         returning l.organization_id, l.member_id, m.user_name`,
        [hashSecret(token)],
      );
      if (!row) throw refused();
      const session = await this.sessions.start(row.organization_id, row.member_id, tx);
      await writeAudit(
        tx,
        { kind: 'admin', organizationId: row.organization_id, id: row.member_id, label: row.user_name },
        { action: 'admin.bootstrap_link.use', resourceType: 'member', resourceId: row.member_id, resourceLabel: row.user_name },
      );
      return { ...session, organizationId: row.organization_id, memberId: row.member_id };
    });
  }


  /**
   * The organisation an admin signs in to, from what the admin knows: an email
   * address or its domain (alice@acme.example, acme.example), or the
   * organisation's own domain slug. Matched against the organisation slugs and
   * the userNames of active admins; NotFound unless exactly one matches.
   */
  async findOrganizationForSignIn(text: string): Promise<{ domain: string; name: string }> {
    const t = (typeof text === 'string' ? text : '').trim().toLowerCase().slice(0, 320);
    if (!t || /\s/.test(t)) throw new NotFound('organization', t);
    const at = t.lastIndexOf('@');
    const emailDomain = at >= 0 ? t.slice(at + 1) : t;
    const rows = await this.db.sql.all<{ domain: string; name: string; exact: boolean }>(
      `select distinct o.domain, o.name, (lower(m.user_name) = $1) as exact
       from organization_admins a
       join members m on m.organization_id = a.organization_id and m.id = a.member_id
       join organizations o on o.organization_id = a.organization_id
       where m.active and (lower(m.user_name) = $2 or ($3 <> '' and lower(m.user_name) like '%@' || $4))
       union
       select o.domain, o.name, true as exact from organizations o where o.domain = $5`,
      [t, t, emailDomain, emailDomain.replace(/[\\%_]/g, ''), at >= 0 ? '' : t],
    );
    const exact = [...new Map(rows.filter((r) => r.exact).map((r) => [r.domain, r])).values()];
    const all = [...new Map(rows.map((r) => [r.domain, r])).values()];
    const pick = exact.length === 1 ? exact[0] : all.length === 1 ? all[0] : undefined;
    if (!pick) throw new NotFound('organization', t);
    return { domain: pick.domain, name: pick.name };
  }

  /**
   * Resolves a session cookie to an admin actor: the session must be valid
   * (SessionService) and its member an admin of its organisation.
   */
  async authenticate(sessionToken: string): Promise<AdminActor> {
    const member = await this.sessions.authenticate(sessionToken);
    return this.upgrade(member);
  }

  /** The admin actor for a signed-in member, or Forbidden when the member is no admin. */
  async upgrade(member: Actor & { kind: 'member' }): Promise<AdminActor> {
    const row = await this.db.sql.maybeOne(`select 1 as ok from organization_admins where organization_id = $1 and member_id = $2`, [
      member.organizationId,
      member.id,
    ]);
    if (!row) throw new Forbidden('admin_role_required', 'You are signed in, but you are not an administrator of this organisation');
    return { kind: 'admin', organizationId: member.organizationId, id: member.id, label: member.label };
  }

  /**
   * For edges that accept member sessions (GraphQL): the admin actor when the
   * member is an organisation admin, the member actor unchanged otherwise.
   */
  async elevate(member: Actor & { kind: 'member' }): Promise<Actor> {
    try {
      return await this.upgrade(member);
    } catch (e) {
      if (e instanceof Forbidden) return member;
      throw e;
    }
  }

  async list(actor: Actor): Promise<OrganizationAdmin[]> {
    requireAdmin(actor);
    const rows = await this.db.sql.all<{
      member_id: string;
      user_name: string;
      display_name: string | null;
      active: boolean;
      granted_by: string | null;
      created_at: string;
    }>(
      `select a.member_id, m.user_name, m.display_name, m.active, a.granted_by, a.created_at
       from organization_admins a join members m on m.organization_id = a.organization_id and m.id = a.member_id
       where a.organization_id = $1 order by lower(m.user_name)`,
      [actor.organizationId],
    );
    return rows.map((r) => ({
      memberId: r.member_id,
      userName: r.user_name,
      displayName: r.display_name,
      active: r.active,
      grantedBy: r.granted_by,
      createdAt: toDate(r.created_at),
    }));
  }

  async grant(actor: Actor, memberId: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(memberId)) throw new NotFound('member', memberId);
    try {
      await this.db.transaction(async (tx) => {
        const member = await tx.maybeOne<{ user_name: string; active: boolean }>(
          `select user_name, active from members where organization_id = $1 and id = $2 for share`,
          [actor.organizationId, memberId],
        );
        if (!member) throw new NotFound('member', memberId);
        // A deactivated member could not sign in anyway; granting it would only surprise later.
        if (!member.active) throw new Invalid('member_inactive', `${member.user_name} is deactivated: activate the member before making it an admin`, 'memberId');
        const n = await tx.run(`insert into organization_admins (organization_id, member_id, granted_by) values ($1, $2, $3) on conflict do nothing`, [
          actor.organizationId,
          memberId,
          actor.label,
        ]);
        if (n > 0) {
          await writeAudit(tx, actor, { action: 'admin.grant', resourceType: 'member', resourceId: memberId, resourceLabel: member.user_name });
          // Told by mail, in the same transaction (the outbox).
          await this.mail?.enqueueForMembers(tx, actor.organizationId, 'admin_granted', [memberId], { grantedBy: actor.label });
        }
      });
    } catch (e) {
      if (isForeignKeyViolation(e)) throw new NotFound('member', memberId);
      if (isUniqueViolation(e)) return;
      throw e;
    }
  }

  async revoke(actor: Actor, memberId: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(memberId)) throw new NotFound('member', memberId);
    // Keeps the console reachable: an admin cannot lock itself out by accident.
    if (actor.kind === 'admin' && actor.id === memberId) {
      throw new Invalid('cannot_revoke_self', 'You cannot remove your own admin role; ask another admin', 'memberId');
    }
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ user_name: string | null }>(
        `with d as (delete from organization_admins where organization_id = $1 and member_id = $2 returning organization_id, member_id)
         select m.user_name from d left join members m on m.organization_id = d.organization_id and m.id = d.member_id`,
        [actor.organizationId, memberId],
      );
      if (!row) throw new NotFound('organization_admin', memberId);
      await writeAudit(tx, actor, { action: 'admin.revoke', resourceType: 'member', resourceId: memberId, resourceLabel: row.user_name });
    });
  }

  /**
   * Names for ids the console shows (log details, shares): members by
   * userName (with their display name), groups, places and locks by name.
   * Ids of nothing (deleted since) are absent.
   */
  async labels(actor: Actor, ids: readonly string[]): Promise<Record<string, { kind: 'member' | 'group' | 'place' | 'lock'; label: string; sub: string | null }>> {
    requireAdmin(actor);
    const valid = [...new Set(ids.filter(isUuid))].slice(0, 2000);
    if (valid.length === 0) return {};
    const rows = await this.db.sql.all<{ id: string; kind: 'member' | 'group' | 'place' | 'lock'; label: string; sub: string | null }>(
      `select id::text, 'member' as kind, user_name as label, display_name as sub from members where organization_id = $1 and id = any($2::uuid[])
       union all select id::text, 'group', display_name, null from groups where organization_id = $1 and id = any($2::uuid[])
       union all select id::text, 'place', name, null from places where organization_id = $1 and id = any($2::uuid[])
       union all select id::text, 'lock', name, null from locks where organization_id = $1 and id = any($2::uuid[])`,
      [actor.organizationId, valid],
    );
    return Object.fromEntries(rows.map((r) => [r.id, { kind: r.kind, label: r.label, sub: r.sub }]));
  }

  /** Member ids among `ids` that are admins (people list badges); a signed-in member may ask about itself. */
  async adminIds(actor: Actor, ids: readonly string[]): Promise<Set<string>> {
    if (!(actor.kind === 'member' && ids.every((id) => id === actor.id))) requireAdmin(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return new Set();
    const rows = await this.db.sql.all<{ member_id: string }>(
      `select member_id from organization_admins where organization_id = $1 and member_id = any($2::uuid[])`,
      [actor.organizationId, valid],
    );
    return new Set(rows.map((r) => r.member_id));
  }
}
