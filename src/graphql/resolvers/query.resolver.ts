// Top-level queries: one domain call each; relations are field resolvers.
import { Arg, Ctx, ID, Info, Int, Query, Resolver } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { spUrls } from '../../domain/saml-config/sp-urls.js';
import { signOnUrl } from '../../domain/saml-config/saml-metadata.js';
import type { CertificateView } from '../../domain/saml-config/saml.service.js';
import type { GraphqlContext } from '../context.js';
import { connectionType, toConnection } from '../types/connection.js';
import { Member } from '../types/member.type.js';
import { Group, Lock, Place, Share } from '../types/directory.type.js';
import { AccessChangePage, AccessDecision, LockAccess, LockAccessPage, LockSnapshot, WhoCanOpenConnection } from '../types/access.type.js';
import { AuditEvent, Organization, SamlSettings, ScimStatus, SetupProgress } from '../types/organization.type.js';
import { DateTime, MemberOrder, type SpCertificateUse } from '../types/scalars.js';
import { MemberFilter } from '../inputs/member.input.js';
import { AuditFilterInput, GroupFilter, ShareFilter } from '../inputs/directory.input.js';
import {
  toAccessChangeType,
  toAccessDecisionType,
  toAuditEventType,
  toGrantType,
  toGroupType,
  toLockAccessType,
  toLockType,
  toMemberType,
  toHealthItemType,
  toOrganizationType,
  toPlaceType,
  toSamlSettingsType,
  toScimStatusType,
  toShareType,
} from '../presenters.js';
import { pageSize } from './paging.js';
import { nodeSelects, primeRelations, selectsTotalCount } from './lookahead.js';
import { Invalid } from '../../domain/errors.js';
import { integrationHealth } from '../../domain/health/integration-health.js';
import { HealthItem } from '../types/health.type.js';

export const MemberConnection = connectionType('Member', Member);
export const GroupConnection = connectionType('Group', Group);
export const PlaceConnection = connectionType('Place', Place);
export const LockConnection = connectionType('Lock', Lock);
export const ShareConnection = connectionType('Share', Share);
export const AuditEventConnection = connectionType('AuditEvent', AuditEvent, { totalCount: 'Number of events matching the filter, over all pages' });

const MAX_AUDIT_PAGE = 200;

@Resolver()
export class QueryResolver {
  @Query(() => Member, { nullable: true, description: 'The signed-in member (session cookie); null for an API key' })
  async viewer(@Ctx() ctx: GraphqlContext): Promise<Member | null> {
    if (ctx.actor.kind !== 'member') return null;
    return toMemberType(await ctx.domain.members.get(ctx.actor, ctx.actor.id));
  }

  @Query(() => Organization, { description: 'The organisation of the API key or of the signed-in member' })
  async organization(@Ctx() ctx: GraphqlContext): Promise<Organization> {
    return toOrganizationType(await ctx.domain.organizations.get(ctx.actor));
  }

