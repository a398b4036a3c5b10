// Signed webhooks per organisation (Standard Webhooks). Admins register
// endpoints (URL, event types, a secret shown once); the dispatcher turns the
// audit stream into deliveries (fanOut, in the transaction that moves its
// cursor); deliverDue sends them, at least once, with exponential back-off for
// a bounded time, logging every attempt. An endpoint failing for longer than
// the policy allows is disabled, and its waiting deliveries fail.
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { requireAdmin, systemActor, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { toDate } from '../rows.js';
import { SqlParams } from '../sql-params.js';
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import type { Cipher } from '../secrets.js';
import { writeAudit } from '../audit/audit.service.js';
import { EVENT_TYPES, EXPLICIT_ONLY_TYPES, payloadOf, type EventType, type OutboundEvent } from '../events/event-types.js';
import type { StreamPosition } from '../audit/audit-stream.js';

/** A per-lock access entry as an outbound event, with its feed position. */
export type AccessChangedEvent = OutboundEvent & { readonly position: bigint };
import type {
  DeliveryStatus,
  OutboundResult,
  WebhookAttempt,
  WebhookDelivery,
  WebhookDeliveryDetail,
  WebhookEndpoint,
  WebhookEndpointChange,
  WebhookEndpointInput,
  WebhookSender,
} from './webhook.model.js';

export interface WebhookPolicy {
  /** Back-off: the first retry after this long, each next one `factor` times later, at most `maxDelaySeconds` apart. */
  readonly firstRetrySeconds: number;
  readonly retryFactor: number;
  readonly maxRetryDelaySeconds: number;
  /** A delivery is retried for this long after its event (or its manual redelivery), then fails. */
  readonly giveUpAfterSeconds: number;
  /** An endpoint failing every attempt for this long is disabled. */
  readonly disableAfterSeconds: number;
  /** A process sending a delivery holds it this long (must exceed the sender's timeout). */
  readonly claimSeconds: number;
  /** Deliveries claimed per round, requests in flight at once, and per endpoint. */
  readonly batchSize: number;
  readonly concurrency: number;
  readonly perEndpointConcurrency: number;
  readonly maxEndpointsPerOrganization: number;
  /** Delivered (or failed) deliveries and their attempts are kept this long. */
  readonly logRetentionDays: number;
}

export const DEFAULT_WEBHOOK_POLICY: WebhookPolicy = {
  firstRetrySeconds: 5,
  retryFactor: 4,
  maxRetryDelaySeconds: 8 * 3600,
  giveUpAfterSeconds: 24 * 3600,
  disableAfterSeconds: 3 * 24 * 3600,
  claimSeconds: 60,
  batchSize: 100,
  concurrency: 16,
  perEndpointConcurrency: 4,
  maxEndpointsPerOrganization: 20,
  logRetentionDays: 30,
};

export const WEBHOOK_CONSUMER = 'webhooks';
/** The cursor of the per-lock access feed (access.changed): event_id holds the feed position read up to. */
export const WEBHOOK_ACCESS_CONSUMER = 'webhooks.access';
const SECRET_PREFIX = 'whsec_';
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;
/** Bodies larger than this are not sent as they are (a huge audit detail): the event says it was cut. */
const MAX_PAYLOAD_BYTES = 256 * 1024;

/** The retry delay after failed attempt `n` (1-based), with ±10 % jitter so that retries of many deliveries spread out. */
export function retryDelaySeconds(policy: WebhookPolicy, n: number, random = Math.random): number {
  const d = Math.min(policy.firstRetrySeconds * policy.retryFactor ** Math.max(0, n - 1), policy.maxRetryDelaySeconds);
  return d * (0.9 + 0.2 * random());
}

function newSecret(): string {
  return SECRET_PREFIX + crypto.randomBytes(32).toString('base64');
}

/** Standard Webhooks signatures of one message with every secret in use (the header lists them space-separated). */
export function signatureHeader(secrets: readonly string[], messageId: string, timestamp: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(messageId, timestamp, body)).join(' ');
}

function validateUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new Invalid('required', 'url is required', 'url');
  const value = raw.trim();
  if (value.length > 2048) throw new Invalid('too_long', 'url must be at most 2048 characters', 'url');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Invalid('invalid_url', 'url must be an absolute http(s) URL', 'url');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Invalid('invalid_url', 'url must be an http(s) URL', 'url');
  if (url.username || url.password) throw new Invalid('invalid_url', 'url must not carry a user name or password (they would be logged); use the signature to authenticate', 'url');
  if (url.hash) throw new Invalid('invalid_url', 'url must not carry a fragment', 'url');
  return url.toString();
}

function validateEventTypes(raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new Invalid('required', `eventTypes: give at least one of ${EVENT_TYPES.join(', ')}, or *`, 'eventTypes');
  const out = new Set<string>();
  for (const t of raw) {
    if (typeof t !== 'string' || (t !== '*' && !(EVENT_TYPES as readonly string[]).includes(t))) {
      throw new Invalid('unknown_event_type', `Unknown event type ${JSON.stringify(t)}; known: ${EVENT_TYPES.join(', ')}, or *`, 'eventTypes');
    }
    out.add(t);
  }
  return [...out];
}

function validateDescription(raw: unknown): string | null {
  if (raw === undefined || raw === null || raw === '') return null;
  if (typeof raw !== 'string' || raw.length > 500 || raw.includes('\u0000')) throw new Invalid('invalid_value', 'description must be at most 500 characters', 'description');
  return raw;
}

interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: string | null;
  failing_since: string | null;
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}
const ENDPOINT_COLUMNS = 'id, url, description, event_types, enabled, disabled_reason, disabled_at, failing_since, previous_secret_expires_at, created_at, updated_at';

function toEndpoint(r: EndpointRow): WebhookEndpoint {
  const prev = toDate(r.previous_secret_expires_at);
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    disabledAt: toDate(r.disabled_at),
    failingSince: toDate(r.failing_since),
    previousSecretExpiresAt: prev && prev > new Date() ? prev : null,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  message_id: string;
  event_type: EventType;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  last_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  succeeded_at: string | null;
  give_up_at: string;
}
const DELIVERY_COLUMNS = 'id, endpoint_id, message_id, event_type, status, attempts, next_attempt_at, last_attempt_at, last_status, last_error, created_at, succeeded_at, give_up_at';

function toDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpoint_id,
    messageId: r.message_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    nextAttemptAt: r.status === 'pending' ? toDate(r.next_attempt_at) : null,
    lastAttemptAt: toDate(r.last_attempt_at),
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: toDate(r.created_at),
    succeededAt: toDate(r.succeeded_at),
    giveUpAt: toDate(r.give_up_at),
  };
}

/** A claimed delivery with what sending it needs. */
interface ClaimedRow {
  organization_id: string;
  id: string;
  endpoint_id: string;
  message_id: string;
  payload: string;
  attempts: number;
  give_up_at: string;
  url: string;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: string | null;
}

export interface DeliveryRound {
  /** Deliveries attempted in this call. */
  readonly attempted: number;
  readonly succeeded: number;
  readonly failed: number;
}

export class WebhookService {
  constructor(
    private readonly db: Db,
    private readonly cipher: Cipher,
    private readonly policy: WebhookPolicy = DEFAULT_WEBHOOK_POLICY,
    private readonly userAgent = 'Gatehouse-Webhooks',
  ) {}

  // ---- endpoints (admins) -------------------------------------------------

