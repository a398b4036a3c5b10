// Inputs for groups, places, locks, shares, audit and the feed.
import { Field, ID, InputType } from 'type-graphql';
import { AuditOutcome, DateTime, ShareRole, Source } from '../types/scalars.js';

@InputType()
export class CreateGroupInput {
  @Field(() => String) displayName!: string;
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field(() => [ID], { nullable: true, description: 'Initial members' }) memberIds?: string[] | null;
}

@InputType()
export class UpdateGroupInput {
  @Field(() => String, { nullable: true }) displayName?: string | null;
  @Field(() => String, { nullable: true }) externalId?: string | null;
}

@InputType()
export class GroupFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive text in displayName' }) text?: string | null;
  @Field(() => Source, { nullable: true }) source?: Source | null;
}

@InputType()
export class ShareFilter {
  @Field(() => ID, { nullable: true, description: 'Shares granted to this member directly' }) memberId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Shares granted to this group' }) groupId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Shares on this place' }) placeId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Shares on this lock' }) lockId?: string | null;
}

@InputType()
export class CreatePlaceInput {
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) address?: string | null;
  @Field(() => String, { nullable: true, description: 'IANA time zone, e.g. Europe/Paris' }) timeZone?: string | null;
}

@InputType()
export class CreateLockInput {
  @Field(() => ID) placeId!: string;
  @Field(() => String) name!: string;
}

@InputType({ description: 'Exactly one of memberId or groupId, and exactly one of placeId or lockId' })
export class GrantShareInput {
  @Field(() => ID, { nullable: true }) memberId?: string | null;
  @Field(() => ID, { nullable: true }) groupId?: string | null;
  @Field(() => ID, { nullable: true }) placeId?: string | null;
  @Field(() => ID, { nullable: true }) lockId?: string | null;
  @Field(() => ShareRole, { nullable: true, description: 'Default USER' }) role?: ShareRole | null;
  @Field(() => DateTime, { nullable: true, description: 'Start of the validity window (inclusive)' }) validFrom?: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'End of the validity window (exclusive)' }) validUntil?: Date | null;
}

@InputType()
export class AuditFilterInput {
  @Field(() => String, { nullable: true, description: 'Action prefix, e.g. "scim." or "member.create"' }) actionPrefix?: string | null;
  @Field(() => AuditOutcome, { nullable: true }) outcome?: AuditOutcome | null;
  @Field(() => String, { nullable: true }) resourceId?: string | null;
  @Field(() => String, { nullable: true, description: 'Resource label, case-insensitive (a userName)' }) resourceLabel?: string | null;
  @Field(() => ID, { nullable: true, description: "A member's history: events on this member and the group and share changes that name it" })
  memberId?: string | null;
  @Field(() => String, { nullable: true, description: 'Part of a userName, display name or group name (case-insensitive), also in membership changes' })
  search?: string | null;
  @Field(() => Boolean, {
    nullable: true,
    description: 'Admin activity only: what console admins did, admin links, and settings changes (SCIM token, SAML, API keys, webhooks, import, mail, guard) by anyone',
  })
  adminActivity?: boolean | null;
  @Field(() => Boolean, { nullable: true, description: 'The provisioning log only: SCIM settings and everything the SCIM client did' }) provisioning?: boolean | null;
  @Field(() => DateTime, { nullable: true, description: 'From this time (inclusive)' }) since?: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'Until this time (exclusive)' }) until?: Date | null;
}
