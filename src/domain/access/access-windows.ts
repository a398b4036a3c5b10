// Validity windows that pass produce their change when they pass: a job
// (every ACCESS_WINDOWS_INTERVAL_SECONDS, in any number of processes) marks
// the shares whose validFrom or validUntil fell since the last run as touched;
// the commit's seal (migration lock_access_feed) then writes the per-lock
// entries that changed. Seals compare with what the feed already said, so
// two processes running it at once, or a run that repeats a window, add
// nothing twice. Controllers may also enforce windows by their own clock:
// entries and snapshots carry the windows, and both agree.
import type { Db } from '../db.js';

/** Marks the shares whose window started or ended since the last run; returns how many. */
export async function emitPassedWindows(db: Db, now: Date = new Date()): Promise<number> {
  const row = await db.sql.one<{ n: string }>(
    `with prev as (select organization_id, windows_checked_at as since from access_feed_heads where windows_checked_at < $1),
     due as (
       select s.organization_id, s.member_id, s.group_id, s.lock_id, s.place_id from prev
       join shares s on s.organization_id = prev.organization_id and s.valid_from > prev.since and s.valid_from <= $1
       union all
       select s.organization_id, s.member_id, s.group_id, s.lock_id, s.place_id from prev
       join shares s on s.organization_id = prev.organization_id and s.valid_until > prev.since and s.valid_until <= $1
     ),
     mark as (
       insert into access_dirty (organization_id, kind, member_id, group_id, lock_id, place_id)
       select organization_id, 'share', member_id, group_id, lock_id, place_id from due returning organization_id
     ),
     tok as (insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from mark on conflict do nothing),
     upd as (update access_feed_heads h set windows_checked_at = $1 from prev where h.organization_id = prev.organization_id and h.windows_checked_at < $1)
     select count(*)::text as n from due`,
    [now],
  );
  return Number(row.n);
}