  @Query(() => Member, { description: 'A member by id (NOT_FOUND when unknown in this organisation)' })
  async member(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<Member> {
    return toMemberType(await ctx.domain.members.get(ctx.actor, id));
  }

  @Query(() => MemberConnection, { description: 'Members, filtered and ordered; at most 500 per page' })
  async members(
    @Ctx() ctx: GraphqlContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('filter', () => MemberFilter, { nullable: true }) filter?: MemberFilter | null,
    @Arg('first', () => Int, { nullable: true, description: 'Page size, default 50, at most 500' }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('orderBy', () => MemberOrder, { nullable: true, description: 'Default USER_NAME' }) orderBy?: MemberOrder | null,
  ) {
    const page = await ctx.domain.members.list(ctx.actor, {
      text: filter?.text ?? undefined,
      active: filter?.active ?? undefined,
      source: filter?.source ?? undefined,
      groupId: filter?.groupId ?? undefined,
      orderBy: orderBy ?? undefined,
      after: after ?? undefined,
      first: pageSize(first),
      count: selectsTotalCount(info),
      // Groups and shares asked for on the nodes come in the page's own statement.
      include: { groups: nodeSelects(info, 'groups'), shares: nodeSelects(info, 'shares') },
    });
    primeRelations(ctx, page.relations);
    return toConnection(page.items.map(toMemberType), page.cursors, page.hasNextPage, page.totalCount);
  }

  @Query(() => Group, { description: 'A group by id' })
  async group(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<Group> {
    return toGroupType(await ctx.domain.groups.get(ctx.actor, id));
  }

  @Query(() => GroupConnection, { description: 'Groups ordered by displayName; at most 500 per page' })
  async groups(
    @Ctx() ctx: GraphqlContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('filter', () => GroupFilter, { nullable: true }) filter?: GroupFilter | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    const page = await ctx.domain.groups.list(ctx.actor, {
      text: filter?.text ?? undefined,
      source: filter?.source ?? undefined,
      after: after ?? undefined,
      first: pageSize(first),
      count: selectsTotalCount(info),
    });
    return toConnection(page.items.map(toGroupType), page.cursors, page.hasNextPage, page.totalCount);
  }

  @Query(() => PlaceConnection, { description: 'Places ordered by id' })
  async places(
    @Ctx() ctx: GraphqlContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    const page = await ctx.domain.places.listPlaces(ctx.actor, { first: pageSize(first), after: after ?? undefined });
    return toConnection(page.items.map(toPlaceType), page.cursors, page.hasNextPage, () => ctx.domain.places.countPlaces(ctx.actor));
  }

  @Query(() => LockConnection, { description: 'Locks ordered by id, optionally of one place' })
  async locks(
    @Ctx() ctx: GraphqlContext,
    @Arg('placeId', () => ID, { nullable: true }) placeId?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    const opts = { placeId: placeId ?? undefined };
    const page = await ctx.domain.places.listLocks(ctx.actor, { ...opts, first: pageSize(first), after: after ?? undefined });
    return toConnection(page.items.map(toLockType), page.cursors, page.hasNextPage, () => ctx.domain.places.countLocks(ctx.actor, opts));
  }

  @Query(() => ShareConnection, { description: 'Shares ordered by id, optionally of one member, group, place or lock; at most 500 per page' })
  async shares(
    @Ctx() ctx: GraphqlContext,
    @Arg('filter', () => ShareFilter, { nullable: true }) filter?: ShareFilter | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    const f = { memberId: filter?.memberId ?? undefined, groupId: filter?.groupId ?? undefined, placeId: filter?.placeId ?? undefined, lockId: filter?.lockId ?? undefined };
    const page = await ctx.domain.shares.list(ctx.actor, f, { first: pageSize(first), after: after ?? undefined });
    return toConnection(page.items.map(toShareType), page.cursors, page.hasNextPage, () => ctx.domain.shares.count(ctx.actor, f));
  }

  @Query(() => AccessDecision, { description: 'May this member open this lock at `at` (default now), and why (not)' })
  async canAccess(
    @Arg('memberId', () => ID) memberId: string,
    @Arg('lockId', () => ID) lockId: string,
    @Ctx() ctx: GraphqlContext,
    @Arg('at', () => DateTime, { nullable: true }) at?: Date | null,
  ): Promise<AccessDecision> {
    return toAccessDecisionType(await ctx.domain.access.canAccess(ctx.actor, memberId, lockId, at ?? new Date()));
  }

  @Query(() => WhoCanOpenConnection, { description: 'Active members who may open the lock at `at` (default now), each with its grants' })
  async whoCanOpen(
    @Arg('lockId', () => ID) lockId: string,
    @Ctx() ctx: GraphqlContext,
    @Arg('at', () => DateTime, { nullable: true }) at?: Date | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('text', () => String, { nullable: true, description: 'Part of the userName or display name (case-insensitive); totalCount counts the matches' })
    text?: string | null,
  ): Promise<WhoCanOpenConnection> {
    const n = pageSize(first);
    const count = () => ctx.domain.access.countWhoCanOpen(ctx.actor, lockId, at ?? undefined, text ?? undefined);
    if (n === 0) return { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }, get totalCount() { return count(); } };
    const page = await ctx.domain.access.whoCanOpen(ctx.actor, lockId, at ?? undefined, { first: n, after: after ?? undefined, text: text ?? undefined });
    const edges = page.items.map((m, i) => ({ cursor: page.cursors[i]!, node: toMemberType(m.member), grants: m.grants.map(toGrantType) }));
    return {
      edges,
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
      // Counted only when a client asks for it.
      get totalCount() {
        return count();
      },
    };
  }

  @Query(() => [LockAccess], { description: 'Every lock the member may open at `at` (default now), with the grants that allow it' })
  async accessOf(
    @Arg('memberId', () => ID) memberId: string,
    @Ctx() ctx: GraphqlContext,
    @Arg('at', () => DateTime, { nullable: true }) at?: Date | null,
  ): Promise<LockAccess[]> {
    return (await ctx.domain.access.accessOf(ctx.actor, memberId, at ?? new Date())).map(toLockAccessType);
  }

  @Query(() => AuditEventConnection, { description: 'The audit log (provisioning, sign-ins, admin activity), newest first (admin keys only)' })
  async auditEvents(
    @Ctx() ctx: GraphqlContext,
    @Arg('filter', () => AuditFilterInput, { nullable: true }) filter?: AuditFilterInput | null,
    @Arg('first', () => Int, { nullable: true, description: 'Default 50, at most 200' }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    const n = pageSize(first, MAX_AUDIT_PAGE);
    let before: string | undefined;
    if (after) {
      before = Buffer.from(after, 'base64url').toString('utf8');
      if (!/^\d{1,19}$/.test(before)) throw new Invalid('invalid_cursor', 'The cursor is not one this API handed out', 'after');
    }
    const f = {
      actionPrefix: filter?.actionPrefix ?? undefined,
      outcome: filter?.outcome ?? undefined,
      resourceId: filter?.resourceId ?? undefined,
      resourceLabel: filter?.resourceLabel ?? undefined,
      memberId: filter?.memberId ?? undefined,
      search: filter?.search ?? undefined,
      adminActivity: filter?.adminActivity ?? undefined,
      provisioning: filter?.provisioning ?? undefined,
      since: filter?.since ?? undefined,
      until: filter?.until ?? undefined,
    };
    const page = n === 0 ? { items: [], cursors: [], hasNextPage: false } : await ctx.domain.audit.page(ctx.actor, { ...f, before, limit: n });
    return toConnection(page.items.map(toAuditEventType), page.cursors.map((id) => Buffer.from(id).toString('base64url')), page.hasNextPage, () => ctx.domain.audit.count(ctx.actor, f));
  }

  @Query(() => ScimStatus, { description: 'SCIM provisioning status (admin keys only); never the token' })
  async scimStatus(@Ctx() ctx: GraphqlContext): Promise<ScimStatus> {
    return toScimStatusType(await ctx.domain.organizations.scimStatus(ctx.actor));
  }

  @Query(() => SetupProgress, { description: "The guided Entra set-up's checklist (admin keys only): when Gatehouse first saw each step" })
  async setupProgress(@Ctx() ctx: GraphqlContext): Promise<SetupProgress> {
    return { ...(await ctx.domain.organizations.setupProgress(ctx.actor)) };
  }

  @Query(() => [HealthItem], { description: "Integration health (admin keys only): the console's strip, each integration's status, state and facts, in its order" })
  async integrationHealth(@Ctx() ctx: GraphqlContext): Promise<HealthItem[]> {
    return (await integrationHealth(ctx.domain, ctx.actor, ctx.now)).map(toHealthItemType);
  }

  @Query(() => SamlSettings, { nullable: true, description: 'SAML settings (admin keys only): the URLs to paste into Entra, and what was imported from its metadata' })
  async samlSettings(@Ctx() ctx: GraphqlContext): Promise<SamlSettings | null> {
    const settings = await ctx.domain.saml.settings(ctx.actor); // admin only
    const org = await ctx.domain.organizations.get(ctx.actor);
    const urls = spUrls(ctx.publicUrl, org.domain);
    const cert = (c: CertificateView) => ({
      subject: c.subject || null,
      fingerprintSha256: c.fingerprint,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      daysLeft: c.daysLeft,
      warning: c.warning,
    });
    const sp = settings.spCertificates.find((c) => c.active) ?? null;
    return toSamlSettingsType({
      entityId: urls.entityId,
      replyUrl: urls.acsUrl,
      signOnUrl: urls.loginUrl,
      metadataUrl: urls.metadataUrl,
      idpEntityId: settings.idpEntityId,
      idpSsoUrl: signOnUrl(settings.ssoUrls),
      idpMetadataUrl: settings.metadataUrl,
      idpMetadataFetchedAt: settings.metadataFetchedAt,
      idpCertificates: settings.idpCertificates.map(cert),
      spCertificate: sp && cert(sp),
      spCertificates: settings.spCertificates.map((c) => ({ ...cert(c), id: c.id, use: c.use as SpCertificateUse })),
      configured: settings.configured,
      idpSsoUrls: [...new Set(settings.ssoUrls.map((u) => u.location))],
      idpMetadataRefreshedAt: settings.lastRefreshAt,
      idpMetadataRefreshError: settings.lastRefreshError,
      encryptionRequired: settings.requireEncryption,
      logoutUrl: urls.logoutUrl,
      idpLogoutUrl: settings.idpLogout?.location ?? null,
      idpLogoutBinding: settings.idpLogout?.binding ?? null,
      singleLogoutActive: settings.singleLogoutActive,
      warnings: settings.warnings,
      idpInitiatedAllowed: settings.allowIdpInitiated,
    });
  }

  @Query(() => AccessChangePage, {
    description:
      'The access change feed for door controllers. Poll with the last `pageInfo.endCursor` as `after` (omit it the first ' +
      'time to read from the beginning): entries come in commit order, each naming what changed and, for a granted share, ' +
      'its validity window, which the controller enforces by its own clock. Entries are numbered when they commit, so a ' +
      'cursor never skips a change that commits late. Read until hasNextPage is false, then poll again later; at most 1000 per page. ' +
      'A cursor older than the feed keeps fails with reason cursor_expired: load the snapshot again.',
  })
  async accessChanges(
    @Ctx() ctx: GraphqlContext,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('first', () => Int, { nullable: true, description: 'Default 100, at most 1000' }) first?: number | null,
  ): Promise<AccessChangePage> {
    const page = await ctx.domain.access.changes(ctx.actor, after ?? null, first ?? 100);
    return {
      changes: page.changes.map(toAccessChangeType),
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: false, startCursor: page.changes[0]?.cursor ?? null, endCursor: page.endCursor },
    };
  }

  @Query(() => LockAccessPage, {
    description:
      'Per-lock changes of these locks (and of every lock of these places, also locks added later), in commit order, after ' +
      '`after` (a cursor of this feed, of accessChanges or of lockSnapshot). Each entry says which member may now open which ' +
      'lock. A cursor older than the feed keeps fails with reason cursor_expired: load the snapshot again.',
  })
  async lockAccessChanges(
    @Ctx() ctx: GraphqlContext,
    @Arg('lockIds', () => [ID], { nullable: true }) lockIds?: string[] | null,
    @Arg('placeIds', () => [ID], { nullable: true }) placeIds?: string[] | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('first', () => Int, { nullable: true, description: 'Default 100, at most 1000' }) first?: number | null,
  ): Promise<LockAccessPage> {
    const page = await ctx.domain.access.lockChanges(ctx.actor, { lockIds: lockIds ?? [], placeIds: placeIds ?? [] }, after ?? null, first ?? 100);
    return {
      entries: page.entries,
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: false, startCursor: page.entries[0]?.cursor ?? null, endCursor: page.endCursor },
    };
  }

  @Query(() => LockSnapshot, {
    description:
      'The complete allow-lists of these locks (and of every lock of these places) with the cursor at which they are exact, ' +
      'in one consistent read: a door controller starts here, then follows lockAccessChanges or the lockAccess subscription ' +
      'after `cursor`. Load it again when a cursor fails with reason cursor_expired.',
  })
  async lockSnapshot(
    @Ctx() ctx: GraphqlContext,
    @Arg('lockIds', () => [ID], { nullable: true }) lockIds?: string[] | null,
    @Arg('placeIds', () => [ID], { nullable: true }) placeIds?: string[] | null,
  ): Promise<LockSnapshot> {
    return ctx.domain.access.lockSnapshot(ctx.actor, { lockIds: lockIds ?? [], placeIds: placeIds ?? [] });
  }
}
