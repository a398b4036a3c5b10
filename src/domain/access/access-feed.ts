// The access feeds. Who may open which lock is resolved by the database in
// the transaction of each change (migration lock_access_feed): at commit the
// organisation's counter (access_feed_heads, a row lock held until the commit
// is visible) numbers the transaction's coarse changes (access_changes) and
// its per-lock entries (access_entries: member, lock, may open now). So
// positions are dense per organisation and in commit order, and a reader
// never waits on a transaction of another organisation, nor on one of its own
// organisation that has not committed yet.
import { requireDirectoryReader, type Actor } from '../actor.js';
import type { Db, Sql } from '../db.js';
import { toDate } from '../rows.js';
import { Invalid, NotFound } from '../errors.js';

export type AccessChangeKind =
  | 'share_granted'
  | 'share_revoked'
  | 'member_activated'
  | 'member_deactivated'
  | 'member_deleted'
  | 'group_member_added'
  | 'group_member_removed'
  | 'group_deleted'
  | 'lock_deleted'
  | 'place_deleted';

export interface AccessChangeInput {
  readonly kind: AccessChangeKind;
  readonly memberId?: string | null;
  readonly groupId?: string | null;
  readonly shareId?: string | null;
  readonly placeId?: string | null;
  readonly lockId?: string | null;
  readonly validFrom?: Date | null;
  readonly validUntil?: Date | null;
}

