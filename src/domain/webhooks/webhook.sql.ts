// The statements of webhook endpoints and deliveries. Recording an attempt is
// one statement: the attempt, the delivery's state and the endpoint's health.
import type { Sql } from '../db.js';
import { toDate } from '../rows.js';
import { selectNewestFirst } from '../log-page.sql.js';
import type { EventType } from '../events/event-types.js';
import { followStreamFromNow } from '../events/event-cursor.sql.js';
import type { DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookDeliveryDetail, WebhookEndpoint } from './webhook.model.js';

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

/** A claimed delivery with what sending it needs. */
export interface ClaimedRow {
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

// ---- endpoints -------------------------------------------------------------

/** A new endpoint, unless the organisation has `max` already (undefined then). */
export async function insertEndpoint(
  sql: Sql,
  e: { organizationId: string; id: string; url: string; description: string | null; eventTypes: readonly string[]; secretSealed: string; max: number },
): Promise<WebhookEndpoint | undefined> {
  const row = await sql.maybeOne<EndpointRow>(
    `insert into webhook_endpoints (organization_id, id, url, description, event_types, secret_sealed, created_access_position)
     select $1, $2, $3, $4, $5::text[], $6, coalesce((select position from access_feed_heads where organization_id = $1), 0)
     where (select count(*) from webhook_endpoints where organization_id = $7) < $8
     returning ${ENDPOINT_COLUMNS}`,
    [e.organizationId, e.id, e.url, e.description, e.eventTypes, e.secretSealed, e.organizationId, e.max],
  );
  return row && toEndpoint(row);
}

/**
 * The dispatcher's cursors of an organisation, when it has none yet: the
 * event stream from this transaction on, and the per-lock access feed from
 * its position now (access.changed).
 */
export async function startCursors(sql: Sql, organizationId: string, streamConsumer: string, accessConsumer: string): Promise<void> {
  await followStreamFromNow(sql, organizationId, streamConsumer);
  await sql.run(
    `insert into event_cursors (organization_id, consumer, txid, event_id)
     values ($1, $2, '0'::xid8, coalesce((select position from access_feed_heads where organization_id = $1), 0)) on conflict do nothing`,
    [organizationId, accessConsumer],
  );
}

/** Deletes the organisation's cursors of these consumers when it has no endpoint left. */
export async function stopCursorsWithoutEndpoints(sql: Sql, organizationId: string, consumers: readonly string[]): Promise<void> {
  await sql.run(
    `delete from event_cursors where organization_id = $1 and consumer = any($2::text[]) and not exists (select 1 from webhook_endpoints where organization_id = $3)`,
    [organizationId, consumers, organizationId],
  );
}

export async function selectEndpoints(sql: Sql, organizationId: string): Promise<WebhookEndpoint[]> {
  const rows = await sql.all<EndpointRow>(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where organization_id = $1 order by created_at, id`, [organizationId]);
  return rows.map(toEndpoint);
}

/** One endpoint; `forUpdate` locks its row for the transaction. */
export async function selectEndpoint(sql: Sql, organizationId: string, id: string, forUpdate = false): Promise<WebhookEndpoint | undefined> {
  const row = await sql.maybeOne<EndpointRow>(`select ${ENDPOINT_COLUMNS} from webhook_endpoints where organization_id = $1 and id = $2${forUpdate ? ' for update' : ''}`, [
    organizationId,
    id,
  ]);
  return row && toEndpoint(row);
}

/** Writes an endpoint's settings; `enabling`/`disabling` also reset or set why and when it was disabled, and its failing streak. */
export async function updateEndpoint(
  sql: Sql,
  organizationId: string,
  id: string,
  e: { url: string; eventTypes: readonly string[]; description: string | null; enabled: boolean; enabling: boolean; disabling: boolean },
): Promise<WebhookEndpoint> {
  const row = await sql.one<EndpointRow>(
    `update webhook_endpoints set url = $1, event_types = $2::text[], description = $3, enabled = $4,
       disabled_reason = case when $5 then null when $6 then 'disabled by an administrator' else disabled_reason end,
       disabled_at = case when $7 then null when $8 then now() else disabled_at end,
       failing_since = case when $9 then null else failing_since end, updated_at = now()
     where organization_id = $10 and id = $11 returning ${ENDPOINT_COLUMNS}`,
    [e.url, e.eventTypes, e.description, e.enabled, e.enabling, e.disabling, e.enabling, e.disabling, e.enabling, organizationId, id],
  );
  return toEndpoint(row);
}

/** Deletes an endpoint; its URL, undefined when there was none. */
export async function deleteEndpoint(sql: Sql, organizationId: string, id: string): Promise<string | undefined> {
  const row = await sql.maybeOne<{ url: string }>(`delete from webhook_endpoints where organization_id = $1 and id = $2 returning url`, [organizationId, id]);
  return row?.url;
}

/** A new sealed secret; the previous one stays for `overlapSeconds` (0: not kept). */
export async function rotateSecret(sql: Sql, organizationId: string, id: string, secretSealed: string, overlapSeconds: number): Promise<WebhookEndpoint | undefined> {
  const row = await sql.maybeOne<EndpointRow>(
    `update webhook_endpoints set previous_secret_sealed = case when $1 > 0 then secret_sealed end,
       previous_secret_expires_at = case when $2 > 0 then now() + make_interval(secs => $3) end,
       secret_sealed = $4, updated_at = now()
     where organization_id = $5 and id = $6 returning ${ENDPOINT_COLUMNS}`,
    [overlapSeconds, overlapSeconds, overlapSeconds, secretSealed, organizationId, id],
  );
  return row && toEndpoint(row);
}

/** Disables an enabled endpoint failing for longer than `afterSeconds`; its URL and since when, undefined when it was not. */
export async function disableFailingEndpoint(
  sql: Sql,
  organizationId: string,
  endpointId: string,
  afterSeconds: number,
): Promise<{ url: string; failingSince: Date } | undefined> {
  const row = await sql.maybeOne<{ url: string; failing_since: string }>(
    `update webhook_endpoints set enabled = false, disabled_at = now(), updated_at = now(),
       disabled_reason = 'every delivery failed since ' || to_char(failing_since at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
     where organization_id = $1 and id = $2 and enabled and failing_since < now() - make_interval(secs => $3)
     returning url, failing_since`,
    [organizationId, endpointId, afterSeconds],
  );
  return row && { url: row.url, failingSince: toDate(row.failing_since) };
}

// ---- deliveries ------------------------------------------------------------

/** Deliveries newest first, optionally of one endpoint and status, before the delivery `before`. */
export async function selectDeliveries(
  sql: Sql,
  organizationId: string,
  f: { endpointId?: string; status?: DeliveryStatus; before?: string },
  limit: number,
): Promise<WebhookDelivery[]> {
  const rows = await selectNewestFirst<DeliveryRow>(sql, 'webhook_deliveries', DELIVERY_COLUMNS, organizationId, { endpoint_id: f.endpointId, status: f.status }, f.before, limit);
  return rows.map(toDelivery);
}

/** One delivery with its payload and every attempt. */
export async function selectDeliveryDetail(sql: Sql, organizationId: string, id: string): Promise<WebhookDeliveryDetail | undefined> {
  const row = await sql.maybeOne<DeliveryRow & { payload: string; attempt_log: AttemptJson[] }>(
    `select ${DELIVERY_COLUMNS}, payload,
       (select coalesce(json_agg(json_build_object('attempt', a.attempt, 'at', a.at, 'duration_ms', a.duration_ms, 'status_code', a.status_code,
                 'error', a.error, 'response_excerpt', a.response_excerpt) order by a.attempt), '[]')
        from webhook_attempts a where a.organization_id = d.organization_id and a.delivery_id = d.id) as attempt_log
     from webhook_deliveries d where organization_id = $1 and id = $2`,
    [organizationId, id],
  );
  return row && { ...toDelivery(row), payload: row.payload, attemptLog: row.attempt_log.map(toAttempt) };
}

/** Makes a delivery pending again, retried for `giveUpAfterSeconds` from now; with whether its endpoint is enabled. */
export async function redeliver(
  sql: Sql,
  organizationId: string,
  id: string,
  giveUpAfterSeconds: number,
): Promise<{ delivery: WebhookDelivery; endpointEnabled: boolean } | undefined> {
  const row = await sql.maybeOne<DeliveryRow & { enabled: boolean }>(
    `update webhook_deliveries d set status = 'pending', next_attempt_at = now(), claimed_until = null, succeeded_at = null,
       give_up_at = now() + make_interval(secs => $1)
     from webhook_endpoints e
     where d.organization_id = $2 and d.id = $3 and e.organization_id = d.organization_id and e.id = d.endpoint_id
     returning ${DELIVERY_COLUMNS.split(', ').map((c) => 'd.' + c).join(', ')}, e.enabled`,
    [giveUpAfterSeconds, organizationId, id],
  );
  return row && { delivery: toDelivery(row), endpointEnabled: row.enabled };
}

/** Makes every failed delivery of an endpoint pending again; how many. */
export async function redeliverFailed(sql: Sql, organizationId: string, endpointId: string, giveUpAfterSeconds: number): Promise<number> {
  return sql.run(
    `update webhook_deliveries set status = 'pending', next_attempt_at = now(), claimed_until = null, give_up_at = now() + make_interval(secs => $1)
     where organization_id = $2 and endpoint_id = $3 and status = 'failed'`,
    [giveUpAfterSeconds, organizationId, endpointId],
  );
}

/** Fails the waiting deliveries of an endpoint; how many. */
export async function failPending(sql: Sql, organizationId: string, endpointId: string, reason: string): Promise<number> {
  return sql.run(
    `update webhook_deliveries set status = 'failed', claimed_until = null, last_error = $1 where organization_id = $2 and endpoint_id = $3 and status = 'pending'`,
    [reason, organizationId, endpointId],
  );
}

/**
 * Deliveries of outbound events: one per event and enabled endpoint subscribed
 * to its type (`*`: all but `explicitOnly`) that existed when the event's
 * transaction began; an event already delivered to an endpoint is skipped.
 */
export async function insertEventDeliveries(
  sql: Sql,
  organizationId: string,
  giveUpAfterSeconds: number,
  events: { ids: readonly string[]; types: readonly string[]; payloads: readonly string[]; txids: readonly string[] },
  explicitOnly: readonly string[],
): Promise<number> {
  return sql.run(
    `insert into webhook_deliveries (organization_id, id, endpoint_id, message_id, event_type, payload, give_up_at)
     select $1, gen_random_uuid(), e.id, x.mid, x.type, x.payload, now() + make_interval(secs => $2)
     from unnest($3::text[], $4::text[], $5::text[], $6::xid8[]) with ordinality as x(mid, type, payload, txid, n)
     join webhook_endpoints e on e.organization_id = $7 and e.enabled and e.created_txid <= x.txid
       and (x.type = any(e.event_types) or (x.type <> all($8::text[]) and '*' = any(e.event_types)))
     order by x.n
     on conflict (organization_id, endpoint_id, message_id) do nothing`,
    [organizationId, giveUpAfterSeconds, events.ids, events.types, events.payloads, events.txids, organizationId, explicitOnly],
  );
}

/** Deliveries of per-lock access entries: one per entry and enabled endpoint naming access.changed that existed before the entry was numbered. */
export async function insertAccessDeliveries(
  sql: Sql,
  organizationId: string,
  giveUpAfterSeconds: number,
  entries: { ids: readonly string[]; payloads: readonly string[]; positions: readonly string[] },
): Promise<number> {
  return sql.run(
    `insert into webhook_deliveries (organization_id, id, endpoint_id, message_id, event_type, payload, give_up_at)
     select $1, gen_random_uuid(), e.id, x.mid, 'access.changed', x.payload, now() + make_interval(secs => $2)
     from unnest($3::text[], $4::text[], $5::bigint[]) with ordinality as x(mid, payload, position, n)
     join webhook_endpoints e on e.organization_id = $1 and e.enabled and e.created_access_position < x.position
       and 'access.changed' = any(e.event_types)
     order by x.n
     on conflict (organization_id, endpoint_id, message_id) do nothing`,
    [organizationId, giveUpAfterSeconds, entries.ids, entries.payloads, entries.positions],
  );
}

/** Claims up to `limit` due deliveries of enabled endpoints for `claimSeconds` (FOR UPDATE SKIP LOCKED: one process each), counting the attempt. */
export async function claimDeliveries(sql: Sql, limit: number, claimSeconds: number): Promise<ClaimedRow[]> {
  return sql.all<ClaimedRow>(
    `with c as (
       select organization_id, id from webhook_deliveries
       where status = 'pending' and next_attempt_at <= now() and (claimed_until is null or claimed_until < now())
       order by next_attempt_at limit ${Math.max(1, limit)} for update skip locked)
     update webhook_deliveries d set claimed_until = now() + make_interval(secs => $1), attempts = d.attempts + 1
     from c, webhook_endpoints e
     where d.organization_id = c.organization_id and d.id = c.id and e.organization_id = d.organization_id and e.id = d.endpoint_id and e.enabled
     returning d.organization_id, d.id, d.endpoint_id, d.message_id, d.payload, d.attempts, d.give_up_at,
       e.url, e.secret_sealed, e.previous_secret_sealed, e.previous_secret_expires_at`,
    [claimSeconds],
  );
}

/** Gives a claimed delivery back unattempted. */
export async function releaseDelivery(sql: Sql, organizationId: string, id: string): Promise<void> {
  await sql.run(`update webhook_deliveries set claimed_until = null, attempts = attempts - 1 where organization_id = $1 and id = $2`, [organizationId, id]);
}

/**
 * An attempt, the delivery's new state and the endpoint's health in one
 * statement. Returns the endpoint's failing_since when its health changed
 * (null: it recovered), undefined when it did not change.
 */
export async function recordAttempt(
  sql: Sql,
  c: ClaimedRow,
  a: { durationMs: number; statusCode: number | null; error: string | null; responseExcerpt: string | null; status: DeliveryStatus; retryAt: Date; ok: boolean },
): Promise<{ failingSince: Date | null } | undefined> {
  const row = await sql.maybeOne<{ failing_since: string | null }>(
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
      Math.round(a.durationMs),
      a.statusCode,
      a.error,
      a.responseExcerpt,
      a.status,
      a.retryAt,
      a.statusCode,
      a.error,
      a.ok,
      c.organization_id,
      c.id,
      a.ok,
      c.organization_id,
      c.endpoint_id,
      a.ok,
    ],
  );
  return row && { failingSince: toDate(row.failing_since) };
}

/** Deletes up to `limit` deliveries (and their attempts) finished more than `days` ago; how many. */
export async function purgeDeliveries(sql: Sql, days: number, limit: number): Promise<number> {
  return sql.run(
    `delete from webhook_deliveries where (organization_id, id) in (
       select organization_id, id from webhook_deliveries
       where status <> 'pending' and coalesce(succeeded_at, last_attempt_at, created_at) < now() - make_interval(days => $1) limit ${Math.max(1, limit)})`,
    [days],
  );
}
