import { Migration } from '@mikro-orm/migrations';

// Per-lock access changes, ordered per organisation, without a global fence.
//
// Who may open which lock is kept as a table (access_state: one row per
// member and lock the member has a grant on that has not ended, with the
// grants' validity windows and whether the member may open it now). Triggers
// on the tables that decide access (members.active, group_members, shares,
// locks) note what a transaction touched (access_dirty); when the transaction
// commits, a deferred trigger (access_feed_seal) takes the organisation's row
// in access_feed_heads, so sealing transactions of one organisation go one at
// a time, computes the touched pairs afresh (READ COMMITTED: every statement
// after the row lock sees every earlier seal of the organisation), writes one
// access_entries row per pair that changed, and numbers them, and the
// transaction's access_changes rows, from the organisation's counter.
//
// So positions are dense per organisation and given in commit order: the row
// lock is held until the transaction's commit is visible, so no reader can
// see position n+1 before n. Nothing waits on another organisation, nor on a
// transaction of this organisation before it commits. Triggers, not service
// code, do it: no code path, and no change made by hand in SQL, changes
// access without the feed telling the locks.
export class Migration20261206150000_lock_access_feed extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table access_feed_heads (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        position bigint not null default 0,
        -- Entries at or below this position were purged (retention): an older cursor has expired.
        purged_through bigint not null default 0,
        -- Validity windows that passed up to here have produced their changes.
        windows_checked_at timestamptz not null default now(),
        primary key (organization_id)
      );

      alter table access_changes add column position bigint;
      create unique index access_changes_position_key on access_changes (organization_id, position);

      -- The windows job finds shares whose window starts or ends (access-windows.ts).
      create index shares_valid_from_idx on shares (organization_id, valid_from) where valid_from is not null;
      create index shares_valid_until_idx on shares (organization_id, valid_until) where valid_until is not null;

      create table access_state (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        lock_id uuid not null,
        member_id uuid not null,
        place_id uuid not null,
        may_open boolean not null,
        windows jsonb not null,
        position bigint not null,
        primary key (organization_id, lock_id, member_id)
      );
      create index access_state_member_idx on access_state (organization_id, member_id);
      create index access_state_place_idx on access_state (organization_id, place_id);

      create table access_entries (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        position bigint not null,
        at timestamptz not null,
        member_id uuid not null,
        lock_id uuid not null,
        place_id uuid not null,
        may_open boolean not null,
        windows jsonb not null,
        primary key (organization_id, position)
      );
      create index access_entries_lock_idx on access_entries (organization_id, lock_id, position);
      create index access_entries_place_idx on access_entries (organization_id, place_id, position);
      create index access_entries_at_idx on access_entries (organization_id, at);

      -- What a transaction touched; rows live only inside the transaction that writes them.
      create table access_dirty (
        organization_id uuid not null,
        id bigint generated always as identity,
        txid xid8 not null default pg_current_xact_id(),
        kind text not null check (kind in ('member', 'lock', 'share')),
        member_id uuid,
        group_id uuid,
        lock_id uuid,
        place_id uuid,
        primary key (organization_id, id)
      );
      create index access_dirty_tx_idx on access_dirty (organization_id, txid);
      -- One row per organisation and transaction to seal: its deferred trigger runs the seal at commit.
      create table access_seal_tokens (
        organization_id uuid not null,
        txid xid8 not null,
        primary key (organization_id, txid)
      );

      create function access_time_text(t timestamptz) returns text language sql immutable as $f$
        select to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
      $f$;

      create function access_mark_seal(o uuid) returns void language sql as $f$
        insert into access_seal_tokens (organization_id, txid) values (o, pg_current_xact_id()) on conflict do nothing
      $f$;

      -- Marks from the tables that decide access.
      create function access_mark_members() returns trigger language plpgsql as $f$
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

      create function access_mark_group_members() returns trigger language plpgsql as $f$
      begin
        if tg_op = 'INSERT' then
          insert into access_dirty (organization_id, kind, member_id) select distinct organization_id, 'member', member_id from new_rows;
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from new_rows on conflict do nothing;
        else
          insert into access_dirty (organization_id, kind, member_id) select distinct organization_id, 'member', member_id from old_rows;
          insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from old_rows on conflict do nothing;
        end if;
        return null;
      end $f$;
      create trigger group_members_access_added after insert on group_members
        referencing new table as new_rows for each statement execute function access_mark_group_members();
      create trigger group_members_access_removed after delete on group_members
        referencing old table as old_rows for each statement execute function access_mark_group_members();

      create function access_mark_shares() returns trigger language plpgsql as $f$
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

      create function access_mark_locks() returns trigger language plpgsql as $f$
      declare r record;
      begin
        if tg_op = 'DELETE' then r := old; else r := new; end if;
        insert into access_dirty (organization_id, kind, lock_id) values (r.organization_id, 'lock', r.id);
        perform access_mark_seal(r.organization_id);
        return null;
      end $f$;
      create trigger locks_access after insert or delete or update of place_id on locks
        for each row execute function access_mark_locks();

      -- The coarse feed (access_changes) is numbered at commit too.
      create function access_mark_changes() returns trigger language plpgsql as $f$
      begin
        insert into access_seal_tokens (organization_id, txid) select distinct organization_id, pg_current_xact_id() from new_rows on conflict do nothing;
        return null;
      end $f$;
      create trigger access_changes_seal after insert on access_changes
        referencing new table as new_rows for each statement execute function access_mark_changes();

      create function access_feed_seal(o uuid) returns void language plpgsql as $f$
      declare
        cur xid8 := pg_current_xact_id();
        h bigint;
        k bigint;
        t timestamptz;
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

        with d as (select * from access_dirty where organization_id = o and txid = cur),
        dm as (select distinct member_id from d where kind = 'member'),
        dl as (select distinct lock_id from d where kind = 'lock'),
        -- Every share reaching a member, directly or through a group (windows and active aside).
        share_members as (
          select distinct x.member_id, d.lock_id, d.place_id from d
          cross join lateral (
            select d.member_id where d.member_id is not null
            union all
            select gm.member_id from group_members gm where d.group_id is not null and gm.organization_id = o and gm.group_id = d.group_id
          ) x
          where d.kind = 'share'
        ),
        cand as (
          select dm.member_id, l.id as lock_id from dm
            join lateral (
              select s.lock_id, s.place_id from shares s where s.organization_id = o and s.member_id = dm.member_id
              union all
              select s.lock_id, s.place_id from group_members gm join shares s on s.organization_id = o and s.group_id = gm.group_id
              where gm.organization_id = o and gm.member_id = dm.member_id
            ) s on true
            join locks l on l.organization_id = o and (l.id = s.lock_id or l.place_id = s.place_id)
          union
          select st.member_id, st.lock_id from access_state st join dm on st.organization_id = o and st.member_id = dm.member_id
          union
          select x.member_id, l.id from dl
            join locks l on l.organization_id = o and l.id = dl.lock_id
            join shares s on s.organization_id = o and (s.lock_id = l.id or s.place_id = l.place_id)
            cross join lateral (
              select s.member_id where s.member_id is not null
              union all
              select gm.member_id from group_members gm where s.group_id is not null and gm.organization_id = o and gm.group_id = s.group_id
            ) x
          union
          select st.member_id, st.lock_id from access_state st join dl on st.organization_id = o and st.lock_id = dl.lock_id
          union
          select sm.member_id, l.id from share_members sm join locks l on l.organization_id = o and (l.id = sm.lock_id or l.place_id = sm.place_id)
          union
          select st.member_id, st.lock_id from share_members sm
            join access_state st on st.organization_id = o and st.member_id = sm.member_id and (st.lock_id = sm.lock_id or st.place_id = sm.place_id)
        ),
        fresh as (
          select c.member_id, c.lock_id, l.place_id,
                 jsonb_agg(distinct jsonb_build_object('validFrom', access_time_text(g.valid_from), 'validUntil', access_time_text(g.valid_until))) as windows,
                 bool_or((g.valid_from is null or g.valid_from <= t) and (g.valid_until is null or g.valid_until > t)) as may_open
          from cand c
          join members m on m.organization_id = o and m.id = c.member_id and m.active
          join locks l on l.organization_id = o and l.id = c.lock_id
          join lateral (
            select s.valid_from, s.valid_until from shares s
            where s.organization_id = o and s.member_id = c.member_id and (s.lock_id = l.id or s.place_id = l.place_id)
            union all
            select s.valid_from, s.valid_until from group_members gm join shares s on s.organization_id = o and s.group_id = gm.group_id
            where gm.organization_id = o and gm.member_id = c.member_id and (s.lock_id = l.id or s.place_id = l.place_id)
          ) g on g.valid_until is null or g.valid_until > t
          group by c.member_id, c.lock_id, l.place_id
        ),
        prior as (
          select st.* from access_state st join cand c on st.organization_id = o and st.lock_id = c.lock_id and st.member_id = c.member_id
        ),
        diff as (
          select coalesce(f.member_id, s.member_id) as member_id, coalesce(f.lock_id, s.lock_id) as lock_id,
                 coalesce(f.place_id, s.place_id) as place_id, coalesce(f.may_open, false) as may_open,
                 coalesce(f.windows, '[]'::jsonb) as windows, f.member_id is not null as present
          from fresh f full join prior s on s.member_id = f.member_id and s.lock_id = f.lock_id
          where s.member_id is null or f.member_id is null or s.may_open <> f.may_open or s.windows <> f.windows
        ),
        numbered as (select diff.*, h + row_number() over (order by lock_id, member_id) as pos from diff),
        ins as (
          insert into access_entries (organization_id, position, at, member_id, lock_id, place_id, may_open, windows)
          select o, pos, t, member_id, lock_id, place_id, may_open, windows from numbered returning 1
        ),
        up as (
          insert into access_state (organization_id, lock_id, member_id, place_id, may_open, windows, position)
          select o, lock_id, member_id, place_id, may_open, windows, pos from numbered where present
          on conflict (organization_id, lock_id, member_id) do update
            set place_id = excluded.place_id, may_open = excluded.may_open, windows = excluded.windows, position = excluded.position
          returning 1
        ),
        del as (
          delete from access_state st using numbered n
          where not n.present and st.organization_id = o and st.lock_id = n.lock_id and st.member_id = n.member_id returning 1
        )
        -- (up and del run to completion as every data-modifying part of a statement does)
        select count(*) into k from ins;
        h := h + k;

        update access_feed_heads set position = h where organization_id = o;
        delete from access_dirty where organization_id = o and txid = cur;
        -- Delivered at commit to every listening process (subscriptions).
        perform pg_notify('gatehouse_access', o::text || ':' || h::text);
      end $f$;

      create function access_feed_seal_trigger() returns trigger language plpgsql as $f$
      begin
        perform access_feed_seal(new.organization_id);
        delete from access_seal_tokens where organization_id = new.organization_id and txid = new.txid;
        return null;
      end $f$;
      create constraint trigger access_seal_at_commit after insert on access_seal_tokens
        deferrable initially deferred for each row execute function access_feed_seal_trigger();

      -- Existing data: the coarse feed numbered in its old order, and the allow-lists as they stand.
      insert into access_feed_heads (organization_id) select organization_id from organizations;
      with n as (select organization_id, id, row_number() over (partition by organization_id order by txid, id) as rn from access_changes)
      update access_changes c set position = n.rn from n where c.organization_id = n.organization_id and c.id = n.id;
      update access_feed_heads f set position = coalesce((select max(position) from access_changes c where c.organization_id = f.organization_id), 0);
      insert into access_state (organization_id, lock_id, member_id, place_id, may_open, windows, position)
      select g.organization_id, g.lock_id, g.member_id, g.place_id,
             bool_or((g.valid_from is null or g.valid_from <= now()) and (g.valid_until is null or g.valid_until > now())),
             jsonb_agg(distinct jsonb_build_object('validFrom', access_time_text(g.valid_from), 'validUntil', access_time_text(g.valid_until))),
             (select position from access_feed_heads f where f.organization_id = g.organization_id)
      from (
        select s.organization_id, coalesce(s.member_id, gm.member_id) as member_id, l.id as lock_id, l.place_id, s.valid_from, s.valid_until
        from shares s
        left join group_members gm on gm.organization_id = s.organization_id and gm.group_id = s.group_id
        join locks l on l.organization_id = s.organization_id and (l.id = s.lock_id or l.place_id = s.place_id)
      ) g
      join members m on m.organization_id = g.organization_id and m.id = g.member_id and m.active
      where g.member_id is not null and (g.valid_until is null or g.valid_until > now())
      group by g.organization_id, g.lock_id, g.member_id, g.place_id;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop trigger if exists access_seal_at_commit on access_seal_tokens;
      drop trigger if exists access_changes_seal on access_changes;
      drop trigger if exists locks_access on locks;
      drop trigger if exists shares_access on shares;
      drop trigger if exists group_members_access_removed on group_members;
      drop trigger if exists group_members_access_added on group_members;
      drop trigger if exists members_access_deleted on members;
      drop trigger if exists members_access_active on members;
      drop function if exists access_feed_seal_trigger();
      drop function if exists access_feed_seal(uuid);
      drop function if exists access_mark_changes();
      drop function if exists access_mark_locks();
      drop function if exists access_mark_shares();
      drop function if exists access_mark_group_members();
      drop function if exists access_mark_members();
      drop function if exists access_mark_seal(uuid);
      drop function if exists access_time_text(timestamptz);
      drop table if exists access_seal_tokens;
      drop table if exists access_dirty;
      drop table if exists access_entries;
      drop table if exists access_state;
      drop index if exists shares_valid_until_idx;
      drop index if exists shares_valid_from_idx;
      drop index if exists access_changes_position_key;
      alter table access_changes drop column if exists position;
      drop table if exists access_feed_heads;
    `);
  }
}
