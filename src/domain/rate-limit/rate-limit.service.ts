// Rate limits on failed authentication (SCIM tokens, API keys, SAML logins),
// with counters in PostgreSQL so every process shares them. Only failures
// cost a write: a good credential is checked and served with no extra
// statement, so a flood of bad tokens does not slow good ones. Once a client
// (or an organisation) passes the limit within the window, its failures are
// answered RateLimited (429) instead of Unauthenticated until the window ends.
import { RateLimited } from '../errors.js';
import type { Db } from '../db.js';
import { countFailure, deleteCountersBefore } from './rate-limit.sql.js';

export const NIL_ORGANIZATION = '00000000-0000-0000-0000-000000000000';

export interface RateLimitPolicy {
  /** Failures allowed per window and key before RateLimited. */
  readonly maxFailures: number;
  readonly windowSeconds: number;
}

/** One failure counted: whether the key is past the limit, and whether this is the failure that passed it. */
export interface CountedFailure {
  readonly count: number;
  readonly limited: boolean;
  /** The first failure past the limit in this window (for one summary instead of a row per failure). */
  readonly firstLimited: boolean;
  /** Seconds until the window ends. */
  readonly retryAfterSeconds: number;
}

export class RateLimitService {
  constructor(
    private readonly db: Db,
    private readonly policy: RateLimitPolicy,
  ) {}

  /**
   * Counts one failure for `bucket` (e.g. `scim:ip:203.0.113.9`) and throws
   * RateLimited when the limit is passed; returns otherwise so the caller
   * answers its usual Unauthenticated.
   */
  async recordFailure(bucket: string, organizationId: string = NIL_ORGANIZATION): Promise<void> {
    const c = await this.count(bucket, organizationId);
    if (c.limited) throw new RateLimited(c.retryAfterSeconds);
  }

  /** Counts one failure for `bucket` and says where it stands (the caller decides what a limited key gets). */
  async count(bucket: string, organizationId: string = NIL_ORGANIZATION): Promise<CountedFailure> {
    const row = await countFailure(this.db.sql, organizationId, bucket.slice(0, 200), this.policy.windowSeconds);
    const max = this.policy.maxFailures;
    return { count: row.count, limited: row.count > max, firstLimited: row.count === max + 1, retryAfterSeconds: Math.max(1, row.retry) };
  }

  /** Deletes counters of past windows (housekeeping). */
  async purge(): Promise<number> {
    return deleteCountersBefore(this.db.sql, this.policy.windowSeconds * 2);
  }
}