export async function recordAccessChange(sql: Sql, organizationId: string, c: AccessChangeInput): Promise<void> {
  await sql.run(
    `insert into access_changes (organization_id, kind, member_id, group_id, share_id, place_id, lock_id, valid_from, valid_until)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [organizationId, c.kind, c.memberId ?? null, c.groupId ?? null, c.shareId ?? null, c.placeId ?? null, c.lockId ?? null, c.validFrom ?? null, c.validUntil ?? null],
  );
}

// ---- cursors -------------------------------------------------------------

const MAX_BIGINT = 2n ** 63n - 1n;
const MAX_XID8 = 2n ** 64n - 1n;

/** A position of the organisation's feed, as handed out. */
export function encodeFeedCursor(position: string | bigint): string {
  return Buffer.from(`p:${position}`).toString('base64url');
}

/**
 * What a cursor names: a position, or (cursors handed out before positions)
 * the id of an access_changes row whose position the database knows.
 */
export type DecodedCursor = { readonly position: string } | { readonly legacyId: string };

export function decodeFeedCursor(cursor: string, field = 'after'): DecodedCursor {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const p = /^p:(\d{1,19})$/.exec(text);
  if (p && BigInt(p[1]!) <= MAX_BIGINT) return { position: p[1]! };
  const legacy = /^(\d{1,20}):(\d{1,19})$/.exec(text);
  // In range too: a number past xid8 or bigint would be PostgreSQL's error (a 5xx), not the caller's.
  if (legacy && BigInt(legacy[1]!) <= MAX_XID8 && BigInt(legacy[2]!) <= MAX_BIGINT) return { legacyId: legacy[2]! };
  throw new Invalid('invalid_cursor', 'The cursor is not one this feed handed out', field);
}

/** SQL (a scalar subquery) for the position a decoded cursor names, with $2 the position and $3 a legacy id. */
const CURSOR_POSITION = `(case when $3::bigint is null then $2::bigint
  else (select c.position from access_changes c where c.organization_id = $1 and c.id = $3::bigint) end)`;

function cursorParams(after: string | null | undefined, field = 'after'): [string, string | null] {
  if (!after) return ['0', null];
  const d = decodeFeedCursor(after, field);
  return 'position' in d ? [d.position, null] : ['0', d.legacyId];
}

interface HeadRow {
  head: string | null;
  purged: string | null;
  from_position: string | null;
}

/**
 * The cursor checked against the organisation's counter: past the head it
 * was never handed out (forged, or another organisation's); below what
 * retention purged it has expired and the client loads the snapshot again.
 */
function checkCursor(r: HeadRow | undefined, after: string | null | undefined, field = 'after'): void {
  if (!after) return;
  const head = BigInt(r?.head ?? '0');
  const purged = BigInt(r?.purged ?? '0');
  if (r?.from_position == null) throw new Invalid('cursor_expired', 'The cursor is older than the feed keeps: load the snapshot again', field);
  const at = BigInt(r.from_position);
  if (at > head) throw new Invalid('invalid_cursor', 'The cursor is not one this feed handed out', field);
  if (at < purged) throw new Invalid('cursor_expired', 'The cursor is older than the feed keeps: load the snapshot again', field);
}

// ---- the coarse feed (accessChanges) ---------------------------------------

export interface AccessChange {
  /** Opaque position of this entry: pass it as `after` to read what follows. */
  readonly cursor: string;
  readonly at: Date;
  readonly kind: AccessChangeKind;
  readonly memberId: string | null;
  readonly groupId: string | null;
  readonly shareId: string | null;
  readonly placeId: string | null;
  readonly lockId: string | null;
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
}

export interface AccessChangePage {
  readonly changes: AccessChange[];
  readonly hasNextPage: boolean;
  /** Where the next read starts; the `after` given when the page is empty. */
  readonly endCursor: string | null;
}

export const MAX_FEED_PAGE = 1000;

interface AccessChangeRow extends HeadRow {
  position: string | null;
  at: string;
  kind: AccessChangeKind;
  member_id: string | null;
  group_id: string | null;
  share_id: string | null;
  place_id: string | null;
  lock_id: string | null;
  valid_from: string | null;
  valid_until: string | null;
}

function checkPageSize(first: number): void {
  if (!Number.isInteger(first) || first < 1 || first > MAX_FEED_PAGE) {
    throw new Invalid('invalid_page_size', `first must be between 1 and ${MAX_FEED_PAGE}`, 'first');
  }
}

/**
 * Reads the coarse feed after `after`, in commit order: entries are numbered
 * at commit under the organisation's row lock, so a position is never
 * handed out before every smaller one is visible.
 */
export async function listAccessChanges(db: Db, actor: Actor, after: string | null | undefined, first = 100): Promise<AccessChangePage> {
  requireDirectoryReader(actor);
  checkPageSize(first);
  const [position, legacyId] = cursorParams(after);
  // One statement: the counter (to check the cursor) and the page, in one snapshot.
  const rows = await db.sql.all<AccessChangeRow>(
    `with f as (select ${CURSOR_POSITION} as p)
     select h.position::text as head, h.purged_through::text as purged, f.p::text as from_position,
            c.position::text as position, c.at, c.kind, c.member_id, c.group_id, c.share_id, c.place_id, c.lock_id, c.valid_from, c.valid_until
     from f left join access_feed_heads h on h.organization_id = $1
     left join lateral (
       select * from access_changes c where c.organization_id = $1 and c.position > f.p order by c.position limit ${first + 1}
     ) c on true
     order by c.position`,
    [actor.organizationId, position, legacyId],
  );
  checkCursor(rows[0], after);
  const found = rows.filter((r) => r.position !== null);
  const changes = found.slice(0, first).map((r) => ({
    cursor: encodeFeedCursor(r.position!),
    at: toDate(r.at),
    kind: r.kind,
    memberId: r.member_id,
    groupId: r.group_id,
    shareId: r.share_id,
    placeId: r.place_id,
    lockId: r.lock_id,
    validFrom: toDate(r.valid_from),
    validUntil: toDate(r.valid_until),
  }));
  return { changes, hasNextPage: found.length > first, endCursor: changes.at(-1)?.cursor ?? after ?? null };
}

// ---- the per-lock feed -----------------------------------------------------

/** A validity window of a grant: open at either end when null. */
export interface AccessWindow {
  readonly validFrom: Date | null;
  readonly validUntil: Date | null;
}

/** One change of who may open one lock: apply it as it is, no other lookup needed. */
export interface LockAccessEntry {
  readonly cursor: string;
  readonly at: Date;
  readonly memberId: string;
  readonly lockId: string;
  readonly placeId: string;
  /** Whether the member may open the lock now (active, with a grant whose window is open). */
  readonly mayOpen: boolean;
  /** The windows of the member's grants on the lock that have not ended; empty when none is left. */
  readonly windows: AccessWindow[];
}

export interface LockAccessPage {
  readonly entries: LockAccessEntry[];
  readonly hasNextPage: boolean;
  readonly endCursor: string | null;
}

interface WindowJson {
  validFrom: string | null;
  validUntil: string | null;
}

export function toWindows(w: WindowJson[] | null): AccessWindow[] {
  return (w ?? []).map((x) => ({ validFrom: toDate(x.validFrom), validUntil: toDate(x.validUntil) }));
}

interface EntryRow {
  position: string | null;
  at: string;
  member_id: string;
  lock_id: string;
  place_id: string;
  may_open: boolean;
  windows: WindowJson[] | null;
}

/** The page statement's rows: first the counter and the checks, then the entries. */
interface PageRow extends EntryRow, HeadRow {
  missing_locks: string[] | null;
  missing_places: string[] | null;
}

/** Which locks a reader follows: these locks, and every lock of these places (also locks added later). */
export interface LockScope {
  readonly lockIds: readonly string[];
  readonly placeIds: readonly string[];
}

/**
 * Per-lock entries of the scope after `after` (a cursor of either feed), in
 * commit order, `first` at a time. Checks the cursor like the coarse feed.
 *
 * One statement. The page is the first `first + 1` positions of the union of
 * each lock's and each place's own entries, each read in order from its
 * index and cut at `first + 1`: its work is bounded by the page, never by
 * what other locks of the organisation wrote after the cursor (a walk of the
 * organisation's feed filtered by lock reads all of that). An entry of a
 * named lock of a named place comes twice and is kept once. The counter and
 * the checks come once, in a first row of their own, not repeated (and
 * parsed) on each of the page's rows.
 */
export async function readLockEntries(sql: Sql, organizationId: string, scope: LockScope, after: string | null | undefined, first: number): Promise<LockAccessPage> {
  checkPageSize(first);
  const [position, legacyId] = cursorParams(after);
  const limit = first + 1;
  const rows = await sql.all<PageRow>(
    `with f as (select ${CURSOR_POSITION} as p),
     page as (
       select distinct on (u.position) u.* from (
         select e.* from f, unnest($4::uuid[]) x, lateral (
           select e.position, e.at, e.member_id, e.lock_id, e.place_id, e.may_open, e.windows from access_entries e
           where e.organization_id = $1 and e.lock_id = x and e.position > f.p order by e.position limit ${limit}) e
         union all
         select e.* from f, unnest($5::uuid[]) x, lateral (
           select e.position, e.at, e.member_id, e.lock_id, e.place_id, e.may_open, e.windows from access_entries e
           where e.organization_id = $1 and e.place_id = x and e.position > f.p order by e.position limit ${limit}) e
       ) u
       order by u.position limit ${limit}
     )
     select r.* from (
     select h.position::text as head, h.purged_through::text as purged, f.p::text as from_position,
            array(select x from unnest($4::uuid[]) x where not exists (select 1 from locks l where l.organization_id = $1 and l.id = x)
              and not exists (select 1 from access_entries e where e.organization_id = $1 and e.lock_id = x)) as missing_locks,
            array(select x from unnest($5::uuid[]) x where not exists (select 1 from places p where p.organization_id = $1 and p.id = x)
              and not exists (select 1 from access_entries e where e.organization_id = $1 and e.place_id = x)) as missing_places,
            null::bigint as position, null::timestamptz as at, null::uuid as member_id, null::uuid as lock_id, null::uuid as place_id,
            null::boolean as may_open, null::jsonb as windows
     from f left join access_feed_heads h on h.organization_id = $1
     union all
     select null, null, null, null, null, e.position, e.at, e.member_id, e.lock_id, e.place_id, e.may_open, e.windows from page e
     ) r
     -- The header row first, then the page by position (bigint; qualified, never a cast output's name).
     order by r.position nulls first`,
    [organizationId, position, legacyId, scope.lockIds, scope.placeIds],
  );
  const head = rows[0];
  // Unknown, or another organisation's: the same answer. (A deleted lock or place stays readable while its entries are kept.)
  const missingLock = head?.missing_locks?.[0];
  if (missingLock) throw new NotFound('lock', missingLock);
  const missingPlace = head?.missing_places?.[0];
  if (missingPlace) throw new NotFound('place', missingPlace);
  checkCursor(head, after);
  const found = rows.length - 1;
  const entries: LockAccessEntry[] = new Array(Math.max(0, Math.min(found, first)));
  for (let i = 0; i < entries.length; i++) entries[i] = toEntry(rows[i + 1]!);
  return { entries, hasNextPage: found > first, endCursor: entries.at(-1)?.cursor ?? (after ? encodeFeedCursor(head!.from_position!) : null) };
}

function toEntry(r: EntryRow): LockAccessEntry {
  return {
    cursor: encodeFeedCursor(r.position!),
    at: toDate(r.at),
    memberId: r.member_id,
    lockId: r.lock_id,
    placeId: r.place_id,
    mayOpen: r.may_open,
    windows: toWindows(r.windows),
  };
}

// ---- snapshot ----------------------------------------------------------------

/** A member on a lock's allow-list. */
export interface AllowedMember {
  readonly memberId: string;
  readonly userName: string;
  readonly mayOpen: boolean;
  readonly windows: AccessWindow[];
}

export interface LockAllowList {
  readonly lockId: string;
  readonly placeId: string;
  readonly members: AllowedMember[];
}

export interface LockSnapshot {
  /** The feed position at which these lists are exact: subscribe or read changes after it. */
  readonly cursor: string;
  readonly locks: LockAllowList[];
}

interface SnapshotRow {
  head: string | null;
  missing_locks: string[] | null;
  missing_places: string[] | null;
  locks: { lockId: string; placeId: string }[] | null;
  members: { memberId: string; userName: string; lockId: string; mayOpen: boolean; windows: WindowJson[] }[] | null;
}

/**
 * The complete allow-lists of these locks (and of every lock of these
 * places) and the feed position at which they are exact, in ONE statement,
 * so one snapshot of the database: the allow-lists (access_state) and the
 * counter change in the same transactions.
 */
export async function readLockSnapshot(sql: Sql, organizationId: string, scope: LockScope): Promise<LockSnapshot> {
  const row = await sql.one<SnapshotRow>(
    `select h.position::text as head,
       array(select x from unnest($2::uuid[]) x where not exists (select 1 from locks l where l.organization_id = $1 and l.id = x)) as missing_locks,
       array(select x from unnest($3::uuid[]) x where not exists (select 1 from places p where p.organization_id = $1 and p.id = x)) as missing_places,
       (select json_agg(json_build_object('lockId', l.id, 'placeId', l.place_id) order by l.id) from locks l
         where l.organization_id = $1 and (l.id = any($2::uuid[]) or l.place_id = any($3::uuid[]))) as locks,
       (select json_agg(json_build_object('memberId', st.member_id, 'userName', m.user_name, 'lockId', st.lock_id, 'mayOpen', st.may_open, 'windows', st.windows)
                 order by st.lock_id, st.member_id)
         from access_state st join members m on m.organization_id = st.organization_id and m.id = st.member_id
         where st.organization_id = $1 and (st.lock_id = any($2::uuid[]) or st.place_id = any($3::uuid[]))) as members
     from (select 1) one left join access_feed_heads h on h.organization_id = $1`,
    [organizationId, scope.lockIds, scope.placeIds],
  );
  const missingLock = row.missing_locks?.[0];
  if (missingLock) throw new NotFound('lock', missingLock);
  const missingPlace = row.missing_places?.[0];
  if (missingPlace) throw new NotFound('place', missingPlace);
  const byLock = new Map<string, LockAllowList>((row.locks ?? []).map((l) => [l.lockId, { lockId: l.lockId, placeId: l.placeId, members: [] }]));
  for (const m of row.members ?? []) {
    byLock.get(m.lockId)?.members.push({ memberId: m.memberId, userName: m.userName, mayOpen: m.mayOpen, windows: toWindows(m.windows) });
  }
  return { cursor: encodeFeedCursor(row.head ?? '0'), locks: [...byLock.values()] };
}

// ---- retention -----------------------------------------------------------------

/**
 * Deletes feed entries older than `days` (both feeds), per organisation up
 * to one position, and records it: a cursor below it has expired
 * (cursor_expired) and its client loads the snapshot again.
 */
export async function purgeAccessFeed(db: Db, days: number, now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - days * 86_400_000);
  const row = await db.sql.one<{ n: string }>(
    `with cut as (
       select h.organization_id, least(greatest(
         coalesce((select max(e.position) from access_entries e where e.organization_id = h.organization_id and e.at < $1), 0),
         coalesce((select max(c.position) from access_changes c where c.organization_id = h.organization_id and c.at < $1), 0)),
         -- Never past what the webhooks (access.changed) have not turned into deliveries yet.
         coalesce((select w.event_id from event_cursors w where w.organization_id = h.organization_id and w.consumer = 'webhooks.access'), h.position)) as p
       from access_feed_heads h
     ),
     de as (delete from access_entries e using cut where e.organization_id = cut.organization_id and e.position <= cut.p returning 1),
     dc as (delete from access_changes c using cut where c.organization_id = cut.organization_id and c.position <= cut.p returning 1),
     up as (update access_feed_heads h set purged_through = cut.p from cut where h.organization_id = cut.organization_id and cut.p > h.purged_through)
     select ((select count(*) from de) + (select count(*) from dc))::text as n`,
    [cutoff],
  );
  return Number(row.n);
}

// ---- following the feed (subscriptions) -----------------------------------------

/** The numeric position a feed cursor names (cursors of this sequence only). */
export function positionOf(cursor: string): bigint {
  const d = decodeFeedCursor(cursor);
  if (!('position' in d)) throw new Invalid('invalid_cursor', 'The cursor is not one this feed handed out', 'after');
  return BigInt(d.position);
}

/** The organisation's current position (0 before its first change). */
export async function readHead(sql: Sql, organizationId: string): Promise<bigint> {
  const row = await sql.maybeOne<{ position: string }>(`select position::text as position from access_feed_heads where organization_id = $1`, [organizationId]);
  return BigInt(row?.position ?? '0');
}

/** Every per-lock entry of the organisation after a position, in order (one process's tail of its organisations' feeds). */
export async function readEntriesAfter(sql: Sql, organizationId: string, after: bigint, first: number): Promise<(LockAccessEntry & { position: bigint })[]> {
  const rows = await sql.all<EntryRow>(
    `select e.position::text as position, e.at, e.member_id, e.lock_id, e.place_id, e.may_open, e.windows
     from access_entries e where e.organization_id = $1 and e.position > $2 order by e.position limit ${Math.max(1, Math.min(first, 10_000))}`,
    [organizationId, after.toString()],
  );
  return rows.map((r) => ({ ...toEntry(r), position: BigInt(r.position!) }));
}
