// The audit export and webhooks (admin keys and console admins).
import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import {
  AuditExportFormat,
  AuditExportPage,
  BlockedMailAddress,
  MailSettings,
  MailStatus,
  OutboxMail,
  WebhookDelivery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
  WebhookEventType,
  WebhookSecretRotation,
} from '../types/events.type.js';
import { CreateWebhookEndpointInput, UpdateWebhookEndpointInput } from '../inputs/events.input.js';
import { EVENT_DESCRIPTIONS, EVENT_TYPES } from '../../domain/events/event-types.js';
import type { WebhookDelivery as DomainDelivery, WebhookDeliveryDetail } from '../../domain/webhooks/webhook.model.js';
import type { OutboxMail as DomainMail, MailAttempt as DomainMailAttempt } from '../../domain/mail/mail.model.js';
import { MAX_EXPORT_PAGE, parseExportStart, toCefLine, toExportJson, toJsonLine } from '../../domain/audit/audit-export.js';
import type { AuditOutcome } from '../types/scalars.js';
import { VERSION } from '../../version.js';

@Resolver()
export class EventsResolver {
  @Query(() => AuditExportPage, {
    description: `The audit trail in commit order for a SIEM, with a resumable cursor (admin keys only). \`since\`: a cursor from a previous page, or an ISO 8601 date; absent: from the beginning. At most ${MAX_EXPORT_PAGE} events per page.`,
  })
  async auditExport(
    @Ctx() ctx: GraphqlContext,
    @Arg('since', () => String, { nullable: true }) since?: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first?: number,
    @Arg('format', () => AuditExportFormat, { nullable: true, defaultValue: AuditExportFormat.JSONL }) format?: AuditExportFormat,
  ): Promise<AuditExportPage> {
    const page = await ctx.domain.audit.exportPage(ctx.actor, parseExportStart(since), first ?? 100);
    return {
      events: page.events.map((e) => {
        const json = toExportJson(e);
        return {
          cursor: json.cursor as string,
          id: e.id,
          at: e.at,
          actorKind: e.actorKind,
          actorId: e.actorId,
          actorLabel: e.actorLabel,
          action: e.action,
          outcome: e.outcome as AuditOutcome,
          resourceType: e.resourceType,
          resourceId: e.resourceId,
          resourceLabel: e.resourceLabel,
          reason: e.reason,
          changes: (json.changes as Record<string, unknown> | null) ?? null,
          detail: e.detail,
          requestId: e.requestId,
          clientAddress: e.clientAddress,
          line: format === AuditExportFormat.CEF ? toCefLine(e, VERSION) : toJsonLine(e),
        };
      }),
      cursor: page.cursor,
      hasMore: page.hasMore,
      count: page.events.length,
    };
  }

  @Query(() => [WebhookEventType], { description: 'The event types a webhook endpoint can subscribe to' })
  webhookEventTypes(): WebhookEventType[] {
    return EVENT_TYPES.map((type) => ({ type, description: EVENT_DESCRIPTIONS[type] }));
  }

  @Query(() => [WebhookEndpoint], { description: 'Webhook endpoints of the organisation (admin keys only)' })
  async webhookEndpoints(@Ctx() ctx: GraphqlContext): Promise<WebhookEndpoint[]> {
    return ctx.domain.webhooks.list(ctx.actor);
  }

  @Query(() => WebhookEndpoint)
  async webhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<WebhookEndpoint> {
    return ctx.domain.webhooks.get(ctx.actor, id);
  }

  @Query(() => [WebhookDelivery], { description: 'The delivery log, newest first; `before` pages with a delivery id (at most 500)' })
  async webhookDeliveries(
    @Ctx() ctx: GraphqlContext,
    @Arg('endpointId', () => ID, { nullable: true }) endpointId?: string | null,
    @Arg('status', () => WebhookDeliveryStatus, { nullable: true }) status?: WebhookDeliveryStatus | null,
    @Arg('before', () => ID, { nullable: true }) before?: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
  ): Promise<WebhookDelivery[]> {
    const list = await ctx.domain.webhooks.deliveries(ctx.actor, {
      endpointId: endpointId ?? undefined,
      status: status ?? undefined,
      before: before ?? undefined,
      limit: first,
    });
    return list.map(toDelivery);
  }

