// `webhook …`: signed webhook endpoints, their secrets and the delivery log.
import { EVENT_DESCRIPTIONS, EVENT_TYPES } from '../domain/events/event-types.js';
import type { DeliveryStatus, WebhookEndpoint } from '../domain/webhooks/webhook.model.js';
import { listOption, parseDuration, required, table, UsageError, type Command } from './command.js';

function endpointRow(e: WebhookEndpoint): Record<string, unknown> {
  return {
    id: e.id,
    url: e.url,
    events: e.eventTypes.join(','),
    state: e.enabled ? (e.failingSince ? `failing since ${e.failingSince.toISOString()}` : 'enabled') : `DISABLED: ${e.disabledReason ?? ''}`,
    secretOverlapUntil: e.previousSecretExpiresAt,
  };
}

const STATUSES: readonly DeliveryStatus[] = ['pending', 'succeeded', 'failed'];

export const webhookCommands: Command[] = [
  {
    name: 'webhook events',
    usage: 'webhook events   (the event types an endpoint can subscribe to)',
    options: {},
    async run() {
      const types = EVENT_TYPES.map((t) => ({ type: t, description: EVENT_DESCRIPTIONS[t] }));
      return { json: { eventTypes: types }, text: table(types, ['type', 'description']) + '\n\n"*" subscribes to every type but audit.event and access.changed (name those to get them).' };
    },
  },
  {
    name: 'webhook create',
    usage: 'webhook create --org DOMAIN --url URL --events TYPE[,TYPE…]|* [--description TEXT]   (prints the signing secret once)',
    options: { org: { type: 'string' }, url: { type: 'string' }, events: { type: 'string', multiple: true }, description: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const { endpoint, secret } = await ctx.domain.webhooks.create(actor, {
        url: required(o, 'url'),
        eventTypes: listOption(o.events),
        description: typeof o.description === 'string' ? o.description : null,
      });
      return {
        json: { endpoint, secret },
        text: [
          `Webhook endpoint ${endpoint.id} created for ${endpoint.url}`,
          `Events:         ${endpoint.eventTypes.join(', ')}`,
          `Signing secret: ${secret}`,
          '',
          'Copy the secret now: it is shown once. Receivers verify the webhook-signature header with it (Standard Webhooks).',
        ].join('\n'),
      };
    },
  },
  {
    name: 'webhook list',
    usage: 'webhook list --org DOMAIN',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const endpoints = await ctx.domain.webhooks.list(actor);
      return { json: { endpoints }, text: table(endpoints.map(endpointRow), ['id', 'url', 'events', 'state', 'secretOverlapUntil']) };
    },
  },
  {
    name: 'webhook update',
    usage: 'webhook update --org DOMAIN --id ID [--url URL] [--events TYPE,…] [--description TEXT] [--enable | --disable]',
    options: {
      org: { type: 'string' },
      id: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'string', multiple: true },
      description: { type: 'string' },
      enable: { type: 'boolean' },
      disable: { type: 'boolean' },
    },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      if (o.enable && o.disable) throw new UsageError('give --enable or --disable, not both');
      const endpoint = await ctx.domain.webhooks.update(actor, required(o, 'id'), {
        ...(typeof o.url === 'string' ? { url: o.url } : {}),
        ...(o.events !== undefined ? { eventTypes: listOption(o.events) } : {}),
        ...(typeof o.description === 'string' ? { description: o.description } : {}),
        ...(o.enable ? { enabled: true } : o.disable ? { enabled: false } : {}),
      });
      return { json: { endpoint }, text: table([endpointRow(endpoint)], ['id', 'url', 'events', 'state']) };
    },
  },
  {
    name: 'webhook delete',
    usage: 'webhook delete --org DOMAIN --id ID',
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      await ctx.domain.webhooks.delete(actor, required(o, 'id'));
      return { json: { deleted: true }, text: 'Webhook endpoint deleted (with its delivery log).' };
    },
  },
  {
    name: 'webhook rotate-secret',
    usage: 'webhook rotate-secret --org DOMAIN --id ID [--overlap 24h]   (new secret shown once; the old one also signs until the overlap ends)',
    options: { org: { type: 'string' }, id: { type: 'string' }, overlap: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const overlap = typeof o.overlap === 'string' ? parseDuration(o.overlap, 'overlap') : 24 * 3600;
      const r = await ctx.domain.webhooks.rotateSecret(actor, required(o, 'id'), overlap);
      return {
        json: { endpoint: r.endpoint, secret: r.secret, previousSecretExpiresAt: r.previousSecretExpiresAt },
        text: [
          `New signing secret: ${r.secret}`,
          r.previousSecretExpiresAt
            ? `Until ${r.previousSecretExpiresAt.toISOString()} every delivery is signed with both secrets: switch the receiver to the new one before then.`
            : 'The previous secret no longer signs.',
        ].join('\n'),
      };
    },
  },
  {
    name: 'webhook deliveries',
    usage: 'webhook deliveries --org DOMAIN [--endpoint ID] [--status pending|succeeded|failed] [--before DELIVERY_ID] [--limit N]   (newest first)',
    options: { org: { type: 'string' }, endpoint: { type: 'string' }, status: { type: 'string' }, before: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const status = typeof o.status === 'string' ? (o.status as DeliveryStatus) : undefined;
      if (status !== undefined && !STATUSES.includes(status)) throw new UsageError('--status must be pending, succeeded or failed');
      if (o.limit !== undefined && !/^\d{1,3}$/.test(String(o.limit))) throw new UsageError('--limit must be a number up to 500');
      const deliveries = await ctx.domain.webhooks.deliveries(actor, {
        endpointId: typeof o.endpoint === 'string' ? o.endpoint : undefined,
        status,
        before: typeof o.before === 'string' ? o.before : undefined,
        limit: o.limit !== undefined ? Number(o.limit) : undefined,
      });
      return {
        json: { deliveries },
        text: table(deliveries as unknown as Record<string, unknown>[], ['id', 'eventType', 'status', 'attempts', 'lastStatus', 'lastError', 'nextAttemptAt', 'createdAt']),
      };
    },
  },
  {
    name: 'webhook delivery',
    usage: 'webhook delivery --org DOMAIN --id DELIVERY_ID   (the delivery with its body and every attempt)',
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const d = await ctx.domain.webhooks.delivery(actor, required(o, 'id'));
      return {
        json: { delivery: d },
        text: [
          `${d.eventType} ${d.messageId}: ${d.status} after ${d.attempts} attempt(s)`,
          d.payload,
          '',
          table(d.attemptLog as unknown as Record<string, unknown>[], ['attempt', 'at', 'durationMs', 'statusCode', 'error', 'responseExcerpt']),
        ].join('\n'),
      };
    },
  },
  {
    name: 'webhook redeliver',
    usage: 'webhook redeliver --org DOMAIN (--id DELIVERY_ID | --endpoint ID --failed)   (send again: the same message, the same webhook-id)',
    options: { org: { type: 'string' }, id: { type: 'string' }, endpoint: { type: 'string' }, failed: { type: 'boolean' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      if (typeof o.id === 'string') {
        const d = await ctx.domain.webhooks.redeliver(actor, o.id);
        return { json: { delivery: d }, text: `Delivery ${d.id} queued again.` };
      }
      if (typeof o.endpoint === 'string' && o.failed) {
        const n = await ctx.domain.webhooks.redeliverFailed(actor, o.endpoint);
        return { json: { redelivered: n }, text: `${n} failed deliveries queued again.` };
      }
      throw new UsageError('give --id DELIVERY_ID, or --endpoint ID --failed');
    },
  },
];
