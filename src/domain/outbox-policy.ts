// How an outbox (webhook deliveries, notification mail) sends what it holds:
// claimed in batches under a lease, retried with exponential back-off until
// it gives up, its log kept for a while.

export interface OutboxPolicy {
  /** Back-off: the first retry after this long, each next one `retryFactor` times later, at most `maxRetryDelaySeconds` apart. */
  readonly firstRetrySeconds: number;
  readonly retryFactor: number;
  readonly maxRetryDelaySeconds: number;
  /** A message is retried for this long after it was queued (or sent again by hand), then fails. */
  readonly giveUpAfterSeconds: number;
  /** A process sending a message holds it this long. */
  readonly claimSeconds: number;
  /** Messages claimed per round, and sent at once. */
  readonly batchSize: number;
  readonly concurrency: number;
  /** Sent (or failed) messages and their attempts are kept this long. */
  readonly logRetentionDays: number;
}

/** The retry delay after failed attempt `n` (1-based), with ±10 % jitter so that retries of many messages spread out. */
export function retryDelaySeconds(policy: OutboxPolicy, n: number, random = Math.random): number {
  const d = Math.min(policy.firstRetrySeconds * policy.retryFactor ** Math.max(0, n - 1), policy.maxRetryDelaySeconds);
  return d * (0.9 + 0.2 * random());
}