  @Query(() => WebhookDelivery, { description: 'One delivery with its body and every attempt' })
  async webhookDelivery(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<WebhookDelivery> {
    return toDelivery(await ctx.domain.webhooks.delivery(ctx.actor, id));
  }

  @Mutation(() => WebhookEndpointWithSecret, { description: 'Registers an endpoint; the signing secret is in this answer only' })
  async createWebhookEndpoint(@Arg('input', () => CreateWebhookEndpointInput) input: CreateWebhookEndpointInput, @Ctx() ctx: GraphqlContext): Promise<WebhookEndpointWithSecret> {
    return ctx.domain.webhooks.create(ctx.actor, { url: input.url, eventTypes: input.eventTypes, description: input.description ?? null });
  }

  @Mutation(() => WebhookEndpoint)
  async updateWebhookEndpoint(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateWebhookEndpointInput) input: UpdateWebhookEndpointInput,
    @Ctx() ctx: GraphqlContext,
  ): Promise<WebhookEndpoint> {
    return ctx.domain.webhooks.update(ctx.actor, id, {
      ...(input.url != null ? { url: input.url } : {}),
      ...(input.eventTypes != null ? { eventTypes: input.eventTypes } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.enabled != null ? { enabled: input.enabled } : {}),
    });
  }

  @Mutation(() => Boolean)
  async deleteWebhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<boolean> {
    await ctx.domain.webhooks.delete(ctx.actor, id);
    return true;
  }

  @Mutation(() => WebhookSecretRotation, { description: 'A new signing secret (shown once); the previous one also signs for overlapSeconds (default 24 h, 0 to stop it at once)' })
  async rotateWebhookSecret(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GraphqlContext,
    @Arg('overlapSeconds', () => Int, { nullable: true, defaultValue: 86400 }) overlapSeconds?: number,
  ): Promise<WebhookSecretRotation> {
    return ctx.domain.webhooks.rotateSecret(ctx.actor, id, overlapSeconds ?? 86400);
  }

  @Mutation(() => WebhookDelivery, { description: 'Sends a delivery again: the same message and webhook-id' })
  async redeliverWebhook(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<WebhookDelivery> {
    return toDelivery(await ctx.domain.webhooks.redeliver(ctx.actor, id));
  }

  @Mutation(() => Int, { description: 'Sends every failed delivery of an endpoint again; returns how many' })
  async redeliverFailedWebhooks(@Arg('endpointId', () => ID) endpointId: string, @Ctx() ctx: GraphqlContext): Promise<number> {
    return ctx.domain.webhooks.redeliverFailed(ctx.actor, endpointId);
  }

  @Query(() => [OutboxMail], { description: 'The notification-mail outbox, newest first; `before` pages with a mail id (at most 500)' })
  async mailOutbox(
    @Ctx() ctx: GraphqlContext,
    @Arg('status', () => MailStatus, { nullable: true }) status?: MailStatus | null,
    @Arg('before', () => ID, { nullable: true }) before?: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number,
  ): Promise<OutboxMail[]> {
    return (await ctx.domain.mail.list(ctx.actor, { status: status ?? undefined, before: before ?? undefined, limit: first })).map(toMail);
  }

  @Query(() => OutboxMail, { description: 'One mail with every attempt to send it' })
  async outboxMail(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<OutboxMail> {
    return toMail(await ctx.domain.mail.get(ctx.actor, id));
  }

  @Query(() => [BlockedMailAddress])
  async blockedMailAddresses(@Ctx() ctx: GraphqlContext): Promise<BlockedMailAddress[]> {
    return ctx.domain.mail.blocked(ctx.actor);
  }

  @Query(() => MailSettings)
  async mailSettings(@Ctx() ctx: GraphqlContext): Promise<MailSettings> {
    return ctx.domain.mail.settings(ctx.actor);
  }

  @Mutation(() => MailSettings)
  async setMailSettings(@Arg('scimWelcome', () => Boolean) scimWelcome: boolean, @Ctx() ctx: GraphqlContext): Promise<MailSettings> {
    return ctx.domain.mail.setSettings(ctx.actor, { scimWelcome });
  }

  @Mutation(() => Boolean, { description: 'Clears a blocked address: mail to it is sent again' })
  async unblockMailAddress(@Arg('address', () => String) address: string, @Ctx() ctx: GraphqlContext): Promise<boolean> {
    await ctx.domain.mail.unblock(ctx.actor, address);
    return true;
  }

  @Mutation(() => OutboxMail, { description: 'Sends a mail again' })
  async resendMail(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<OutboxMail> {
    return toMail(await ctx.domain.mail.resend(ctx.actor, id));
  }
}

function toDelivery(d: DomainDelivery | WebhookDeliveryDetail): WebhookDelivery {
  const detail = 'payload' in d ? d : undefined;
  return { ...d, status: d.status as WebhookDeliveryStatus, payload: detail?.payload ?? null, attemptLog: detail?.attemptLog ?? null };
}

function toMail(m: DomainMail & { attemptLog?: DomainMailAttempt[] }): OutboxMail {
  return { ...m, status: m.status as MailStatus, attemptLog: m.attemptLog ?? null };
}
