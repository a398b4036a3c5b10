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
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import type { Cipher } from '../secrets.js';
import { writeAudit } from '../audit/audit.service.js';
import { EVENT_TYPES, EXPLICIT_ONLY_TYPES, payloadOf, type OutboundEvent } from '../events/event-types.js';
import type { StreamPosition } from '../audit/audit-stream.js';
import * as webhookSql from './webhook.sql.js';
import { logPageSize } from '../log-page.sql.js';
import { retryDelaySeconds, type OutboxPolicy } from '../outbox-policy.js';
import type { ClaimedRow } from './webhook.sql.js';
import type {
  DeliveryStatus,
  OutboundResult,
  WebhookDelivery,
  WebhookDeliveryDetail,
  WebhookEndpoint,
  WebhookEndpointChange,
  WebhookEndpointInput,
  WebhookSender,
} from './webhook.model.js';

/** A per-lock access entry as an outbound event, with its feed position. */
export type AccessChangedEvent = OutboundEvent & { readonly position: bigint };

/**
 * The outbox's policy for deliveries (a delivery's retries are counted from
 * its event; `claimSeconds` must exceed the sender's timeout), and the
 * endpoints' own limits.
 */
export interface WebhookPolicy extends OutboxPolicy {
  /** An endpoint failing every attempt for this long is disabled. */
  readonly disableAfterSeconds: number;
  /** Requests in flight at once per endpoint. */
  readonly perEndpointConcurrency: number;
  readonly maxEndpointsPerOrganization: number;
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
      const endpoint = await webhookSql.insertEndpoint(tx, {
        organizationId: actor.organizationId,
        id,
        url,
        description,
        eventTypes,
        secretSealed: this.cipher.encrypt(secret),
        max: this.policy.maxEndpointsPerOrganization,
      });
      if (!endpoint) throw new Invalid('too_many_endpoints', `At most ${this.policy.maxEndpointsPerOrganization} webhook endpoints per organisation`, 'url');
      // The dispatcher follows this organisation's stream and access feed from here on (when it did not already).
      await webhookSql.startCursors(tx, actor.organizationId, WEBHOOK_CONSUMER, WEBHOOK_ACCESS_CONSUMER);
      await writeAudit(tx, actor, { action: 'webhook.endpoint.create', resourceType: 'webhook_endpoint', resourceId: id, resourceLabel: url, detail: { eventTypes, description } });
      return { endpoint, secret };
    });
  }

  async list(actor: Actor): Promise<WebhookEndpoint[]> {
    requireAdmin(actor);
    return webhookSql.selectEndpoints(this.db.sql, actor.organizationId);
  }

  async get(actor: Actor, id: string): Promise<WebhookEndpoint> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_endpoint', id);
    const endpoint = await webhookSql.selectEndpoint(this.db.sql, actor.organizationId, id);
    if (!endpoint) throw new NotFound('webhook_endpoint', id);
    return endpoint;
  }

  async update(actor: Actor, id: string, change: WebhookEndpointChange): Promise<WebhookEndpoint> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_endpoint', id);
    const url = change.url === undefined ? undefined : validateUrl(change.url);
    const eventTypes = change.eventTypes === undefined ? undefined : validateEventTypes(change.eventTypes);
    const description = change.description === undefined ? undefined : validateDescription(change.description);
    if (change.enabled !== undefined && typeof change.enabled !== 'boolean') throw new Invalid('invalid_value', 'enabled must be true or false', 'enabled');
    return this.db.transaction(async (tx) => {
      const current = await webhookSql.selectEndpoint(tx, actor.organizationId, id, true);
      if (!current) throw new NotFound('webhook_endpoint', id);
      const enabling = change.enabled === true && !current.enabled;
      const disabling = change.enabled === false && current.enabled;
      const endpoint = await webhookSql.updateEndpoint(tx, actor.organizationId, id, {
        url: url ?? current.url,
        eventTypes: eventTypes ?? current.eventTypes,
        description: description === undefined ? current.description : description,
        enabled: change.enabled ?? current.enabled,
        enabling,
        disabling,
      });
      if (disabling) await webhookSql.failPending(tx, actor.organizationId, id, 'endpoint disabled by an administrator');
      const changed: Record<string, unknown> = {};
      if (url !== undefined && url !== current.url) changed.url = { from: current.url, to: url };
      if (eventTypes !== undefined) changed.eventTypes = { from: current.eventTypes, to: eventTypes };
      if (description !== undefined && description !== current.description) changed.description = { from: current.description, to: description };
      if (enabling || disabling) changed.enabled = { from: current.enabled, to: !current.enabled };
      await writeAudit(tx, actor, { action: 'webhook.endpoint.update', resourceType: 'webhook_endpoint', resourceId: id, resourceLabel: endpoint.url, detail: { changes: changed } });
      return endpoint;
    });
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_endpoint', id);
    await this.db.transaction(async (tx) => {
      const url = await webhookSql.deleteEndpoint(tx, actor.organizationId, id);
      if (url === undefined) throw new NotFound('webhook_endpoint', id);
      // No endpoint left: stop following the stream (a new endpoint starts from its own creation).
      await webhookSql.stopCursorsWithoutEndpoints(tx, actor.organizationId, [WEBHOOK_CONSUMER, WEBHOOK_ACCESS_CONSUMER]);
      await writeAudit(tx, actor, { action: 'webhook.endpoint.delete', resourceType: 'webhook_endpoint', resourceId: id, resourceLabel: url });
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
      const endpoint = await webhookSql.rotateSecret(tx, actor.organizationId, id, this.cipher.encrypt(secret), overlapSeconds);
      if (!endpoint) throw new NotFound('webhook_endpoint', id);
      await writeAudit(tx, actor, { action: 'webhook.endpoint.rotate_secret', resourceType: 'webhook_endpoint', resourceId: id, resourceLabel: endpoint.url, detail: { overlapSeconds } });
      return { endpoint, secret, previousSecretExpiresAt: endpoint.previousSecretExpiresAt };
    });
  }

  // ---- the delivery log ------------------------------------------------------

  /** Deliveries newest first, optionally of one endpoint and one status; `before` pages with a delivery id. */
  async deliveries(actor: Actor, f: { endpointId?: string; status?: DeliveryStatus; before?: string; limit?: number } = {}): Promise<WebhookDelivery[]> {
    requireAdmin(actor);
    if (f.endpointId !== undefined && !isUuid(f.endpointId)) throw new NotFound('webhook_endpoint', f.endpointId);
    if (f.status !== undefined && !['pending', 'succeeded', 'failed'].includes(f.status)) {
      throw new Invalid('invalid_value', 'status must be pending, succeeded or failed', 'status');
    }
    if (f.before !== undefined && !isUuid(f.before)) throw new Invalid('invalid_cursor', 'before must be a delivery id', 'before');
    return webhookSql.selectDeliveries(this.db.sql, actor.organizationId, f, logPageSize(f.limit));
  }

  async delivery(actor: Actor, id: string): Promise<WebhookDeliveryDetail> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('webhook_delivery', id);
    const detail = await webhookSql.selectDeliveryDetail(this.db.sql, actor.organizationId, id);
    if (!detail) throw new NotFound('webhook_delivery', id);
    return detail;
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
      const row = await webhookSql.redeliver(tx, actor.organizationId, id, this.policy.giveUpAfterSeconds);
      if (!row) throw new NotFound('webhook_delivery', id);
      if (!row.endpointEnabled) throw new Invalid('endpoint_disabled', 'The endpoint is disabled: enable it first', 'id');
      const { delivery } = row;
      await writeAudit(tx, actor, {
        action: 'webhook.delivery.redeliver',
        resourceType: 'webhook_delivery',
        resourceId: id,
        detail: { messageId: delivery.messageId, endpointId: delivery.endpointId },
      });
      return delivery;
    });
  }

  /** Sends every failed delivery of an endpoint again (after it was fixed and re-enabled); returns how many. */
  async redeliverFailed(actor: Actor, endpointId: string): Promise<number> {
    requireAdmin(actor);
    const endpoint = await this.get(actor, endpointId);
    if (!endpoint.enabled) throw new Invalid('endpoint_disabled', 'The endpoint is disabled: enable it first', 'endpointId');
    return this.db.transaction(async (tx) => {
      const n = await webhookSql.redeliverFailed(tx, actor.organizationId, endpointId, this.policy.giveUpAfterSeconds);
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
    return webhookSql.insertEventDeliveries(
      tx,
      organizationId,
      this.policy.giveUpAfterSeconds,
      { ids: events.map((e) => e.id), types: events.map((e) => e.type), payloads, txids: events.map((e) => e.position.txid) },
      EXPLICIT_ONLY_TYPES,
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
    return webhookSql.insertAccessDeliveries(tx, organizationId, this.policy.giveUpAfterSeconds, {
      ids: entries.map((e) => e.id),
      payloads: entries.map((e) => payloadOf(e)),
      positions: entries.map((e) => e.position.toString()),
    });
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
    return webhookSql.claimDeliveries(this.db.sql, limit, this.policy.claimSeconds);
  }

  private async release(rows: readonly ClaimedRow[]): Promise<void> {
    for (const r of rows) await webhookSql.releaseDelivery(this.db.sql, r.organization_id, r.id);
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
    const health = await webhookSql.recordAttempt(this.db.sql, c, {
      durationMs: result.durationMs,
      statusCode: result.status,
      error,
      responseExcerpt: result.responseExcerpt,
      status,
      retryAt,
      ok,
    });
    if (!ok) await this.disableIfFailingTooLong(c.organization_id, c.endpoint_id, health ? health.failingSince : null);
    return ok;
  }

  /** An endpoint failing every attempt for longer than the policy allows is disabled, and its waiting deliveries fail. */
  private async disableIfFailingTooLong(organizationId: string, endpointId: string, knownSince: Date | null): Promise<void> {
    if (knownSince) return; // it only started failing now
    await this.db.transaction(async (tx) => {
      const row = await webhookSql.disableFailingEndpoint(tx, organizationId, endpointId, this.policy.disableAfterSeconds);
      if (!row) return;
      const failedDeliveries = await webhookSql.failPending(tx, organizationId, endpointId, 'endpoint disabled: it failed for too long');
      await writeAudit(tx, systemActor(organizationId, 'webhooks'), {
        action: 'webhook.endpoint.disable',
        resourceType: 'webhook_endpoint',
        resourceId: endpointId,
        resourceLabel: row.url,
        reason: 'endpoint_failing',
        detail: { failingSince: row.failingSince.toISOString(), failedDeliveries },
      });
    });
  }

  /** Forgets deliveries (and their attempts) finished longer ago than the policy keeps them; returns how many. */
  async purgeLog(limit = 1000): Promise<number> {
    return webhookSql.purgeDeliveries(this.db.sql, this.policy.logRetentionDays, limit);
  }
}
