// The statements of the failed-authentication counters.
import type { Sql } from '../db.js';

/** Counts one failure in the current window of `windowSeconds`; the count so far and the seconds left in the window. */
export async function countFailure(sql: Sql, organizationId: string, bucket: string, windowSeconds: number): Promise<{ count: number; retry: number }> {
  return sql.one<{ count: number; retry: number }>(
    `insert into rate_limits (organization_id, bucket, window_start, count)
     values ($1, $2, to_timestamp(floor(extract(epoch from now()) / $3) * $3), 1)
     on conflict (organization_id, bucket, window_start) do update set count = rate_limits.count + 1
     returning count, ceil(extract(epoch from window_start) + $3 - extract(epoch from now()))::int as retry`,
    [organizationId, bucket, windowSeconds],
  );
}

/** Deletes the counters of windows that started more than `seconds` ago; how many. */
export async function deleteCountersBefore(sql: Sql, seconds: number): Promise<number> {
  return sql.run(`delete from rate_limits where window_start < now() - make_interval(secs => $1)`, [seconds]);
}