  /** Registers an endpoint; the secret is returned here once and never again. */
  async create(actor: Actor, input: WebhookEndpointInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    requireAdmin(actor);
    const url = validateUrl(input.url);
    const eventTypes = validateEventTypes(input.eventTypes);
    const description = validateDescription(input.description);
    const secret = newSecret();
    const id = crypto.randomUUID();
    return this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<EndpointRow>(
        `insert into webhook_endpoints (organization_id, id, url, description, event_types, secret_sealed, created_access_position)
         select $1, $2, $3, $4, $5::text[], $6, coalesce((select position from access_feed_heads where organization_id = $1), 0)
         where (select count(*) from webhook_endpoints where organization_id = $7) < $8
         returning ${ENDPOINT_COLUMNS}`,
        [actor.organizationId, id, url, description, (eventTypes), this.cipher.encrypt(secret), actor.organizationId, this.policy.maxEndpointsPerOrganization],
      );
      if (!row) throw new Invalid('too_many_endpoints', `At most ${this.policy.maxEndpointsPerOrganization} webhook endpoints per organisation`, 'url');
      // The dispatcher follows this organisation's stream from here on (when it did not already).
      await tx.run(
        `insert into event_cursors (organization_id, consumer, txid, event_id)
         values ($1, $2, (pg_current_xact_id()::text::numeric - 1)::text::xid8, 9223372036854775807) on conflict do nothing`,
        [actor.organizationId, WEBHOOK_CONSUMER],
      );
      // And the per-lock access feed from its position now (access.changed).
      await tx.run(
        `insert into event_cursors (organization_id, consumer, txid, event_id)
         values ($1, $2, '0'::xid8, coalesce((select position from access_feed_heads where organization_id = $1), 0)) on conflict do nothing`,
        [actor.organizationId, WEBHOOK_ACCESS_CONSUMER],
      );
      await writeAudit(tx, actor, { action: 'webhook.endpoint.create', resourceType: 'webhook_endpoint', resourceId: id, resourceLabel: url, detail: { eventTypes, description } });
      return { endpoint: toEndpoint(row), secret };
    });
  }

  async list(actor: Actor): Promise<WebhookEndpoint[]> {
    requireAdmin(actor);
    const rows = await this.db.sql.all<EndpointRow>(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where organization_id = $1 order by created_at, id`, [actor.organizationId]);
    return rows.map(toEndpoint);
  }

  async get(actor: Actor, id: string): Promise<WebhookEndpoint> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_endpoint', id);
    const row = await this.db.sql.maybeOne<EndpointRow>(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where organization_id = $1 and id = $2`, [actor.organizationId, id]);
    if (!row) throw new NotFound('webhook_endpoint', id);
    return toEndpoint(row);
  }

  async update(actor: Actor, id: string, change: WebhookEndpointChange): Promise<WebhookEndpoint> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_endpoint', id);
    const url = change.url === undefined ? undefined : validateUrl(change.url);
    const eventTypes = change.eventTypes === undefined ? undefined : validateEventTypes(change.eventTypes);
    const description = change.description === undefined ? undefined : validateDescription(change.description);
    if (change.enabled !== undefined && typeof change.enabled !== 'boolean') throw new Invalid('invalid_value', 'enabled must be true or false', 'enabled');
    return this.db.transaction(async (tx) => {
      const current = await tx.maybeOne<EndpointRow>(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where organization_id = $1 and id = $2 for update`, [actor.organizationId, id]);
      if (!current) throw new NotFound('webhook_endpoint', id);
      const enabling = change.enabled === true && !current.enabled;
      const disabling = change.enabled === false && current.enabled;
      const row = await tx.one<EndpointRow>(
        `update webhook_endpoints set url = $1, event_types = $2::text[], description = $3, enabled = $4,
           disabled_reason = case when $5 then null when $6 then 'disabled by an administrator' else disabled_reason end,
           disabled_at = case when $7 then null when $8 then now() else disabled_at end,
           failing_since = case when $9 then null else failing_since end, updated_at = now()
         where organization_id = $10 and id = $11 returning ${ENDPOINT_COLUMNS}`,
        [
          url ?? current.url,
          (eventTypes ?? current.event_types),
          description === undefined ? current.description : description,
          change.enabled ?? current.enabled,
          enabling,
          disabling,
          enabling,
          disabling,
          enabling,
          actor.organizationId,
          id,
        ],
      );
      if (disabling) await this.failPending(tx, actor.organizationId, id, 'endpoint disabled by an administrator');
      const changed: Record<string, unknown> = {};
      if (url !== undefined && url !== current.url) changed.url = { from: current.url, to: url };
      if (eventTypes !== undefined) changed.eventTypes = { from: current.event_types, to: eventTypes };
      if (description !== undefined && description !== current.description) changed.description = { from: current.description, to: description };
      if (enabling || disabling) changed.enabled = { from: current.enabled, to: !current.enabled };
      await writeAudit(tx, actor, { action: 'webhook.endpoint.update', resourceType: 'webhook_endpoint', resourceId: id, resourceLabel: row.url, detail: { changes: changed } });
      return toEndpoint(row);
    });
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_endpoint', id);
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ url: string }>(`delete from webhook_endpoints where organization_id = $1 and id = $2 returning url`, [actor.organizationId, id]);
      if (!row) throw new NotFound('webhook_endpoint', id);
      // No endpoint left: stop following the stream (a new endpoint starts from its own creation).
      await tx.run(
        `delete from event_cursors where organization_id = $1 and consumer = any($2::text[]) and not exists (select 1 from webhook_endpoints where organization_id = $3)`,
        [actor.organizationId, [WEBHOOK_CONSUMER, WEBHOOK_ACCESS_CONSUMER], actor.organizationId],
      );
      await writeAudit(tx, actor, { action: 'webhook.endpoint.delete', resourceType: 'webhook_endpoint', resourceId: id, resourceLabel: row.url });
    });
  }

  /**
   * A new secret (returned once). The previous one keeps signing beside it
   * for `overlapSeconds` (0: it stops at once), so receivers can switch
   * without missing a delivery: the signature header carries both.
   */
  async rotateSecret(actor: Actor, id: string, overlapSeconds = 24 * 3600): Promise<{ endpoint: WebhookEndpoint; secret: string; previousSecretExpiresAt: Date | null }> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_endpoint', id);
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > MAX_OVERLAP_SECONDS) {
      throw new Invalid('invalid_overlap', `overlap must be between 0 and ${MAX_OVERLAP_SECONDS / 3600} hours`, 'overlap');
    }
    const secret = newSecret();
    return this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<EndpointRow>(
        `update webhook_endpoints set previous_secret_sealed = case when $1 > 0 then secret_sealed end,
           previous_secret_expires_at = case when $2 > 0 then now() + make_interval(secs => $3) end,
           secret_sealed = $4, updated_at = now()
         where organization_id = $5 and id = $6 returning ${ENDPOINT_COLUMNS}`,
        [overlapSeconds, overlapSeconds, overlapSeconds, this.cipher.encrypt(secret), actor.organizationId, id],
      );
      if (!row) throw new NotFound('webhook_endpoint', id);
      await writeAudit(tx, actor, { action: 'webhook.endpoint.rotate_secret', resourceType: 'webhook_endpoint', resourceId: id, resourceLabel: row.url, detail: { overlapSeconds } });
      const endpoint = toEndpoint(row);
      return { endpoint, secret, previousSecretExpiresAt: endpoint.previousSecretExpiresAt };
    });
  }

  // ---- the delivery log ------------------------------------------------------

  /** Deliveries newest first, optionally of one endpoint and one status; `before` pages with a delivery id. */
  async deliveries(actor: Actor, f: { endpointId?: string; status?: DeliveryStatus; before?: string; limit?: number } = {}): Promise<WebhookDelivery[]> {
    requireAdmin(actor);
    const p = new SqlParams();
    const where = [`organization_id = ${p.add(actor.organizationId)}`];
    if (f.endpointId !== undefined) {
      if (!isUuid(f.endpointId)) throw new NotFound('webhook_endpoint', f.endpointId);
      where.push(`endpoint_id = ${p.add(f.endpointId)}`);
    }
    if (f.status !== undefined) {
      if (!['pending', 'succeeded', 'failed'].includes(f.status)) throw new Invalid('invalid_value', 'status must be pending, succeeded or failed', 'status');
      where.push(`status = ${p.add(f.status)}`);
    }
    if (f.before !== undefined) {
      if (!isUuid(f.before)) throw new Invalid('invalid_cursor', 'before must be a delivery id', 'before');
      where.push(`(created_at, id) < (select created_at, id from webhook_deliveries where organization_id = ${p.add(actor.organizationId)} and id = ${p.add(f.before)})`);
    }
    const limit = Math.min(Math.max(Number.isInteger(f.limit) ? f.limit! : 50, 1), 500);
    const rows = await this.db.sql.all<DeliveryRow>(
      `select ${DELIVERY_COLUMNS} from webhook_deliveries where ${where.join(' and ')} order by created_at desc, id desc limit ${limit}`,
      p.values,
    );
    return rows.map(toDelivery);
  }

  async delivery(actor: Actor, id: string): Promise<WebhookDeliveryDetail> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_delivery', id);
    const row = await this.db.sql.maybeOne<DeliveryRow & { payload: string; attempt_log: AttemptJson[] }>(
      `select ${DELIVERY_COLUMNS}, payload,
         (select coalesce(json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'duration_ms', a.duration_ms, 'status_code', a.status_code,
                   'error', a.error, 'response_excerpt', a.response_excerpt) order by a.attempt), '[]')
          from webhook_attempts a where a.organization_id = d.organization_id and a.delivery_id = d.id) as attempt_log
       from webhook_deliveries d where organization_id = $1 and id = $2`,
      [actor.organizationId, id],
    );
    if (!row) throw new NotFound('webhook_delivery', id);
    return { ...toDelivery(row), payload: row.payload, attemptLog: row.attempt_log.map(toAttempt) };
  }

  /**
   * Sends a delivery again (manual redelivery): the same message (webhook-id and
   * body), retried with back-off from now for the usual time. Works for a
   * delivered one too (a receiver that lost it).
   */
  async redeliver(actor: Actor, id: string): Promise<WebhookDelivery> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_delivery', id);
    return this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<DeliveryRow & { enabled: boolean }>(
        `update webhook_deliveries d set status = 'pending', next_attempt_at = now(), claimed_until = null, succeeded_at = null,
           give_up_at = now() + make_interval(secs => $1)
         from webhook_endpoints e
         where d.organization_id = $2 and d.id = $3 and e.organization_id = d.organization_id and e.id = d.endpoint_id
         returning ${DELIVERY_COLUMNS.split(', ').map((c) => 'd.' + c).join(', ')}, e.enabled`,
        [this.policy.giveUpAfterSeconds, actor.organizationId, id],
      );
      if (!row) throw new NotFound('webhook_delivery', id);
      if (!row.enabled) throw new Invalid('endpoint_disabled', 'The endpoint is disabled: enable it first', 'id');
      await writeAudit(tx, actor, { action: 'webhook.delivery.redeliver', resourceType: 'webhook_delivery', resourceId: id, detail: { messageId: row.message_id, endpointId: row.endpoint_id } });
      return toDelivery(row);
    });
  }

  /** Sends every failed delivery of an endpoint again (after it was fixed and re-enabled); returns how many. */
  async redeliverFailed(actor: Actor, endpointId: string): Promise<number> {
    requireAdmin(actor);
    const endpoint = await this.get(actor, endpointId);
    if (!endpoint.enabled) throw new Invalid('endpoint_disabled', 'The endpoint is disabled: enable it first', 'endpointId');
    return this.db.transaction(async (tx) => {
      const n = await tx.run(
        `update webhook_deliveries set status = 'pending', next_attempt_at = now(), claimed_until = null, give_up_at = now() + make_interval(secs => $1)
         where organization_id = $2 and endpoint_id = $3 and status = 'failed'`,
        [this.policy.giveUpAfterSeconds, actor.organizationId, endpointId],
      );
      await writeAudit(tx, actor, { action: 'webhook.delivery.redeliver', resourceType: 'webhook_endpoint', resourceId: endpointId, resourceLabel: endpoint.url, detail: { failedDeliveries: n } });
      return n;
    });
  }

  // ---- the dispatcher's part -------------------------------------------------

  /**
   * Turns outbound events of one organisation into deliveries, one per event
   * and enabled endpoint subscribed to its type that existed when the event's
   * transaction began, in the caller's transaction (the one moving the
   * stream cursor): each event becomes its deliveries exactly once.
   */
  async fanOut(tx: Sql, organizationId: string, events: readonly (OutboundEvent & { position: StreamPosition })[]): Promise<number> {
    if (events.length === 0) return 0;
    const payloads = events.map((e) => {
      const body = payloadOf(e);
      if (Buffer.byteLength(body) <= MAX_PAYLOAD_BYTES) return body;
      return payloadOf({ ...e, data: { truncated: true, auditEventId: e.data.auditEventId ?? null } });
    });
    return tx.run(
      `insert into webhook_deliveries (organization_id, id, endpoint_id, message_id, event_type, payload, give_up_at)
       select $1, gen_random_uuid(), e.id, x.mid, x.type, x.payload, now() + make_interval(secs => $2)
       from unnest($3::text[], $4::text[], $5::text[], $6::xid8[]) with ordinality as x(mid, type, payload, txid, n)
       join webhook_endpoints e on e.organization_id = $7 and e.enabled and e.created_txid <= x.txid
         and (x.type = any(e.event_types) or (x.type <> all($8::text[]) and '*' = any(e.event_types)))
       order by x.n
       on conflict (organization_id, endpoint_id, message_id) do nothing`,
      [
        organizationId,
        this.policy.giveUpAfterSeconds,
        (events.map((e) => e.id)),
        (events.map((e) => e.type)),
        (payloads),
        (events.map((e) => e.position.txid)),
        organizationId,
        EXPLICIT_ONLY_TYPES,
      ],
    );
  }

  /**
   * Turns per-lock access entries (access.changed) into deliveries, one per
   * entry and enabled endpoint that names the type and existed before the
   * entry was numbered, in the caller's transaction (the one moving the feed
   * cursor).
   */
  async fanOutAccess(tx: Sql, organizationId: string, entries: readonly AccessChangedEvent[]): Promise<number> {
    if (entries.length === 0) return 0;
    return tx.run(
      `insert into webhook_deliveries (organization_id, id, endpoint_id, message_id, event_type, payload, give_up_at)
       select $1, gen_random_uuid(), e.id, x.mid, 'access.changed', x.payload, now() + make_interval(secs => $2)
       from unnest($3::text[], $4::text[], $5::bigint[]) with ordinality as x(mid, payload, position, n)
       join webhook_endpoints e on e.organization_id = $1 and e.enabled and e.created_access_position < x.position
         and 'access.changed' = any(e.event_types)
       order by x.n
       on conflict (organization_id, endpoint_id, message_id) do nothing`,
      [organizationId, this.policy.giveUpAfterSeconds, entries.map((e) => e.id), entries.map((e) => payloadOf(e)), entries.map((e) => e.position.toString())],
    );
  }

  /**
   * Sends what is due, across organisations, until nothing is due or
   * `budgetMs` has passed: claims a batch (a row at a time per process:
   * FOR UPDATE SKIP LOCKED and a lease), sends with bounded concurrency
   * (and per endpoint), records each attempt and schedules the next.
   */
  async deliverDue(sender: WebhookSender, opts: { budgetMs?: number } = {}): Promise<DeliveryRound> {
    const until = Date.now() + (opts.budgetMs ?? 20_000);
    const round = { attempted: 0, succeeded: 0, failed: 0 };
    const inFlight = new Set<Promise<void>>();
    const perEndpoint = new Map<string, number>();
    const queue: (ClaimedRow & { claimedAt: number })[] = [];
    const stale: ClaimedRow[] = [];
    // A claimed row not started within half its lease goes back (another process may take it after the lease).
    const freshFor = (this.policy.claimSeconds * 1000) / 2;
    let drained = false;

    const startNext = (): boolean => {
      for (let i = 0; i < queue.length; i++) {
        const c = queue[i]!;
        if (Date.now() - c.claimedAt > freshFor) {
          stale.push(...queue.splice(i--, 1));
          continue;
        }
        if ((perEndpoint.get(c.endpoint_id) ?? 0) >= this.policy.perEndpointConcurrency) continue;
        queue.splice(i, 1);
        perEndpoint.set(c.endpoint_id, (perEndpoint.get(c.endpoint_id) ?? 0) + 1);
        const p = this.attempt(sender, c)
          .then(
            (ok) => void (ok ? round.succeeded++ : round.failed++),
            () => void round.failed++, // the database went away while recording: the lease lets another round retry
          )
          .finally(() => {
            round.attempted++;
            perEndpoint.set(c.endpoint_id, perEndpoint.get(c.endpoint_id)! - 1);
            inFlight.delete(p);
          });
        inFlight.add(p);
        return true;
      }
      return false;
    };

    for (;;) {
      if (!drained && queue.length < this.policy.concurrency) {
        const claimed = await this.claim(this.policy.batchSize);
        if (claimed.length === 0) drained = true;
        const at = Date.now();
        queue.push(...claimed.map((c) => ({ ...c, claimedAt: at })));
      }
      while (inFlight.size < this.policy.concurrency && startNext());
      if (inFlight.size === 0) break; // nothing startable: the queue is empty (or only stale rows were left)
      await Promise.race(inFlight);
      if (Date.now() >= until) drained = true;
    }
    if (stale.length + queue.length > 0) await this.release([...stale, ...queue]);
    return round;
  }

  private async claim(limit: number): Promise<ClaimedRow[]> {
    return this.db.sql.all<ClaimedRow>(
      `with c as (
         select organization_id, id from webhook_deliveries
         where status = 'pending' and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
         order by next_attempt_at limit ${Math.max(1, limit)} for update skip locked)
       update webhook_deliveries d set claimed_until = now() + make_interval(secs => $1), attempts = d.attempts + 1
       from c, webhook_endpoints e
       where d.organization_id = c.organization_id and d.id = c.id and e.organization_id = d.organization_id and e.id = d.endpoint_id and e.enabled
       returning d.organization_id, d.id, d.endpoint_id, d.message_id, d.payload, d.attempts, d.give_up_at,
         e.url, e.secret_sealed, e.previous_secret_sealed, e.previous_secret_expires_at`,
      [this.policy.claimSeconds],
    );
  }

  private async release(rows: readonly ClaimedRow[]): Promise<void> {
    for (const r of rows) {
      await this.db.sql.run(`update webhook_deliveries set claimed_until = null, attempts = attempts - 1 where organization_id = $1 and id = $2`, [r.organization_id, r.id]);
    }
  }

  /** One attempt: sign, send, record; true when the receiver took it (2xx). */
  private async attempt(sender: WebhookSender, c: ClaimedRow): Promise<boolean> {
    const now = new Date();
    const secrets = [this.cipher.decrypt(c.secret_sealed)];
    const prevUntil = toDate(c.previous_secret_expires_at);
    if (c.previous_secret_sealed && prevUntil && prevUntil > now) secrets.push(this.cipher.decrypt(c.previous_secret_sealed));
    const result: OutboundResult = await sender.send({
      url: c.url,
      body: c.payload,
      headers: {
        'content-type': 'application/json',
        'user-agent': this.userAgent,
        'webhook-id': c.message_id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signatureHeader(secrets, c.message_id, now, c.payload),
      },
    });
    const ok = result.status !== null && result.status >= 200 && result.status < 300;
    const error = ok ? null : (result.error ?? `the receiver answered ${result.status}`);
    const retryAt = new Date(Date.now() + retryDelaySeconds(this.policy, c.attempts) * 1000);
    const giveUp = !ok && retryAt > toDate(c.give_up_at);
    const status: DeliveryStatus = ok ? 'succeeded' : giveUp ? 'failed' : 'pending';
    // The attempt, the delivery's state and the endpoint's health in one statement.
    const health = await this.db.sql.maybeOne<{ failing_since: string | null }>(
      `with a as (
         insert into webhook_attempts (organization_id, delivery_id, attempt, duration_ms, status_code, error, response_excerpt)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing),
       d as (
         update webhook_deliveries set status = $8, next_attempt_at = $9, claimed_until = null, last_attempt_at = now(), last_status = $10, last_error = $11,
           succeeded_at = case when $12 then now() else succeeded_at end
         where organization_id = $13 and id = $14 and status = 'pending')
       update webhook_endpoints set failing_since = case when $15 then null else coalesce(failing_since, now()) end
       where organization_id = $16 and id = $17 and ($18 <> (failing_since is null))
       returning failing_since`,
      [
        c.organization_id,
        c.id,
        c.attempts,
        Math.round(result.durationMs),
        result.status,
        error,
        result.responseExcerpt,
        status,
        retryAt,
        result.status,
        error,
        ok,
        c.organization_id,
        c.id,
        ok,
        c.organization_id,
        c.endpoint_id,
        ok,
      ],
    );
    if (!ok) await this.disableIfFailingTooLong(c.organization_id, c.endpoint_id, health ? toDate(health.failing_since) : null);
    return ok;
  }

  /** An endpoint failing every attempt for longer than the policy allows is disabled, and its waiting deliveries fail. */
  private async disableIfFailingTooLong(organizationId: string, endpointId: string, knownSince: Date | null): Promise<void> {
    if (knownSince) return; // it only started failing now
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<{ url: string; failing_since: string }>(
        `update webhook_endpoints set enabled = false, disabled_at = now(), updated_at = now(),
           disabled_reason = 'every delivery failed since ' || to_char(failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
         where organization_id = $1 and id = $2 and enabled and failing_since < now() - make_interval(secs => $3)
         returning url, failing_since`,
        [organizationId, endpointId, this.policy.disableAfterSeconds],
      );
      if (!row) return;
      const failedDeliveries = await this.failPending(tx, organizationId, endpointId, 'endpoint disabled: it failed for too long');
      await writeAudit(tx, systemActor(organizationId, 'webhooks'), {
        action: 'webhook.endpoint.disable',
        resourceType: 'webhook_endpoint',
        resourceId: endpointId,
        resourceLabel: row.url,
        reason: 'endpoint_failing',
        detail: { failingSince: toDate(row.failing_since).toISOString(), failedDeliveries },
      });
    });
  }

  private async failPending(tx: Sql, organizationId: string, endpointId: string, reason: string): Promise<number> {
    return tx.run(
      `update webhook_deliveries set status = 'failed', claimed_until = null, last_error = $1 where organization_id = $2 and endpoint_id = $3 and status = 'pending'`,
      [reason, organizationId, endpointId],
    );
  }

  /** Forgets deliveries (and their attempts) finished longer ago than the policy keeps them; returns how many. */
  async purgeLog(limit = 1000): Promise<number> {
    return this.db.sql.run(
      `delete from webhook_deliveries where (organization_id, id) in (
         select organization_id, id from webhook_deliveries
         where status <> 'pending' and coalesce(succeeded_at, last_attempt_at, created_at) < now() - make_interval(days => $1) limit ${Math.max(1, limit)})`,
      [this.policy.logRetentionDays],
    );
  }
}

interface AttemptJson {
  attempt: number;
  at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
}

function toAttempt(a: AttemptJson): WebhookAttempt {
  return { attempt: a.attempt, at: toDate(a.at), durationMs: a.duration_ms, statusCode: a.status_code, error: a.error, responseExcerpt: a.response_excerpt };
}
