// Relations between nodes, each through a per-request DataLoader: a page of
// N members costs one statement per relation, not N.
import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { Member } from '../types/member.type.js';
import { Group, Lock, Place, Share } from '../types/directory.type.js';
import { LockAccess } from '../types/access.type.js';
import { DateTime } from '../types/scalars.js';
import { connectionType, toConnection } from '../types/connection.js';
import { toGroupType, toLockAccessType, toLockType, toMemberType, toPlaceType, toShareType } from '../presenters.js';
import { fromIdCursor, idCursor, pageSize } from './paging.js';

export const GroupMemberConnection = connectionType('GroupMember', Member, { totalCount: 'Number of members of the group' });

@Resolver(() => Member)
export class MemberRelationsResolver {
  @FieldResolver(() => [Group], { description: 'Groups the member belongs to, by displayName' })
  async groups(@Root() m: Member, @Ctx() ctx: GraphqlContext): Promise<Group[]> {
    return (await ctx.loaders.groupsOfMember.load(m.id)).map(toGroupType);
  }

  @FieldResolver(() => [Share], { description: 'Shares granted to the member directly (group shares are on Group.shares)' })
  async shares(@Root() m: Member, @Ctx() ctx: GraphqlContext): Promise<Share[]> {
    return (await ctx.loaders.sharesOfMember.load(m.id)).map(toShareType);
  }

  @FieldResolver(() => Member, { nullable: true, description: 'The manager (enterprise extension)' })
  async manager(@Root() m: Member, @Ctx() ctx: GraphqlContext): Promise<Member | null> {
    if (!m.enterprise.managerId) return null;
    const found = await ctx.loaders.member.load(m.enterprise.managerId);
    return found && toMemberType(found);
  }

  @FieldResolver(() => [LockAccess], {
    description: 'Locks the member may open at `at` (default now). One statement per member: ask it of one member, not of a page',
    complexity: ({ childComplexity }) => 50 + childComplexity * 10,
  })
  async access(@Root() m: Member, @Ctx() ctx: GraphqlContext, @Arg('at', () => DateTime, { nullable: true }) at?: Date | null): Promise<LockAccess[]> {
    return (await ctx.domain.access.accessOf(ctx.actor, m.id, at ?? new Date())).map(toLockAccessType);
  }
}

@Resolver(() => Group)
export class GroupRelationsResolver {
  @FieldResolver(() => GroupMemberConnection, { description: 'Members of the group ordered by id; at most 500 per page' })
  async members(
    @Root() g: Group,
    @Ctx() ctx: GraphqlContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ) {
    const page = await ctx.loaders.groupMembers(pageSize(first), fromIdCursor(after)).load(g.id);
    return toConnection(page.members.map(toMemberType), page.members.map((m) => idCursor(m.id)), page.hasNextPage, page.totalCount);
  }

  @FieldResolver(() => [Share], { description: 'Shares granted to the group (they apply to each member)' })
  async shares(@Root() g: Group, @Ctx() ctx: GraphqlContext): Promise<Share[]> {
    return (await ctx.loaders.sharesOfGroup.load(g.id)).map(toShareType);
  }
}

@Resolver(() => Place)
export class PlaceRelationsResolver {
  @FieldResolver(() => [Lock], { description: 'The locks (doors) of the place' })
  async locks(@Root() p: Place, @Ctx() ctx: GraphqlContext): Promise<Lock[]> {
    return (await ctx.loaders.locksOfPlace.load(p.id)).map(toLockType);
  }
}

@Resolver(() => Lock)
export class LockRelationsResolver {
  @FieldResolver(() => Place)
  async place(@Root() l: Lock, @Ctx() ctx: GraphqlContext): Promise<Place | null> {
    const p = await ctx.loaders.place.load(l.placeId);
    return p && toPlaceType(p);
  }
}

@Resolver(() => Share)
export class ShareRelationsResolver {
  @FieldResolver(() => Member, { nullable: true, description: 'The member the share is granted to (null for a group share)' })
  async member(@Root() s: Share, @Ctx() ctx: GraphqlContext): Promise<Member | null> {
    const m = s.memberId ? await ctx.loaders.member.load(s.memberId) : null;
    return m && toMemberType(m);
  }

  @FieldResolver(() => Group, { nullable: true, description: 'The group the share is granted to (null for a member share)' })
  async group(@Root() s: Share, @Ctx() ctx: GraphqlContext): Promise<Group | null> {
    const g = s.groupId ? await ctx.loaders.group.load(s.groupId) : null;
    return g && toGroupType(g);
  }

  @FieldResolver(() => Place, { nullable: true, description: 'The place the share covers (null for a lock share)' })
  async place(@Root() s: Share, @Ctx() ctx: GraphqlContext): Promise<Place | null> {
    const p = s.placeId ? await ctx.loaders.place.load(s.placeId) : null;
    return p && toPlaceType(p);
  }

  @FieldResolver(() => Lock, { nullable: true, description: 'The lock the share covers (null for a place share)' })
  async lock(@Root() s: Share, @Ctx() ctx: GraphqlContext): Promise<Lock | null> {
    const l = s.lockId ? await ctx.loaders.lock.load(s.lockId) : null;
    return l && toLockType(l);
  }
}
