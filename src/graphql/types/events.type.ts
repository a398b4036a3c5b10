// What Gatehouse tells others: the audit export, webhook endpoints and their
// deliveries, and the mail outbox.
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { AuditOutcome, DateTime, JSONObject } from './scalars.js';

export enum AuditExportFormat {
  JSONL = 'jsonl',
  CEF = 'cef',
}
registerEnumType(AuditExportFormat, { name: 'AuditExportFormat', description: 'The line format of AuditExportEvent.line' });

@ObjectType({ simpleResolvers: true, description: 'One audit event as the audit export gives it (commit order)' })
export class AuditExportEvent {
  @Field(() => String, { description: 'Position of this event: pass it as `since` to read what follows' }) cursor!: string;
  @Field(() => ID) id!: string;
  @Field(() => DateTime) at!: Date;
  @Field(() => String, { description: 'system, api_key, scim, import, member or admin' }) actorKind!: string;
  @Field(() => String, { nullable: true }) actorId!: string | null;
  @Field(() => String, { nullable: true }) actorLabel!: string | null;
  @Field(() => String) action!: string;
  @Field(() => AuditOutcome) outcome!: AuditOutcome;
  @Field(() => String, { nullable: true }) resourceType!: string | null;
  @Field(() => String, { nullable: true }) resourceId!: string | null;
  @Field(() => String, { nullable: true }) resourceLabel!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => JSONObject, { nullable: true, description: 'Before and after of each changed field ({ field: { from, to } }), when the event changed a resource' })
  changes!: Record<string, unknown> | null;
  @Field(() => JSONObject, { description: 'What was sent and what changed; never secrets' }) detail!: Record<string, unknown>;
  @Field(() => String, { nullable: true, description: 'x-request-id of the request that caused it' }) requestId!: string | null;
  @Field(() => String, { nullable: true, description: 'Client address of that request' }) clientAddress!: string | null;
  @Field(() => String, { description: 'The event as one line of the requested format (JSON or CEF)' }) line!: string;
}

@ObjectType({ simpleResolvers: true })
export class AuditExportPage {
  @Field(() => [AuditExportEvent]) events!: AuditExportEvent[];
  @Field(() => String, { description: 'Resume from here (pass as `since`)' }) cursor!: string;
  @Field(() => Boolean, { description: 'True when more events are ready now; false once caught up with what has committed' }) hasMore!: boolean;
  @Field(() => Int) count!: number;
}
