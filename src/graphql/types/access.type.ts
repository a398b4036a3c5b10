// Effective access and the access change feed.
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { AccessChangeKind, AccessReason, DateTime, ShareRole, ShareScope } from './scalars.js';
import { Member } from './member.type.js';
import { PageInfo } from './connection.js';

@ObjectType({ simpleResolvers: true, description: 'One share that lets a member open a lock, directly or through one group' })
export class Grant {
  @Field(() => ID) shareId!: string;
  @Field(() => ShareRole) role!: ShareRole;
  @Field(() => ShareScope) scope!: ShareScope;
  @Field(() => ID, { nullable: true, description: 'The group the share reaches the member through; null for a direct share' }) groupId!: string | null;
  @Field(() => String, { nullable: true }) groupName!: string | null;
  @Field(() => DateTime, { nullable: true }) validFrom!: Date | null;
  @Field(() => DateTime, { nullable: true }) validUntil!: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'Whether a member may open a lock at a time, and why' })
export class AccessDecision {
  @Field(() => Boolean) allowed!: boolean;
  @Field(() => AccessReason) reason!: AccessReason;
  @Field(() => [Grant], { description: 'The shares that allow it (or, outside their window, that would)' }) grants!: Grant[];
}

@ObjectType({ simpleResolvers: true, description: 'A lock a member may open, with the grants that allow it' })
export class LockAccess {
  @Field(() => ID) lockId!: string;
  @Field(() => String) lockName!: string;
  @Field(() => ID) placeId!: string;
  @Field(() => String) placeName!: string;
  @Field(() => [Grant]) grants!: Grant[];
}

@ObjectType('WhoCanOpenEdge', { simpleResolvers: true })
export class WhoCanOpenEdge {
  @Field(() => String) cursor!: string;
  @Field(() => Member) node!: Member;
  @Field(() => [Grant], { description: 'Why this member may open the lock' }) grants!: Grant[];
}

@ObjectType('WhoCanOpenConnection', { simpleResolvers: true, description: 'Active members who may open a lock at a time, ordered by member id' })
export class WhoCanOpenConnection {
  @Field(() => [WhoCanOpenEdge]) edges!: WhoCanOpenEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int, { description: 'How many active members may open the lock at that time, over all pages (one count statement, run only when asked)' })
  totalCount!: number | Promise<number>;
}

@ObjectType({
  simpleResolvers: true,
  description:
    'One change of who may open which lock. A door controller applies it to its local list: for share_granted it adds the ' +
    'share with its validity window (and enforces the window itself, by its clock); for share_revoked, member_deactivated, ' +
    'member_deleted, group_member_removed, group_deleted, lock_deleted and place_deleted it removes what the ids name; for ' +
    'member_activated and group_member_added it re-reads the member (accessOf) or the lock (whoCanOpen).',
})
export class AccessChange {
  @Field(() => String, { description: 'Position of this entry in the feed' }) cursor!: string;
  @Field(() => DateTime, { description: 'When the change was written (its transaction time)' }) at!: Date;
  @Field(() => AccessChangeKind) kind!: AccessChangeKind;
  @Field(() => ID, { nullable: true }) memberId!: string | null;
  @Field(() => ID, { nullable: true }) groupId!: string | null;
  @Field(() => ID, { nullable: true }) shareId!: string | null;
  @Field(() => ID, { nullable: true }) placeId!: string | null;
  @Field(() => ID, { nullable: true }) lockId!: string | null;
  @Field(() => DateTime, { nullable: true, description: 'Validity window start of a granted share (inclusive)' }) validFrom!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'Validity window end of a granted share (exclusive)' }) validUntil!: Date | null;
}

@ObjectType({
  simpleResolvers: true,
  description:
    'A page of the access change feed, in commit order. Keep `pageInfo.endCursor` and pass it as `after` on the next poll; ' +
    'an empty page returns the cursor given, so polling never loses its place.',
})
export class AccessChangePage {
  @Field(() => [AccessChange]) changes!: AccessChange[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType({ simpleResolvers: true, description: 'A validity window of a grant; open at either end when null (from inclusive, until exclusive)' })
export class AccessWindow {
  @Field(() => DateTime, { nullable: true }) validFrom!: Date | null;
  @Field(() => DateTime, { nullable: true }) validUntil!: Date | null;
}

@ObjectType({
  simpleResolvers: true,
  description:
    'One change of who may open one lock, resolved when the change committed: set (member, lock) to `mayOpen` and keep its ' +
    '`windows` (to enforce by the controller\'s own clock as well). No other lookup is needed.',
})
export class LockAccessEntry {
  @Field(() => String, { description: 'Position of this entry in the organisation\'s feed: resume after it' }) cursor!: string;
  @Field(() => DateTime, { description: 'When the change committed' }) at!: Date;
  @Field(() => ID) memberId!: string;
  @Field(() => ID) lockId!: string;
  @Field(() => ID) placeId!: string;
  @Field(() => Boolean, { description: 'Whether the member may open the lock now (active, with a grant whose window is open)' }) mayOpen!: boolean;
  @Field(() => [AccessWindow], { description: 'Windows of the member\'s grants on the lock that have not ended; empty: no access left' })
  windows!: AccessWindow[];
}

@ObjectType({ simpleResolvers: true, description: 'A page of per-lock entries, in commit order' })
export class LockAccessPage {
  @Field(() => [LockAccessEntry]) entries!: LockAccessEntry[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType({ simpleResolvers: true, description: 'A member on a lock\'s allow-list: active, with a grant that has not ended' })
export class AllowedMember {
  @Field(() => ID) memberId!: string;
  @Field(() => String) userName!: string;
  @Field(() => Boolean, { description: 'Whether the member may open the lock now (a window is open)' }) mayOpen!: boolean;
  @Field(() => [AccessWindow], { description: 'Windows of the member\'s grants on the lock that have not ended' }) windows!: AccessWindow[];
}

@ObjectType({ simpleResolvers: true, description: 'The complete allow-list of one lock' })
export class LockAllowList {
  @Field(() => ID) lockId!: string;
  @Field(() => ID) placeId!: string;
  @Field(() => [AllowedMember]) members!: AllowedMember[];
}

@ObjectType({
  simpleResolvers: true,
  description: 'Allow-lists of locks and the feed cursor at which they are exact (read in one consistent snapshot): follow the changes after it.',
})
export class LockSnapshot {
  @Field(() => String, { description: 'Pass as `after` to lockAccessChanges or the lockAccess subscription' }) cursor!: string;
  @Field(() => [LockAllowList]) locks!: LockAllowList[];
}
