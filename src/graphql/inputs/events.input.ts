import { Field, InputType } from 'type-graphql';

@InputType({ description: 'A webhook endpoint to register' })
export class CreateWebhookEndpointInput {
  @Field(() => String, { description: 'https:// (or http://) URL that receives POSTs' }) url!: string;
  @Field(() => [String], { description: 'Event types (see webhookEventTypes), or "*"' }) eventTypes!: string[];
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType({ description: 'Changes of a webhook endpoint; absent fields stay as they are' })
export class UpdateWebhookEndpointInput {
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => [String], { nullable: true }) eventTypes?: string[] | null;
  @Field(() => String, { nullable: true }) description?: string | null;
  @Field(() => Boolean, { nullable: true, description: 'true re-enables a disabled endpoint; false disables it' }) enabled?: boolean | null;
}
