// The statements of effective access. Each question is one statement,
// whatever the number of groups or shares: a member's own shares plus those
// of its groups, only while the member is active and the share's validity
// window is open at the time asked; a share on a place covers its locks.
import type { Sql } from '../db.js';
import { MEMBER_COLUMNS, type MemberRow } from '../member/member.model.js';
import type { ShareRole } from '../share/share.model.js';

export interface GrantRow {
  share_id: string;
  role: ShareRole;
  scope: 'place' | 'lock';
  group_id: string | null;
  group_name: string | null;
  valid_from: string | null;
  valid_until: string | null;
}

/** A grant of one member on one lock; a row with a null lock_id only says the member exists. */
export type MemberGrantRow = GrantRow & { member_id: string; lock_id: string | null; lock_name: string; place_id: string; place_name: string };

/** A member who may open the lock with its grants; a row of nulls (id null) only says the lock exists. */
export type WhoRow = MemberRow & { grants: GrantRow[] | null; lock_found: boolean };

/** A share of the member on the lock, open or not; or the `member` row (its `active`); or the `lock` row. */
export type DecisionRow = GrantRow & { kind: 'member' | 'lock' | 'grant'; active: boolean | null; open: boolean | null };

/** Share `s` is open at the instant bound to placeholder `at` (a `$n`). */
const openAt = (at: string): string => `(s.valid_from is null or s.valid_from <= ${at}::timestamptz) and (s.valid_until is null or s.valid_until > ${at}::timestamptz)`;

/** One of `lockIds` that is not a lock of one of `placeIds` (undefined: all are). */
export async function selectLockOutsidePlaces(sql: Sql, organizationId: string, lockIds: readonly string[], placeIds: readonly string[]): Promise<string | undefined> {
  const row = await sql.maybeOne<{ id: string }>(
    `select x as id from unnest($2::uuid[]) x
     where not exists (select 1 from locks l where l.organization_id = $1 and l.id = x and l.place_id = any($3::uuid[])) limit 1`,
    [organizationId, lockIds, placeIds],
  );
  return row?.id;
}

/** The grants of several members at `at`, ordered by member and lock, plus one row per member found. */
export async function selectAccessOfMembers(sql: Sql, organizationId: string, memberIds: readonly string[], at: Date): Promise<MemberGrantRow[]> {
  return sql.all<MemberGrantRow>(
    `with m as (select id, active from members where organization_id = $1 and id = any($2::uuid[])),
     g as (
       select s.*, m.id as grantee, null::uuid as via_group from shares s join m on m.active and s.member_id = m.id where s.organization_id = $1 and ${openAt('$3')}
       union all
       select s.*, m.id, gm.group_id from group_members gm join m on m.active and gm.member_id = m.id
         join shares s on s.organization_id = gm.organization_id and s.group_id = gm.group_id
         where gm.organization_id = $1 and ${openAt('$3')}
     ),
     hits as (
       select g.*, l.id as l_id, l.name as l_name, l.place_id as l_place, 'lock' as scope from g join locks l on l.organization_id = $1 and l.id = g.lock_id
       union all
       select g.*, l.id, l.name, l.place_id, 'place' from g join locks l on l.organization_id = $1 and l.place_id = g.place_id
     )
     select h.grantee as member_id, h.l_id as lock_id, h.l_name as lock_name, h.l_place as place_id, p.name as place_name,
            h.id as share_id, h.role, h.scope, h.via_group as group_id, gr.display_name as group_name, h.valid_from, h.valid_until
     from hits h join places p on p.organization_id = $1 and p.id = h.l_place
     left join groups gr on gr.organization_id = $1 and gr.id = h.via_group
     union all
     select m.id, null, null, null, null, null, null, null, null, null, null, null from m
     order by member_id, lock_id nulls first, share_id`,
    [organizationId, memberIds, at],
  );
}

/**
 * The end of both whoCanOpen page statements, after their CTEs `l` (the lock),
 * `picked` (the page's member ids) and `who` (their grants on the lock): the
 * grants of the picked members only, aggregated once (not one subquery per
 * member), each picked member with them, and one row saying the lock exists.
 */
const WHO_PAGE_TAIL = `grants as (
       select w.member_id, json_agg(json_build_object('share_id', w.share_id, 'role', w.role, 'scope', w.scope, 'group_id', w.group_id,
                'group_name', gr.display_name, 'valid_from', w.valid_from, 'valid_until', w.valid_until) order by w.share_id, w.group_id) as grants
       from who w left join groups gr on gr.organization_id = $1 and gr.id = w.group_id
       where w.member_id in (select id from picked)
       group by w.member_id
     )
     select ${MEMBER_COLUMNS.split(', ').map((c) => 'm.' + c).join(', ')}, true as lock_found, g.grants
     from picked join members m on m.organization_id = $1 and m.id = picked.id join grants g on g.member_id = picked.id
     union all
     select ${MEMBER_COLUMNS.split(', ').map(() => 'null').join(', ')}, true, null from l
     order by id nulls first`;

