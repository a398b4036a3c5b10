// Effective access at size: an organisation of 100,000 members in 1,000 groups
// (3 groups each), 2,000 locks in 200 places, 20,000 shares (half direct on a
// lock, the rest group shares on a lock or a place; some expired, some not yet
// valid, 2% of members inactive), times BENCH_SCALE. Measures the domain's
// whoCanOpen and accessOf (latency p50/p99, SQL statements per call) against a
// hand-written single SQL query answering the same through a raw pg client.
//
//   npm run bench -- access            BENCH_SCALE=1 npm run bench -- access
//   npx tsx bench/access/index.ts      BENCH_ITERATIONS=500 ...
import 'reflect-metadata';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { countStatements } from '../../src/infra/postgres/statement-count.js';
import { benchScale, withFreshDatabase } from '../lib/db.js';
import { ms, percentile, printTable } from '../lib/stats.js';

export const ORG = '00000000-0000-4000-8000-00000000b0b0';

interface Sizes {
  members: number;
  groups: number;
  places: number;
  locks: number;
  shares: number;
}

export function sizes(scale: number): Sizes {
  const n = (full: number) => Math.max(1, Math.round(full * scale));
  return { members: n(100_000), groups: n(1_000), places: n(200), locks: n(2_000), shares: n(20_000) };
}

/** Set-based bulk load: one statement per table, deterministic ids md5(kind || i). */
export async function load(c: pg.Client, s: Sizes): Promise<void> {
  await c.query(`insert into organizations (organization_id, name, domain) values ($1, 'Bench', 'bench')`, [ORG]);
  await c.query(
    `insert into members (organization_id, id, user_name, display_name, given_name, family_name, emails, department, source, active)
     select $1, md5('m' || i)::uuid, 'user' || i || '@bench.test', 'User ' || i, 'User', 'Number ' || i,
            jsonb_build_array(jsonb_build_object('value', 'user' || i || '@bench.test', 'type', 'work', 'primary', true)),
            'Dept ' || (i % 40), 'admin', i % 50 <> 0
     from generate_series(1, $2::int) i`,
    [ORG, s.members],
  );
  await c.query(`insert into groups (organization_id, id, display_name, source) select $1, md5('g' || j)::uuid, 'Group ' || j, 'admin' from generate_series(1, $2::int) j`, [
    ORG,
    s.groups,
  ]);
  await c.query(
    `insert into group_members (organization_id, group_id, member_id)
     select $1, md5('g' || ((abs(hashtext('gm' || i || '/' || k)) % $3::int) + 1))::uuid, md5('m' || i)::uuid
     from generate_series(1, $2::int) i, generate_series(0, 2) k on conflict do nothing`,
    [ORG, s.members, s.groups],
  );
  await c.query(`insert into places (organization_id, id, name) select $1, md5('p' || j)::uuid, 'Place ' || j from generate_series(1, $2::int) j`, [ORG, s.places]);
  await c.query(
    `insert into locks (organization_id, id, place_id, name)
     select $1, md5('l' || i)::uuid, md5('p' || (((i - 1) % $3::int) + 1))::uuid, 'Door ' || i from generate_series(1, $2::int) i`,
    [ORG, s.locks, s.places],
  );
  await c.query(
    `insert into shares (organization_id, id, member_id, group_id, lock_id, place_id, role, valid_from, valid_until)
     select $1, md5('s' || i)::uuid,
       case when i % 10 < 5 then md5('m' || ((abs(hashtext('sm' || i)) % $3::int) + 1))::uuid end,
       case when i % 10 >= 5 then md5('g' || ((abs(hashtext('sg' || i)) % $4::int) + 1))::uuid end,
       case when i % 10 < 8 then md5('l' || ((abs(hashtext('sl' || i)) % $5::int) + 1))::uuid end,
       case when i % 10 >= 8 then md5('p' || ((abs(hashtext('sp' || i)) % $6::int) + 1))::uuid end,
       (array['user', 'manager', 'administrator'])[i % 3 + 1],
       case when i % 11 = 0 then now() + interval '30 days' end,
       case when i % 7 = 0 and i % 11 <> 0 then now() - interval '1 day' when i % 5 = 0 then now() + interval '90 days' end
     from generate_series(1, $2::int) i`,
    [ORG, s.shares, s.members, s.groups, s.locks, s.places],
  );
  // As autovacuum would have by then: statistics, and a visibility map for index-only scans.
  await c.query('vacuum analyze');
}

