import { Migration } from '@mikro-orm/migrations';

// The mass-deprovision guard (README, Mass-deprovision guard), modelled on Entra's "accidental
// deletions prevention": when one source (SCIM, the group import) would, within
// a sliding window, revoke access for more than a threshold of an
// organisation's active members, the excess is held for an admin to approve or
// discard. Settings live on the organisation (on by default: 10 % and at least
// 25 members per hour). `revocations` is the window (one row per member whose
// access a source revoked); `held_changes` what waits for a decision.
// gatehouse_guard_admit() decides one revocation inside the statement that
// makes it (no extra round trip on Entra's hot path): it serialises the
// decisions of one organisation and source on an advisory lock and, being
// volatile, counts with a fresh snapshot after taking it.
export class Migration20261206154500_deprovision_guard extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table organizations
        add column guard_enabled boolean not null default true,
        add column guard_threshold_percent integer not null default 10 check (guard_threshold_percent between 1 and 100),
        add column guard_min_count integer not null default 25 check (guard_min_count between 1 and 1000000),
        add column guard_window_minutes integer not null default 60 check (guard_window_minutes between 1 and 10080);

      create table revocations (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id bigint generated always as identity,
        source text not null check (source in ('scim', 'import')),
        member_id uuid not null,
        at timestamptz not null default now(),
        primary key (organization_id, id)
      );
      create index revocations_window_idx on revocations (organization_id, source, at);

      -- The base of the threshold for one source: the members active when its window began (those active now plus those
      -- it revoked within the window), counted at most every 5 minutes (counting is not free at 100,000 members).
      create table guard_bases (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        source text not null,
        base integer not null,
        counted_at timestamptz not null default now(),
        primary key (organization_id, source)
      );

      create table held_changes (
        organization_id uuid not null references organizations (organization_id) on delete cascade,
        id uuid not null,
        source text not null check (source in ('scim', 'import')),
        actor_label text not null,
        kind text not null check (kind in ('deactivate', 'delete', 'group_remove')),
        member_id uuid not null,
        member_label text,
        group_id uuid,
        status text not null default 'held' check (status in ('held', 'approved', 'discarded')),
        held_at timestamptz not null default now(),
        -- The same change asked for again while held (Entra retrying, the next import run): counted, not duplicated.
        repeats integer not null default 0,
        last_asked_at timestamptz not null default now(),
        decided_at timestamptz,
        decided_by text,
        primary key (organization_id, id)
      );
      create unique index held_changes_pending_key on held_changes (organization_id, kind, member_id, coalesce(group_id, '00000000-0000-0000-0000-000000000000'::uuid))
        where status = 'held';
      create index held_changes_status_idx on held_changes (organization_id, status, held_at);

      create function gatehouse_guard_admit(org uuid, src text, n integer) returns boolean
      language plpgsql volatile as $$
      declare
        s record;
        recent integer;
        pending integer;
        base integer;
        lim integer;
      begin
        select guard_enabled, guard_threshold_percent, guard_min_count, guard_window_minutes into s from organizations where organization_id = org;
        if not found or not s.guard_enabled then return true; end if;
        perform pg_advisory_xact_lock(hashtextextended('gatehouse.guard:' || org::text || ':' || src, 0));
        -- Once something of this source is held, everything after it is held too, until an admin decides (as Entra's quarantine).
        select count(*) into pending from held_changes where organization_id = org and source = src and status = 'held';
        if pending > 0 then return false; end if;
        select count(*) into recent from revocations where organization_id = org and source = src and at > now() - make_interval(mins => s.guard_window_minutes);
        if recent + n <= s.guard_min_count then return true; end if;
        select g.base into base from guard_bases g where g.organization_id = org and g.source = src and g.counted_at > now() - interval '5 minutes';
        if not found then
          select count(*) + recent into base from members where organization_id = org and active;
          insert into guard_bases (organization_id, source, base) values (org, src, base)
            on conflict (organization_id, source) do update set base = excluded.base, counted_at = now();
        end if;
        lim := greatest(s.guard_min_count, floor(base * s.guard_threshold_percent / 100.0)::integer);
        return recent + n <= lim;
      end
      $$;
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop function if exists gatehouse_guard_admit(uuid, text, integer);
      drop table if exists held_changes;
      drop table if exists guard_bases;
      drop table if exists revocations;
      alter table organizations drop column if exists guard_window_minutes, drop column if exists guard_min_count,
        drop column if exists guard_threshold_percent, drop column if exists guard_enabled;
    `);
  }
}