/**
 * A page of whoCanOpen: active members who may open the lock at `at`, by id
 * after `p.afterId`, at most `p.limit`, matching `p.like`, each with its
 * grants, plus one row of nulls when the lock exists. Two statements answer
 * it (below); access.service.ts picks one by `at`.
 */
export type WhoPageStatement = (
  sql: Sql,
  organizationId: string,
  lockId: string,
  at: Date,
  p: { readonly afterId: string; readonly limit: number; readonly like: string | null },
) => Promise<WhoRow[]>;

/**
 * Active members who may open the lock at `at`, by id after `afterId`, at
 * most `limit`, matching `like` (an ILIKE pattern, null: all), each with its
 * grants; plus one row of nulls when the lock exists.
 */
export const selectWhoCanOpen: WhoPageStatement = (sql, organizationId, lockId, at, p) => {
  return sql.all<WhoRow>(
    `with l as (select id, place_id from locks where organization_id = $1 and id = $2),
     s as (
       select s.*, case when s.lock_id is not null then 'lock' else 'place' end as scope
       from shares s, l where s.organization_id = $1 and s.lock_id = l.id and ${openAt('$3')}
       union all
       select s.*, 'place' from shares s, l where s.organization_id = $1 and s.place_id = l.place_id and ${openAt('$3')}
     ),
     who as (
       select s.member_id, s.id as share_id, s.role, s.scope, null::uuid as group_id, s.valid_from, s.valid_until from s where s.member_id is not null
       union all
       select gm.member_id, s.id, s.role, s.scope, s.group_id, s.valid_from, s.valid_until
       from s join group_members gm on gm.organization_id = $1 and gm.group_id = s.group_id
     ),
     -- Walk active members in id order and keep those in who: the page stops
     -- after limit hits instead of sorting every member who may open the lock.
     picked as (
       select m.id from members m
       where m.organization_id = $1 and m.active and m.id > $4::uuid and m.id in (select member_id from who)
         and ($5::text is null or m.user_name ilike $5 escape '\\' or m.display_name ilike $5 escape '\\')
       order by m.id limit ${p.limit}
     ),
     ${WHO_PAGE_TAIL}`,
    [organizationId, lockId, at, p.afterId, p.like],
  );
};

/**
 * selectWhoCanOpen for an `at` not before now, as one keyset walk that stops
 * at `limit`: the lock's allow-list kept by the access feed (access_state,
 * primary key (organization, lock, member): in member id order) gives the
 * candidates, each checked exactly against the shares at `at` (index lookups
 * per candidate: its shares, its groups' shares), so a page costs ~`limit`
 * candidates whatever the number who may open the lock (a place share to
 * the whole directory included, where building and hashing that set first
 * cost a scan of it).
 *
 * Exact for `at` at or after the read: access_state holds every active
 * member's pair with a grant that had not ended when the pair was last
 * sealed (at commit, clock_timestamp()), so a pair missing from it has no
 * grant open at any later instant; candidates with no grant open at `at` (a
 * window not yet started, or ended since the seal) are dropped by the check.
 * For an earlier `at`, selectWhoCanOpen.
 */
export const selectWhoCanOpenFromState: WhoPageStatement = (sql, organizationId, lockId, at, p) => {
  const covers = `(s.lock_id = l.id or s.place_id = l.place_id) and ${openAt('$3')}`;
  // The member and share checks are subplans (a scalar subquery, exists under
  // OR), never pulled up into joins: the walk stays on access_state's primary
  // key in member id order, whatever the planner guesses of the lock's size
  // (a join driven from members walks every member for a lock few can open).
  return sql.all<WhoRow>(
    `with l as materialized (select id, place_id from locks where organization_id = $1 and id = $2),
     picked as (
       select st.member_id as id from access_state st, l
       where st.organization_id = $1 and st.lock_id = $2 and st.member_id > $4::uuid
         and (select m.active and ($5::text is null or m.user_name ilike $5 escape '\\' or m.display_name ilike $5 escape '\\')
              from members m where m.organization_id = $1 and m.id = st.member_id)
         and (exists (select 1 from shares s where s.organization_id = $1 and s.member_id = st.member_id and ${covers})
              or exists (select 1 from group_members gm where gm.organization_id = $1 and gm.member_id = st.member_id
                           and exists (select 1 from shares s where s.organization_id = $1 and s.group_id = gm.group_id and ${covers})))
       order by st.member_id limit ${p.limit}
     ),
     who as (
       select p.id as member_id, s.id as share_id, s.role, case when s.lock_id is not null then 'lock' else 'place' end as scope,
              null::uuid as group_id, s.valid_from, s.valid_until
       from picked p cross join l join shares s on s.organization_id = $1 and s.member_id = p.id
       where ${covers}
       union all
       select p.id, s.id, s.role, case when s.lock_id is not null then 'lock' else 'place' end, gm.group_id, s.valid_from, s.valid_until
       from picked p cross join l join group_members gm on gm.organization_id = $1 and gm.member_id = p.id
       join shares s on s.organization_id = $1 and s.group_id = gm.group_id
       where ${covers}
     ),
     ${WHO_PAGE_TAIL}`,
    [organizationId, lockId, at, p.afterId, p.like],
  );
};