const OPEN = `(s.valid_from is null or s.valid_from <= $3) and (s.valid_until is null or s.valid_until > $3)`;

/** The hand-written baseline of accessOf: every lock the member may open, with its grants. */
const RAW_ACCESS_OF = `
  with g as (
    select s.id, s.role, s.lock_id, s.place_id, s.valid_from, s.valid_until, null::uuid as via
    from shares s where s.organization_id = $1 and s.member_id = $2 and ${OPEN}
    union all
    select s.id, s.role, s.lock_id, s.place_id, s.valid_from, s.valid_until, gm.group_id
    from group_members gm join shares s on s.organization_id = gm.organization_id and s.group_id = gm.group_id
    where gm.organization_id = $1 and gm.member_id = $2 and ${OPEN}
  ),
  hits as (
    select g.*, l.id as l_id, l.name as l_name, l.place_id as l_place, 'lock' as scope from g join locks l on l.organization_id = $1 and l.id = g.lock_id
    union all
    select g.*, l.id, l.name, l.place_id, 'place' from g join locks l on l.organization_id = $1 and l.place_id = g.place_id
  )
  select h.l_id as lock_id, h.l_name as lock_name, h.l_place as place_id, p.name as place_name, h.id as share_id, h.role, h.scope,
         h.via as group_id, gr.display_name as group_name, h.valid_from, h.valid_until
  from members m, hits h
  join places p on p.organization_id = $1 and p.id = h.l_place
  left join groups gr on gr.organization_id = $1 and gr.id = h.via
  where m.organization_id = $1 and m.id = $2 and m.active
  order by h.l_id, h.id`;

/** The hand-written baseline of whoCanOpen: the first 100 active members by id, each with its grants. */
export const RAW_WHO_CAN_OPEN = `
  with l as (select id, place_id from locks where organization_id = $1 and id = $2),
  s as (
    select s.*, 'lock' as scope from shares s join l on s.lock_id = l.id where s.organization_id = $1 and ${OPEN}
    union all
    select s.*, 'place' from shares s join l on s.place_id = l.place_id where s.organization_id = $1 and ${OPEN}
  ),
  who as (
    select s.member_id, s.id as share_id, s.role, s.scope, null::uuid as group_id, s.valid_from, s.valid_until from s where s.member_id is not null
    union all
    select gm.member_id, s.id, s.role, s.scope, s.group_id, s.valid_from, s.valid_until
    from s join group_members gm on gm.organization_id = $1 and gm.group_id = s.group_id
  ),
  page as (
    select m.* from members m where m.organization_id = $1 and m.active and m.id in (select member_id from who)
    order by m.id limit 101
  ),
  grants as (
    select w.member_id, json_agg(json_build_object('share_id', w.share_id, 'role', w.role, 'scope', w.scope, 'group_id', w.group_id,
             'group_name', gr.display_name, 'valid_from', w.valid_from, 'valid_until', w.valid_until)) as grants
    from who w left join groups gr on gr.organization_id = $1 and gr.id = w.group_id
    where w.member_id in (select id from page)
    group by w.member_id
  )
  select page.*, grants.grants from page join grants on grants.member_id = page.id
  order by page.id`;

interface Series {
  domain: number[];
  raw: number[];
  statements: Set<number>;
  rows: number[];
}

const series = (): Series => ({ domain: [], raw: [], statements: new Set(), rows: [] });

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

