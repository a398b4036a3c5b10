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
import * as adminSql from './admin.sql.js';
import { selectMemberByUserName } from '../member/member.sql.js';

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
      const created = await adminSql.insertAdminMember(tx, organizationId, {
        id: crypto.randomUUID(),
        userName,
        displayName: userName === BOOTSTRAP_USER_NAME ? 'Bootstrap admin' : null,
      });
      const member = created ?? (await selectMemberByUserName(tx, organizationId, userName));
      if (!member) throw new NotFound('member', userName);
      if ('active' in member && !member.active) throw new Invalid('member_inactive', `The member "${member.userName}" is deactivated`, 'member');
      if (created) {
        await writeAudit(tx, actor, { action: 'member.create', resourceType: 'member', resourceId: created.id, resourceLabel: created.userName, detail: { reason: 'admin bootstrap' } });
      }
      await adminSql.insertAdmin(tx, organizationId, member.id, 'cli');
      const expiresAt = await adminSql.insertBootstrapLink(tx, organizationId, secret.hash, member.id, minutes);
      await writeAudit(tx, actor, {
        action: 'admin.bootstrap_link.create',
        resourceType: 'member',
        resourceId: member.id,
        resourceLabel: member.userName,
        detail: { expiresInMinutes: minutes },
      });
      return {
        token: secret.value,
        expiresAt,
        organizationId,
        memberId: member.id,
        userName: member.userName,
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
      const row = await adminSql.useBootstrapLink(tx, hashSecret(token));
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
    const rows = await adminSql.selectSignInCandidates(this.db.sql, t, emailDomain, at >= 0 ? '' : t);
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
    if (!(await adminSql.isAdmin(this.db.sql, member.organizationId, member.id))) throw new Forbidden('admin_role_required', 'You are signed in, but you are not an administrator of this organisation');
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
    const rows = await adminSql.selectAdmins(this.db.sql, actor.organizationId);
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
        const member = await adminSql.selectMemberForShare(tx, actor.organizationId, memberId);
        if (!member) throw new NotFound('member', memberId);
        // A deactivated member could not sign in anyway; granting it would only surprise later.
        if (!member.active) throw new Invalid('member_inactive', `${member.user_name} is deactivated: activate the member before making it an admin`, 'memberId');
        if (await adminSql.insertAdmin(tx, actor.organizationId, memberId, actor.label)) {
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
      const row = await adminSql.deleteAdmin(tx, actor.organizationId, memberId);
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
    const rows = await adminSql.selectLabels(this.db.sql, actor.organizationId, valid);
    return Object.fromEntries(rows.map((r) => [r.id, { kind: r.kind, label: r.label, sub: r.sub }]));
  }

  /** Member ids among `ids` that are admins (people list badges); a signed-in member may ask about itself. */
  async adminIds(actor: Actor, ids: readonly string[]): Promise<Set<string>> {
    if (!(actor.kind === 'member' && ids.every((id) => id === actor.id))) requireAdmin(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return new Set();
    return new Set(await adminSql.selectAdminIds(this.db.sql, actor.organizationId, valid));
  }
}
