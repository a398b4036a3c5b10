// Groups, places, locks and shares. Relations are field resolvers.
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTime, ShareRole, Source } from './scalars.js';

@ObjectType({ simpleResolvers: true, description: 'A group of members; its shares apply to each member' })
export class Group {
  @Field(() => ID) id!: string;
  @Field(() => String) displayName!: string;
  @Field(() => String, { nullable: true }) externalId!: string | null;
  @Field(() => Source, { description: 'Groups from SCIM or an import are managed there: their members cannot be changed here' }) source!: Source;
  @Field(() => Boolean, { description: 'True when SCIM or an import keeps the membership (manual edits are refused)' }) managed!: boolean;
  @Field(() => Int) version!: number;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime) updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A site with doors' })
export class Place {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) address!: string | null;
  @Field(() => String, { nullable: true, description: 'IANA time zone of the place' }) timeZone!: string | null;
  @Field(() => DateTime) createdAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'A door of a place' })
export class Lock {
  @Field(() => ID) id!: string;
  @Field(() => ID) placeId!: string;
  @Field(() => String) name!: string;
  @Field(() => DateTime) createdAt!: Date;
}

@ObjectType({
  simpleResolvers: true,
  description:
    'A role on a place (covering all its locks) or on one lock, granted to a member or to a group (each of its members). ' +
    'It applies only while the member is active and, when a window is set, from validFrom (inclusive) until validUntil (exclusive).',
})
export class Share {
  @Field(() => ID) id!: string;
  @Field(() => ShareRole) role!: ShareRole;
  @Field(() => ID, { nullable: true }) memberId!: string | null;
  @Field(() => ID, { nullable: true }) groupId!: string | null;
  @Field(() => ID, { nullable: true }) placeId!: string | null;
  @Field(() => ID, { nullable: true }) lockId!: string | null;
  @Field(() => DateTime, { nullable: true, description: 'Start of the validity window (inclusive); null: no start' }) validFrom!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'End of the validity window (exclusive); null: no end' }) validUntil!: Date | null;
  @Field(() => String, { description: 'admin, import or scim' }) source!: string;
  @Field(() => DateTime) createdAt!: Date;
}
