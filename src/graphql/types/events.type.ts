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

@ObjectType({ simpleResolvers: true, description: 'A URL that receives signed webhooks (Standard Webhooks) for the chosen event types' })
export class WebhookEndpoint {
  @Field(() => ID) id!: string;
  @Field(() => String) url!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => [String], { description: 'Event types, or "*" (every type but audit.event and access.changed)' }) eventTypes!: string[];
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => String, { nullable: true, description: 'Why it is disabled (failing for too long, or an administrator)' }) disabledReason!: string | null;
  @Field(() => DateTime, { nullable: true }) disabledAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'Every attempt has failed since then (null: healthy)' }) failingSince!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'Until then deliveries are also signed with the previous secret' }) previousSecretExpiresAt!: Date | null;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime) updatedAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'An endpoint with its signing secret: shown once, at creation and rotation' })
export class WebhookEndpointWithSecret {
  @Field(() => WebhookEndpoint) endpoint!: WebhookEndpoint;
  @Field(() => String, { description: 'whsec_… : verify the webhook-signature header with it' }) secret!: string;
}

export enum WebhookDeliveryStatus {
  PENDING = 'pending',
  SUCCEEDED = 'succeeded',
  FAILED = 'failed',
}
registerEnumType(WebhookDeliveryStatus, { name: 'WebhookDeliveryStatus' });

@ObjectType({ simpleResolvers: true })
export class WebhookAttempt {
  @Field(() => Int) attempt!: number;
  @Field(() => DateTime) at!: Date;
  @Field(() => Int) durationMs!: number;
  @Field(() => Int, { nullable: true, description: 'The receiver’s HTTP status; null when no answer came' }) statusCode!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => String, { nullable: true, description: 'The beginning of the receiver’s answer' }) responseExcerpt!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'One event for one endpoint, with its attempts' })
export class WebhookDelivery {
  @Field(() => ID) id!: string;
  @Field(() => ID) endpointId!: string;
  @Field(() => String, { description: 'The webhook-id header: the same on every attempt and redelivery' }) messageId!: string;
  @Field(() => String) eventType!: string;
  @Field(() => WebhookDeliveryStatus) status!: WebhookDeliveryStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => DateTime, { nullable: true }) nextAttemptAt!: Date | null;
  @Field(() => DateTime, { nullable: true }) lastAttemptAt!: Date | null;
  @Field(() => Int, { nullable: true }) lastStatus!: number | null;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime, { nullable: true }) succeededAt!: Date | null;
  @Field(() => DateTime, { description: 'Retries stop then' }) giveUpAt!: Date;
  @Field(() => String, { nullable: true, description: 'The body sent (webhookDelivery only)' }) payload!: string | null;
  @Field(() => [WebhookAttempt], { nullable: true, description: 'Every attempt (webhookDelivery only)' }) attemptLog!: WebhookAttempt[] | null;
}

@ObjectType({ simpleResolvers: true })
export class WebhookEventType {
  @Field(() => String) type!: string;
  @Field(() => String) description!: string;
}

@ObjectType({ simpleResolvers: true })
export class WebhookSecretRotation {
  @Field(() => WebhookEndpoint) endpoint!: WebhookEndpoint;
  @Field(() => String, { description: 'The new secret, shown once' }) secret!: string;
  @Field(() => DateTime, { nullable: true, description: 'The previous secret signs too until then' }) previousSecretExpiresAt!: Date | null;
}

export enum MailStatus {
  PENDING = 'pending',
  SENT = 'sent',
  FAILED = 'failed',
  BLOCKED = 'blocked',
  UNSENT = 'unsent',
}
registerEnumType(MailStatus, {
  name: 'MailStatus',
  valuesConfig: {
    PENDING: { description: 'Waiting to be sent (or to be retried)' },
    SENT: { description: 'The SMTP server took it' },
    FAILED: { description: 'Refused for good, or retried until the retry window ended' },
    BLOCKED: { description: 'Not sent: the address is blocked (it bounced); clear it, then resend' },
    UNSENT: { description: 'Not sent: no SMTP configured (SMTP_URL); resend once it is' },
  },
});

@ObjectType({ simpleResolvers: true })
export class MailAttempt {
  @Field(() => Int) attempt!: number;
  @Field(() => DateTime) at!: Date;
  @Field(() => Int) durationMs!: number;
  @Field(() => String, { description: 'sent, retry, bounced or failed' }) outcome!: string;
  @Field(() => Int, { nullable: true }) smtpCode!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A notification mail in the outbox' })
export class OutboxMail {
  @Field(() => ID) id!: string;
  @Field(() => String) to!: string;
  @Field(() => ID, { nullable: true }) memberId!: string | null;
  @Field(() => String, { description: 'access_shared, admin_granted or welcome' }) template!: string;
  @Field(() => MailStatus) status!: MailStatus;
  @Field(() => String, { description: 'The status in words, e.g. "not sent: no SMTP configured"' }) statusText!: string;
  @Field(() => Int) attempts!: number;
  @Field(() => DateTime, { nullable: true }) nextAttemptAt!: Date | null;
  @Field(() => DateTime, { nullable: true }) lastAttemptAt!: Date | null;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => Int, { nullable: true }) lastSmtpCode!: number | null;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime, { nullable: true }) sentAt!: Date | null;
  @Field(() => [MailAttempt], { nullable: true, description: 'Every attempt (outboxMail only)' }) attemptLog!: MailAttempt[] | null;
}

@ObjectType({ simpleResolvers: true, description: 'An address that bounced: no mail goes to it until an admin clears it' })
export class BlockedMailAddress {
  @Field(() => String) address!: string;
  @Field(() => Int, { nullable: true }) smtpCode!: number | null;
  @Field(() => String) reason!: string;
  @Field(() => ID, { nullable: true }) mailId!: string | null;
  @Field(() => DateTime) createdAt!: Date;
}

@ObjectType({ simpleResolvers: true })
export class MailSettings {
  @Field(() => Boolean, { description: 'A welcome mail to every member Entra provisions through SCIM' }) scimWelcome!: boolean;
}
