// Webhook endpoints and deliveries as the domain hands them out, and the port
// through which a signed request leaves Gatehouse.
import type { EventType } from '../events/event-types.js';

export interface WebhookEndpoint {
  readonly id: string;
  readonly url: string;
  readonly description: string | null;
  /** Event types, or "*" for every type but audit.event and access.changed. */
  readonly eventTypes: string[];
  readonly enabled: boolean;
  /** Why it is disabled (failing for too long, or an admin), when it is. */
  readonly disabledReason: string | null;
  readonly disabledAt: Date | null;
  /** First failed attempt since the last success (null: healthy). */
  readonly failingSince: Date | null;
  /** While set, deliveries are also signed with the previous secret (rotation overlap). */
  readonly previousSecretExpiresAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface WebhookEndpointInput {
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly description?: string | null;
}

export interface WebhookEndpointChange {
  readonly url?: string;
  readonly eventTypes?: readonly string[];
  readonly description?: string | null;
  /** true re-enables a disabled endpoint (its health starts afresh); false disables it. */
  readonly enabled?: boolean;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDelivery {
  readonly id: string;
  readonly endpointId: string;
  /** The webhook-id header: the same for every attempt and redelivery of this event. */
  readonly messageId: string;
  readonly eventType: EventType;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly lastAttemptAt: Date | null;
  readonly lastStatus: number | null;
  readonly lastError: string | null;
  readonly createdAt: Date;
  readonly succeededAt: Date | null;
  readonly giveUpAt: Date;
}

export interface WebhookAttempt {
  readonly attempt: number;
  readonly at: Date;
  readonly durationMs: number;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly responseExcerpt: string | null;
}

export interface WebhookDeliveryDetail extends WebhookDelivery {
  readonly payload: string;
  readonly attemptLog: WebhookAttempt[];
}

/** A signed request, ready to go. */
export interface OutboundRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface OutboundResult {
  /** The receiver's HTTP status; null when no answer came (refused, timed out, unreachable). */
  readonly status: number | null;
  /** Why the attempt failed (no answer, a redirect not followed, a refused address); null for an answer. */
  readonly error: string | null;
  readonly durationMs: number;
  /** The beginning of the receiver's answer, for the delivery log. */
  readonly responseExcerpt: string | null;
}

/** Sends one request; never throws (a failure is a result). Implemented over HTTP in src/integrations/webhooks. */
export interface WebhookSender {
  send(request: OutboundRequest): Promise<OutboundResult>;
}
