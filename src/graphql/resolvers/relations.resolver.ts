// Relations between nodes, each through a per-request DataLoader: a page of
// N members costs one statement per relation, not N.
import { Arg, Ctx, FieldResolver, Info, Int, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { NotFound } from '../../domain/errors.js';
import type { GraphqlContext } from '../context.js';
import { Member } from '../types/member.type.js';
import { Group, Lock, Place, Share } from '../types/directory.type.js';
import { LockAccess } from '../types/access.type.js';
import { DateTime } from '../types/scalars.js';
import { AuditEvent, AuditSubject } from '../types/organization.type.js';
import { idsNamedBy } from '../../domain/audit/audit.service.js';
import { connectionType, toConnection } from '../types/connection.js';
import { toGroupType, toLockAccessType, toLockType, toMemberType, toPlaceType, toShareType } from '../presenters.js';
import { pageSize } from './paging.js';
import { selectsTotalCount } from './lookahead.js';

/** Maps a value that may still be loading, staying synchronous when it is known. */
function then<T, U>(v: T | Promise<T>, f: (t: T) => U): U | Promise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

export const GroupMemberConnection = connectionType('GroupMember', Member, { totalCount: 'Number of members of the group' });

@Resolver(() => Member)
export class MemberRelationsResolver {
  @FieldResolver(() => [Group], { description: 'Groups the member belongs to, by displayName' })
  groups(@Root() m: Member, @Ctx() ctx: GraphqlContext): Group[] | Promise<Group[]> {
    return then(ctx.loaders.groupsOfMember.get(m.id), (gs) => gs.map(toGroupType));
  }

  @FieldResolver(() => [Share], { description: 'Shares granted to the member directly (group shares are on Group.shares)' })
  shares(@Root() m: Member, @Ctx() ctx: GraphqlContext): Share[] | Promise<Share[]> {
    return then(ctx.loaders.sharesOfMember.get(m.id), (ss) => ss.map(toShareType));
  }

  @FieldResolver(() => Member, { nullable: true, description: 'The manager (enterprise extension)' })
  manager(@Root() m: Member, @Ctx() ctx: GraphqlContext): Member | null | Promise<Member | null> {
    if (!m.enterprise.managerId) return null;
    return then(ctx.loaders.member.get(m.enterprise.managerId), (found) => found && toMemberType(found));
  }

  @FieldResolver(() => Boolean, {
    description: 'An administrator of the organisation (may open the admin console). Admin keys and console admins; a signed-in member may ask about itself',
  })
  organizationAdmin(@Root() m: Member, @Ctx() ctx: GraphqlContext): boolean | Promise<boolean> {
    return ctx.loaders.organizationAdmin.get(m.id);
  }

  @FieldResolver(() => [LockAccess], {
    description: 'Locks the member may open at `at` (default now); batched: one statement for a whole page of members',
  })
  async access(@Root() m: Member, @Ctx() ctx: GraphqlContext, @Arg('at', () => DateTime, { nullable: true }) at?: Date | null): Promise<LockAccess[]> {
    const found = await ctx.loaders.accessOfMember(at ?? ctx.now).load(m.id);
    if (!found) throw new NotFound('member', m.id);
    return found.map(toLockAccessType);
  }
}

@Resolver(() => Group)
export class GroupRelationsResolver {
  @FieldResolver(() => GroupMemberConnection, { description: 'Members of the group ordered by id; at most 500 per page' })
  async members(
    @Root() g: Group,
    @Ctx() ctx: GraphqlContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    const page = await ctx.loaders.groupMembers(pageSize(first), after ?? undefined, selectsTotalCount(info)).load(g.id);
    return toConnection(page.items.map(toMemberType), page.cursors, page.hasNextPage, page.totalCount);
  }

  @FieldResolver(() => [Share], { description: 'Shares granted to the group (they apply to each member)' })
  shares(@Root() g: Group, @Ctx() ctx: GraphqlContext): Share[] | Promise<Share[]> {
    return then(ctx.loaders.sharesOfGroup.get(g.id), (ss) => ss.map(toShareType));
  }
}

@Resolver(() => Place)
export class PlaceRelationsResolver {
  @FieldResolver(() => [Lock], { description: 'The locks (doors) of the place' })
  locks(@Root() p: Place, @Ctx() ctx: GraphqlContext): Lock[] | Promise<Lock[]> {
    return then(ctx.loaders.locksOfPlace.get(p.id), (ls) => ls.map(toLockType));
  }
}

@Resolver(() => Lock)
export class LockRelationsResolver {
  @FieldResolver(() => Place)
  place(@Root() l: Lock, @Ctx() ctx: GraphqlContext): Place | null | Promise<Place | null> {
    return then(ctx.loaders.place.get(l.placeId), (p) => p && toPlaceType(p));
  }
}

@Resolver(() => Share)
export class ShareRelationsResolver {
  @FieldResolver(() => Member, { nullable: true, description: 'The member the share is granted to (null for a group share)' })
  member(@Root() s: Share, @Ctx() ctx: GraphqlContext): Member | null | Promise<Member | null> {
    return s.memberId ? then(ctx.loaders.member.get(s.memberId), (m) => m && toMemberType(m)) : null;
  }

  @FieldResolver(() => Group, { nullable: true, description: 'The group the share is granted to (null for a member share)' })
  group(@Root() s: Share, @Ctx() ctx: GraphqlContext): Group | null | Promise<Group | null> {
    return s.groupId ? then(ctx.loaders.group.get(s.groupId), (g) => g && toGroupType(g)) : null;
  }

  @FieldResolver(() => Place, { nullable: true, description: 'The place the share covers (null for a lock share)' })
  place(@Root() s: Share, @Ctx() ctx: GraphqlContext): Place | null | Promise<Place | null> {
    return s.placeId ? then(ctx.loaders.place.get(s.placeId), (p) => p && toPlaceType(p)) : null;
  }

  @FieldResolver(() => Lock, { nullable: true, description: 'The lock the share covers (null for a place share)' })
  lock(@Root() s: Share, @Ctx() ctx: GraphqlContext): Lock | null | Promise<Lock | null> {
    return s.lockId ? then(ctx.loaders.lock.get(s.lockId), (l) => l && toLockType(l)) : null;
  }
}

@Resolver(() => AuditEvent)
export class AuditEventRelationsResolver {
  @FieldResolver(() => [AuditSubject], {
    description:
      'The members, groups, places and locks the event names (its resource, and the ids in its detail such as the members a ' +
      'membership change added or removed), by their names now; things deleted since are absent. Batched for a whole page.',
  })
  async subjects(@Root() e: AuditEvent, @Ctx() ctx: GraphqlContext): Promise<AuditSubject[]> {
    const found = await Promise.all(idsNamedBy(e).map((id) => ctx.loaders.subject.get(id)));
    return found.flatMap((s) => (s ? [{ ...s }] : []));
  }
}