export async function run(): Promise<void> {
  const scale = benchScale(0.1);
  const iterations = Number(process.env.BENCH_ITERATIONS || 300);
  const s = sizes(scale);
  process.stdout.write(
    `scale ${scale}: ${s.members} members, ${s.groups} groups (3 per member), ${s.places} places, ${s.locks} locks, ${s.shares} shares; ${iterations} calls each\n`,
  );

  await withFreshDatabase('access', async ({ url, database }) => {
    const raw = new pg.Client({ connectionString: url });
    await raw.connect();
    try {
      const t0 = performance.now();
      await load(raw, s);
      process.stdout.write(`bulk load: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

      const domain = createDomain(database.db, 'bench-master-secret-0123456789abcdef');
      const actor = systemActor(ORG, 'bench');
      // One instant for every call, an hour ahead: whoCanOpen for now or later walks the lock's
      // allow-list (access_state); an instant taken now would be in the past by the calls, which
      // reads the shares instead (both checked against the same hand-written SQL).
      const at = new Date(Date.now() + 3_600_000);
      // Deterministic samples spread over the data: active members and every kind of lock.
      const memberIds = Array.from({ length: 100 }, (_, k) => ((k * 7_919 + 13) % s.members) + 1)
        .filter((i) => i % 50 !== 0)
        .map((i) => md5Uuid('m', i));
      const lockIds = Array.from({ length: 100 }, (_, k) => ((k * 389 + 7) % s.locks) + 1).map((i) => md5Uuid('l', i));

      const accessOf = series();
      const who = series();
      let mismatches = 0;
      for (let i = -20; i < iterations; i++) {
        const warm = i < 0;
        const memberId = memberIds[(i + 20) % memberIds.length]!;
        const lockId = lockIds[(i + 20) % lockIds.length]!;

        // Alternate which goes first, so caches favour neither.
        const first = i % 2 === 0;
        const runDomainOf = () => timed(() => countStatements(() => domain.access.accessOf(actor, memberId, at)));
        const runRawOf = () => timed(() => raw.query(RAW_ACCESS_OF, [ORG, memberId, at]));
        const a = first ? await runDomainOf() : undefined;
        const b = await runRawOf();
        const a2 = a ?? (await runDomainOf());
        const runDomainWho = () => timed(() => countStatements(() => domain.access.whoCanOpen(actor, lockId, at)));
        const runRawWho = () => timed(() => raw.query(RAW_WHO_CAN_OPEN, [ORG, lockId, at]));
        const c = first ? await runDomainWho() : undefined;
        const d = await runRawWho();
        const c2 = c ?? (await runDomainWho());
        if (warm) continue;

        accessOf.domain.push(a2.ms);
        accessOf.raw.push(b.ms);
        accessOf.statements.add(a2.result.statements);
        accessOf.rows.push(b.result.rowCount ?? 0);
        who.domain.push(c2.ms);
        who.raw.push(d.ms);
        who.statements.add(c2.result.statements);
        who.rows.push(d.result.rowCount ?? 0);

        // The two answers must agree (grants per lock; members of the first page).
        const domainGrants = a2.result.result.flatMap((l) => l.grants.map((g) => `${l.lockId}/${g.shareId}/${g.groupId}`)).sort();
        const rawGrants = b.result.rows.map((r: { lock_id: string; share_id: string; group_id: string | null }) => `${r.lock_id}/${r.share_id}/${r.group_id}`).sort();
        const domainWho = c2.result.result.items.map((m) => `${m.member.id}:${m.grants.length}`);
        const rawWho = d.result.rows.slice(0, 100).map((r: { id: string; grants: unknown[] }) => `${r.id}:${r.grants.length}`);
        if (JSON.stringify(domainGrants) !== JSON.stringify(rawGrants) || JSON.stringify(domainWho) !== JSON.stringify(rawWho)) mismatches++;
      }

      const line = (name: string, x: Series) => {
        const p50 = percentile(x.domain, 50);
        const p99 = percentile(x.domain, 99);
        const r50 = percentile(x.raw, 50);
        const r99 = percentile(x.raw, 99);
        return {
          call: name,
          'domain p50': ms(p50),
          'domain p99': ms(p99),
          'raw SQL p50': ms(r50),
          'raw SQL p99': ms(r99),
          'ratio p50': `${(p50 / r50).toFixed(2)}x`,
          'ratio p99': `${(p99 / r99).toFixed(2)}x`,
          'statements/call': [...x.statements].join(','),
          'rows (median)': percentile(x.rows, 50),
        };
      };
      printTable([line('accessOf', accessOf), line('whoCanOpen (first 100)', who)]);
      process.stdout.write(`answers identical: ${mismatches === 0 ? 'yes' : `NO (${mismatches} differ)`}; target: ratio within 1.5x, 1 statement per call\n`);
    } finally {
      await raw.end();
    }
  });
}

function md5Uuid(kind: string, i: number): string {
  return formatUuid(md5Hex(`${kind}${i}`));
}

function md5Hex(s: string): string {
  return crypto.createHash('md5').update(s).digest('hex');
}
function formatUuid(h: string): string {
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
