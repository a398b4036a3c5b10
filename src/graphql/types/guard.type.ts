// The mass-deprovision guard (README, Mass-deprovision guard): settings and held changes.
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { DateTime } from './scalars.js';

@ObjectType({ simpleResolvers: true, description: 'Holds SCIM deactivations and deletions beyond a threshold of the active members within a window' })
export class DeprovisionGuard {
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => Int, { description: 'Hold beyond this percentage of the members active when the window began…' }) thresholdPercent!: number;
  @Field(() => Int, { description: '…and beyond at least this many members…' }) minCount!: number;
  @Field(() => Int, { description: '…revoked by one source within this sliding window' }) windowMinutes!: number;
  @Field(() => Int, { description: 'Changes held now, waiting for an admin' }) held!: number;
}

@InputType({ description: 'Absent fields are kept' })
export class DeprovisionGuardInput {
  @Field(() => Boolean, { nullable: true }) enabled?: boolean | null;
  @Field(() => Int, { nullable: true }) thresholdPercent?: number | null;
  @Field(() => Int, { nullable: true }) minCount?: number | null;
  @Field(() => Int, { nullable: true }) windowMinutes?: number | null;
}

@ObjectType({ simpleResolvers: true, description: 'A change the mass-deprovision guard holds (or held)' })
export class HeldChange {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'scim or import' }) source!: string;
  @Field(() => String, { description: 'Who asked (the SCIM token, the import)' }) actorLabel!: string;
  @Field(() => String, { description: 'deactivate, delete or group_remove' }) kind!: string;
  @Field(() => ID) memberId!: string;
  @Field(() => String, { nullable: true }) memberLabel!: string | null;
  @Field(() => ID, { nullable: true }) groupId!: string | null;
  @Field(() => String, { description: 'held, approved or discarded' }) status!: string;
  @Field(() => DateTime) heldAt!: Date;
  @Field(() => Int, { description: 'How often the same change was asked for again while held' }) repeats!: number;
  @Field(() => DateTime, { description: 'When the source last asked for it (again)' }) lastAskedAt!: Date;
  @Field(() => DateTime, { nullable: true }) decidedAt!: Date | null;
  @Field(() => String, { nullable: true }) decidedBy!: string | null;
}

@ObjectType({ simpleResolvers: true })
export class GuardDecision {
  @Field(() => Int) approved!: number;
  @Field(() => Int) discarded!: number;
  @Field(() => Int) deactivated!: number;
  @Field(() => Int) deleted!: number;
  @Field(() => Int) membershipsRemoved!: number;
}
