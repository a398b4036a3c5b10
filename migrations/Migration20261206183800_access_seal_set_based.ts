import { Migration } from '@mikro-orm/migrations';

// The per-lock seal (migration lock_access_feed), set-based: same entries,
// same order, without work per changed row.
//
// - The marks are statement-level triggers with transition tables: a
//   statement that inserts 20,000 shares writes its marks in one insert, not
//   20,000 trigger calls.
// - The seal joins by equality only (a place share and a lock share are two
//   branches, not an OR that no index serves), so a plan can hash or look up
//   by index.
// - A large transaction (a bulk load, a big group share) is sealed by a
//   statement planned for its size, with nested loops off: hash joins over
//   the organisation's rows, whatever the statistics say (a freshly loaded
//   table is not analysed yet; a nested loop over a thought-empty table that
//   holds 100,000 rows is what turned an 8 s bulk load into 5 minutes). A
//   small one (a SCIM PATCH) keeps a cached plan of index lookups.
const SEAL = `
  with d as materialized (select * from access_dirty where organization_id = :o and txid = :cur),
  dm as materialized (select distinct member_id from d where kind = 'member'),
  dl as materialized (select distinct lock_id from d where kind = 'lock'),
  ds as (select distinct member_id, group_id, lock_id, place_id from d where kind = 'share'),
  -- Every member a touched share reaches, directly or through a group (windows and active aside).
  sm as materialized (
    select ds.member_id, ds.lock_id, ds.place_id from ds where ds.member_id is not null
    union
    select gm.member_id, ds.lock_id, ds.place_id from ds join group_members gm on gm.organization_id = :o and gm.group_id = ds.group_id
  ),
  -- The shares of touched members.
  dms as (
    select s.member_id, s.lock_id, s.place_id from dm join shares s on s.organization_id = :o and s.member_id = dm.member_id
    union all
    select gm.member_id, s.lock_id, s.place_id from dm
      join group_members gm on gm.organization_id = :o and gm.member_id = dm.member_id
      join shares s on s.organization_id = :o and s.group_id = gm.group_id
  ),
  -- The shares covering touched locks.
  dls as materialized (
    select l.id as lock_id, s.member_id, s.group_id from dl
      join locks l on l.organization_id = :o and l.id = dl.lock_id
      join shares s on s.organization_id = :o and s.lock_id = l.id
    union all
    select l.id, s.member_id, s.group_id from dl
      join locks l on l.organization_id = :o and l.id = dl.lock_id
      join shares s on s.organization_id = :o and s.place_id = l.place_id
  ),
  sc as (select member_id, lock_id, place_id from sm union all select member_id, lock_id, place_id from dms),
  cand as materialized (
    select sc.member_id, l.id as lock_id from sc join locks l on l.organization_id = :o and l.id = sc.lock_id
    union
    select sc.member_id, l.id from sc join locks l on l.organization_id = :o and l.place_id = sc.place_id
    union
    select dls.member_id, dls.lock_id from dls where dls.member_id is not null
    union
    select gm.member_id, dls.lock_id from dls join group_members gm on gm.organization_id = :o and gm.group_id = dls.group_id
    union
    select st.member_id, st.lock_id from dm join access_state st on st.organization_id = :o and st.member_id = dm.member_id
    union
    select st.member_id, st.lock_id from dl join access_state st on st.organization_id = :o and st.lock_id = dl.lock_id
    union
    select st.member_id, st.lock_id from sm join access_state st on st.organization_id = :o and st.member_id = sm.member_id and st.lock_id = sm.lock_id
    union
    select st.member_id, st.lock_id from sm join access_state st on st.organization_id = :o and st.member_id = sm.member_id and st.place_id = sm.place_id
  ),
  cm as materialized (select distinct member_id from cand),
  -- The grants of candidate members that have not ended...
  g as (
    select s.member_id, s.lock_id, s.place_id, s.valid_from, s.valid_until from cm
      join shares s on s.organization_id = :o and s.member_id = cm.member_id
    where s.valid_until is null or s.valid_until > :t
    union all
    select gm.member_id, s.lock_id, s.place_id, s.valid_from, s.valid_until from cm
      join group_members gm on gm.organization_id = :o and gm.member_id = cm.member_id
      join shares s on s.organization_id = :o and s.group_id = gm.group_id
    where s.valid_until is null or s.valid_until > :t
  ),
  -- ...per lock they cover.
  gl as (
    select g.member_id, g.lock_id, g.valid_from, g.valid_until from g where g.lock_id is not null
    union all
    select g.member_id, l.id, g.valid_from, g.valid_until from g join locks l on l.organization_id = :o and l.place_id = g.place_id
  ),
  -- Each distinct window once (as the feed writes it: to the millisecond), open now or not.
  w as (
    select gl.member_id, gl.lock_id, date_trunc('milliseconds', gl.valid_from) as f, date_trunc('milliseconds', gl.valid_until) as u,
           bool_or((gl.valid_from is null or gl.valid_from <= :t) and (gl.valid_until is null or gl.valid_until > :t)) as open
    from gl group by 1, 2, 3, 4
  ),
  wc as materialized (select member_id, lock_id, count(*) as n, min(f) as f, min(u) as u, bool_or(open) as open from w group by 1, 2),
  -- The windows in jsonb order (null first, then by validFrom, validUntil), as jsonb_agg(distinct ...) lists them;
  -- most pairs have one window, and need no sort.
  wins as (
    select member_id, lock_id, jsonb_build_array(jsonb_build_object('validFrom', access_time_text(f), 'validUntil', access_time_text(u))) as windows, open
    from wc where n = 1
    union all
    select member_id, lock_id, jsonb_agg(jsonb_build_object('validFrom', f, 'validUntil', u) order by f nulls first, u nulls first), bool_or(open) from (
      select w.member_id, w.lock_id, access_time_text(w.f) as f, access_time_text(w.u) as u, w.open
      from wc join w on w.member_id = wc.member_id and w.lock_id = wc.lock_id where wc.n > 1
    ) x group by 1, 2
  ),
  fresh as (
    select c.member_id, c.lock_id, l.place_id, wins.windows, wins.open as may_open
    from cand c
    join members m on m.organization_id = :o and m.id = c.member_id and m.active
    join locks l on l.organization_id = :o and l.id = c.lock_id
    join wins on wins.member_id = c.member_id and wins.lock_id = c.lock_id
  ),
  prior as (
    select st.* from cand c join access_state st on st.organization_id = :o and st.lock_id = c.lock_id and st.member_id = c.member_id
  ),
  diff as (
    select coalesce(f.member_id, s.member_id) as member_id, coalesce(f.lock_id, s.lock_id) as lock_id,
           coalesce(f.place_id, s.place_id) as place_id, coalesce(f.may_open, false) as may_open,
           coalesce(f.windows, '[]'::jsonb) as windows, f.member_id is not null as present
    from fresh f full join prior s on s.member_id = f.member_id and s.lock_id = f.lock_id
    where s.member_id is null or f.member_id is null or s.may_open <> f.may_open or s.windows <> f.windows
  ),
  numbered as materialized (select diff.*, :h + row_number() over (order by lock_id, member_id) as pos from diff),
  ins as (
    insert into access_entries (organization_id, position, at, member_id, lock_id, place_id, may_open, windows)
    select :o, pos, :t, member_id, lock_id, place_id, may_open, windows from numbered returning 1
  ),
  up as (
    insert into access_state (organization_id, lock_id, member_id, place_id, may_open, windows, position)
    select :o, lock_id, member_id, place_id, may_open, windows, pos from numbered where present
    on conflict (organization_id, lock_id, member_id) do update
      set place_id = excluded.place_id, may_open = excluded.may_open, windows = excluded.windows, position = excluded.position
    returning 1
  ),
  del as (
    delete from access_state st using numbered n
    where not n.present and st.organization_id = :o and st.lock_id = n.lock_id and st.member_id = n.member_id returning 1
  )
  -- (up and del run to completion as every data-modifying part of a statement does)
  select count(*) from ins`;