/**
 * countWhoCanOpen for an `at` not before now, from the lock's allow-list
 * (access_state) alone: it holds a pair for every active member with a grant
 * that had not ended at its last seal, and each pair's windows (to the
 * millisecond, as shares take them), so the count is the lock's pairs with a
 * window open at `at`: one range of its primary key, no share or group
 * lookups (100,000 who may open a lock are counted without finding them
 * through the shares). Pairs with the one window unbounded both ways, nearly
 * all, need no look inside their windows.
 */
export async function countWhoCanOpenFromState(sql: Sql, organizationId: string, lockId: string, at: Date, like: string | null): Promise<number> {
  const row = await sql.one<{ n: number }>(
    `select count(*)::int as n from access_state st
     where st.organization_id = $1 and st.lock_id = $2
       and (st.windows = '[{"validFrom": null, "validUntil": null}]'::jsonb
            or exists (select 1 from jsonb_array_elements(st.windows) w
                       where (w->>'validFrom' is null or (w->>'validFrom')::timestamptz <= $3::timestamptz)
                         and (w->>'validUntil' is null or (w->>'validUntil')::timestamptz > $3::timestamptz)))
       and ($4::text is null or exists (select 1 from members m where m.organization_id = $1 and m.id = st.member_id
                                          and (m.user_name ilike $4 escape '\\' or m.display_name ilike $4 escape '\\')))`,
    [organizationId, lockId, at, like],
  );
  return row.n;
}

/** How many active members may open the lock at `at`, matching `like` (null: all). */
export async function countWhoCanOpen(sql: Sql, organizationId: string, lockId: string, at: Date, like: string | null): Promise<number> {
  const row = await sql.one<{ n: number }>(
    `with l as (select id, place_id from locks where organization_id = $1 and id = $2),
     s as (
       select s.* from shares s, l where s.organization_id = $1 and s.lock_id = l.id and ${openAt('$3')}
       union all
       select s.* from shares s, l where s.organization_id = $1 and s.place_id = l.place_id and ${openAt('$3')}
     ),
     who as (
       select s.member_id from s where s.member_id is not null
       union
       select gm.member_id from s join group_members gm on gm.organization_id = $1 and gm.group_id = s.group_id
     )
     select count(*)::int as n from members m where m.organization_id = $1 and m.active and m.id in (select member_id from who)
       and ($4::text is null or m.user_name ilike $4 escape '\\' or m.display_name ilike $4 escape '\\')`,
    [organizationId, lockId, at, like],
  );
  return row.n;
}

/** Every share of the member (direct or via groups) on the lock or its place, open at `at` or not, with the member and lock rows. */
export async function selectDecisionRows(sql: Sql, organizationId: string, memberId: string, lockId: string, at: Date): Promise<DecisionRow[]> {
  return sql.all<DecisionRow>(
    `with m as (select id, active from members where organization_id = $1 and id = $2),
     l as (select id, place_id from locks where organization_id = $1 and id = $3),
     s as (
       select s.*, null::uuid as via_group from shares s, m where s.organization_id = $1 and s.member_id = m.id
       union all
       select s.*, gm.group_id from group_members gm join m on gm.member_id = m.id
         join shares s on s.organization_id = gm.organization_id and s.group_id = gm.group_id where gm.organization_id = $1
     )
     select 'grant' as kind, null::boolean as active, s.id as share_id, s.role,
            case when s.lock_id is not null then 'lock' else 'place' end as scope,
            s.via_group as group_id, gr.display_name as group_name, s.valid_from, s.valid_until, (${openAt('$4')}) as open
     from s join l on s.lock_id = l.id or s.place_id = l.place_id
     left join groups gr on gr.organization_id = $1 and gr.id = s.via_group
     union all select 'member', active, null, null, null, null, null, null, null, null from m
     union all select 'lock', null, null, null, null, null, null, null, null, null from l`,
    [organizationId, memberId, lockId, at],
  );
}
