// Webhooks: the codes of their errors (a closed list: an edge mapping a code not here fails to compile).
export type WebhookErrorCode =
  /** Not an absolute http(s) URL, or one with credentials or a fragment. */
  | 'invalid_url'
  /** An event type that is not in the catalogue (see `webhook events`). */
  | 'unknown_event_type'
  /** The organisation has as many endpoints as allowed. */
  | 'too_many_endpoints'
  /** A secret rotation's overlap out of range. */
  | 'invalid_overlap'
  /** The endpoint is disabled: enable it before redelivering. */
  | 'endpoint_disabled';