/** The statement for plpgsql: variables by name (static, plan cached)... */
const staticSeal = SEAL.replace(/:o\b/g, 'o').replace(/:cur\b/g, 'cur').replace(/:h\b/g, 'h').replace(/:t\b/g, 't');
/** ...or as EXECUTE text with parameters $1..$4 (planned for this transaction's size). */
const dynamicSeal = SEAL.replace(/:o\b/g, '$1').replace(/:cur\b/g, '$2').replace(/:h\b/g, '$3').replace(/:t\b/g, '$4');
if (dynamicSeal.includes('$q$')) throw new Error('seal statement must not contain $q$');

export class Migration20261206183800_access_seal_set_based extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      drop trigger members_access_active on members;
      drop trigger members_access_deleted on members;
      drop trigger shares_access on shares;
      drop trigger locks_access on locks;

      create or replace function access_mark_members_set() returns trigger language plpgsql as $f$
      begin
        if tg_op = 'DELETE' then
          insert into access_dirty (organization_id, kind, member_id) select organization_id, 'member', id from old_rows;
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from old_rows on conflict do nothing;
        else
          with ch as (
            select n.organization_id, n.id from new_rows n join old_rows o on o.organization_id = n.organization_id and o.id = n.id
            where o.active is distinct from n.active
          ),
          mark as (insert into access_dirty (organization_id, kind, member_id) select organization_id, 'member', id from ch)
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from ch on conflict do nothing;
        end if;
        return null;
      end $f$;
      -- (transition tables allow no column list: every update statement on members, filtered on active inside)
      create trigger members_access_active after update on members
        referencing old table as old_rows new table as new_rows for each statement execute function access_mark_members_set();
      create trigger members_access_deleted after delete on members
        referencing old table as old_rows for each statement execute function access_mark_members_set();

      create or replace function access_mark_shares_set() returns trigger language plpgsql as $f$
      begin
        if tg_op in ('DELETE', 'UPDATE') then
          insert into access_dirty (organization_id, kind, member_id, group_id, lock_id, place_id)
            select organization_id, 'share', member_id, group_id, lock_id, place_id from old_rows;
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from old_rows on conflict do nothing;
        end if;
        if tg_op in ('INSERT', 'UPDATE') then
          insert into access_dirty (organization_id, kind, member_id, group_id, lock_id, place_id)
            select organization_id, 'share', member_id, group_id, lock_id, place_id from new_rows;
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from new_rows on conflict do nothing;
        end if;
        return null;
      end $f$;
      create trigger shares_access_inserted after insert on shares
        referencing new table as new_rows for each statement execute function access_mark_shares_set();
      create trigger shares_access_updated after update on shares
        referencing old table as old_rows new table as new_rows for each statement execute function access_mark_shares_set();
      create trigger shares_access_deleted after delete on shares
        referencing old table as old_rows for each statement execute function access_mark_shares_set();

      create or replace function access_mark_locks_set() returns trigger language plpgsql as $f$
      begin
        if tg_op = 'INSERT' then
          insert into access_dirty (organization_id, kind, lock_id) select organization_id, 'lock', id from new_rows;
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from new_rows on conflict do nothing;
        elsif tg_op = 'DELETE' then
          insert into access_dirty (organization_id, kind, lock_id) select organization_id, 'lock', id from old_rows;
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from old_rows on conflict do nothing;
        else
          with ch as (
            select n.organization_id, n.id from new_rows n join old_rows o on o.organization_id = n.organization_id and o.id = n.id
            where o.place_id is distinct from n.place_id
          ),
          mark as (insert into access_dirty (organization_id, kind, lock_id) select organization_id, 'lock', id from ch)
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from ch on conflict do nothing;
        end if;
        return null;
      end $f$;
      create trigger locks_access_inserted after insert on locks
        referencing new table as new_rows for each statement execute function access_mark_locks_set();
      create trigger locks_access_updated after update on locks
        referencing old table as old_rows new table as new_rows for each statement execute function access_mark_locks_set();
      create trigger locks_access_deleted after delete on locks
        referencing old table as old_rows for each statement execute function access_mark_locks_set();

      -- A seal writes one entry and one state row per changed pair: a foreign key check on each
      -- (the seal has just locked the organisation's head row) cost more than the rows. The
      -- organisation's removal still takes its entries and states with it.
      alter table access_entries drop constraint access_entries_organization_id_fkey;
      alter table access_state drop constraint access_state_organization_id_fkey;
      create function access_drop_organization() returns trigger language plpgsql as $f$
      begin
        delete from access_entries e using old_rows o where e.organization_id = o.organization_id;
        delete from access_state s using old_rows o where s.organization_id = o.organization_id;
        return null;
      end $f$;
      create trigger organizations_access_dropped after delete on organizations
        referencing old table as old_rows for each statement execute function access_drop_organization();

      -- access_mark_members/shares/locks (the per-row marks) are no longer attached to any trigger;
      -- they stay until a contract migration drops them (expand/contract, see README).

      create or replace function access_feed_seal(o uuid) returns void language plpgsql as $f$
      declare
        cur xid8 := pg_current_xact_id();
        h bigint;
        k bigint;
        t timestamptz;
        touched bigint;
        reach bigint;
        nestloop text;
        mem text;
        sorting text;
        jitting text;
        bulk bigint;
      begin
        if not exists (select 1 from organizations where organization_id = o) then
          delete from access_dirty where organization_id = o and txid = cur;
          return;
        end if;
        -- The organisation's row lock: held until this transaction's commit is visible.
        insert into access_feed_heads as f (organization_id) values (o)
          on conflict (organization_id) do update set position = f.position returning f.position into h;
        t := clock_timestamp();

        with n as (
          select id, row_number() over (order by id) as rn from access_changes
          where organization_id = o and txid = cur and position is null
        )
        update access_changes c set position = h + n.rn from n where c.organization_id = o and c.id = n.id;
        get diagnostics k = row_count;
        h := h + k;

        -- How much this transaction touched: rows marked, and members reached through touched group shares.
        select count(*), coalesce(sum((select count(*) from group_members gm where gm.organization_id = o and gm.group_id = d.group_id)), 0)
          into touched, reach
          from access_dirty d where d.organization_id = o and d.txid = cur;

        -- (gatehouse.access_seal_bulk_rows: the threshold, 200 unless set; tests set it to take either plan)
        bulk := coalesce(nullif(current_setting('gatehouse.access_seal_bulk_rows', true), '')::bigint, 200);
        if touched > bulk or reach > 10 * bulk then
          nestloop := current_setting('enable_nestloop');
          mem := current_setting('work_mem');
          sorting := current_setting('enable_sort');
          jitting := current_setting('jit');
          perform set_config('enable_nestloop', 'off', true);
          perform set_config('work_mem', '256MB', true);
          perform set_config('enable_sort', 'off', true);
          -- (disabled plan types cost 1e10 each: that must not make it JIT-compile the statement, seconds of work)
          perform set_config('jit', 'off', true);
          execute $q$${dynamicSeal}$q$ into k using o, cur, h, t;
          perform set_config('enable_nestloop', nestloop, true);
          perform set_config('work_mem', mem, true);
          perform set_config('enable_sort', sorting, true);
          perform set_config('jit', jitting, true);
        else
          ${staticSeal} into k;
        end if;
        h := h + k;

        update access_feed_heads set position = h where organization_id = o;
        delete from access_dirty where organization_id = o and txid = cur;
        -- Delivered at commit to every listening process (subscriptions).
        perform pg_notify('gatehouse_access', o::text || ':' || h::text);
      end $f$;
    `);
  }

  override async down(): Promise<void> {
    // Back to per-row marks; the seal keeps its set-based body (same entries).
    this.addSql(`
      drop trigger if exists organizations_access_dropped on organizations;
      drop function if exists access_drop_organization();
      alter table access_entries add constraint access_entries_organization_id_fkey
        foreign key (organization_id) references organizations (organization_id) on delete cascade;
      alter table access_state add constraint access_state_organization_id_fkey
        foreign key (organization_id) references organizations (organization_id) on delete cascade;
      drop trigger if exists members_access_active on members;
      drop trigger if exists members_access_deleted on members;
      drop trigger if exists shares_access_inserted on shares;
      drop trigger if exists shares_access_updated on shares;
      drop trigger if exists shares_access_deleted on shares;
      drop trigger if exists locks_access_inserted on locks;
      drop trigger if exists locks_access_updated on locks;
      drop trigger if exists locks_access_deleted on locks;
      drop function if exists access_mark_members_set();
      drop function if exists access_mark_shares_set();
      drop function if exists access_mark_locks_set();

      create or replace function access_mark_members() returns trigger language plpgsql as $f$
      declare r record;
      begin
        if tg_op = 'DELETE' then r := old; else r := new; end if;
        insert into access_dirty (organization_id, kind, member_id) values (r.organization_id, 'member', r.id);
        perform access_mark_seal(r.organization_id);
        return null;
      end $f$;
      create trigger members_access_active after update of active on members
        for each row when (old.active is distinct from new.active) execute function access_mark_members();
      create trigger members_access_deleted after delete on members
        for each row execute function access_mark_members();

      create or replace function access_mark_shares() returns trigger language plpgsql as $f$
      declare r record;
      begin
        if tg_op in ('DELETE', 'UPDATE') then
          insert into access_dirty (organization_id, kind, member_id, group_id, lock_id, place_id)
            values (old.organization_id, 'share', old.member_id, old.group_id, old.lock_id, old.place_id);
        end if;
        if tg_op in ('INSERT', 'UPDATE') then
          insert into access_dirty (organization_id, kind, member_id, group_id, lock_id, place_id)
            values (new.organization_id, 'share', new.member_id, new.group_id, new.lock_id, new.place_id);
        end if;
        if tg_op = 'DELETE' then r := old; else r := new; end if;
        perform access_mark_seal(r.organization_id);
        return null;
      end $f$;
      create trigger shares_access after insert or delete or update on shares
        for each row execute function access_mark_shares();

      create or replace function access_mark_locks() returns trigger language plpgsql as $f$
      declare r record;
      begin
        if tg_op = 'DELETE' then r := old; else r := new; end if;
        insert into access_dirty (organization_id, kind, lock_id) values (r.organization_id, 'lock', r.id);
        perform access_mark_seal(r.organization_id);
        return null;
      end $f$;
      create trigger locks_access after insert or delete or update of place_id on locks
        for each row execute function access_mark_locks();
    `);
  }
}
