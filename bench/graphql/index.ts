// GraphQL benchmark: a page of members with their groups and shares
// { lock { place } } on an organisation of BENCH_SCALE members, latency
// (p50/p99) and SQL statements, against one hand-written SQL statement that
// produces the same data, in the same run.
//
//   npx tsx bench/graphql/index.ts                 (BENCH_SCALE=2000 by default)
//   NODE_ENV=production BENCH_SCALE=100000 npx tsx bench/graphql/index.ts
// (NODE_ENV=production as in a deployment: graphql-js skips its development checks.)
//
// Env: BENCH_SCALE (members), BENCH_ITERATIONS (timed runs per variant, 50),
// BENCH_PAGE (page size, 100), BENCH_ADMIN_URL (PostgreSQL server where a
// scratch database is created and dropped; default TEST_DATABASE_URL or
// postgres://postgres@127.0.0.1:5432/test).
import 'reflect-metadata';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { execute, parse, validate } from 'graphql';
import { openDatabase } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import { createDomain, systemActor, type Actor } from '../../src/domain/index.js';
import { countStatements } from '../../src/infra/postgres/statement-count.js';
import { buildGraphqlSchema } from '../../src/graphql/schema.js';
import { contextFor } from '../../src/graphql/context.js';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/http/logger.js';

const SCALE = Number(process.env.BENCH_SCALE ?? 2000);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 50);
const PAGE = Number(process.env.BENCH_PAGE ?? 100);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const QUERY = `query($first: Int, $after: String) { members(first: $first, after: $after) { totalCount pageInfo { endCursor hasNextPage } edges { node {
  id userName displayName groups { id displayName } shares { id role validFrom validUntil lock { id name place { id name } } } } } } }`;

/** The same page, by hand: one statement with JSON aggregation. */
const HAND_SQL = `
  with page as (
    select id, user_name, display_name from members where organization_id = $1 and (lower(user_name), id) > ($2, $3::uuid)
    order by lower(user_name), id limit $4)
  select p.id, p.user_name as "userName", p.display_name as "displayName",
    (select count(*) from members where organization_id = $5)::int as total,
    coalesce((select json_agg(json_build_object('id', g.id, 'displayName', g.display_name) order by lower(g.display_name), g.id)
      from group_members gm join groups g on g.organization_id = gm.organization_id and g.id = gm.group_id
      where gm.organization_id = $6 and gm.member_id = p.id), '[]') as groups,
    coalesce((select json_agg(json_build_object('id', s.id, 'role', upper(s.role), 'validFrom', s.valid_from, 'validUntil', s.valid_until,
        'lock', case when l.id is null then null else json_build_object('id', l.id, 'name', l.name, 'place', json_build_object('id', pl.id, 'name', pl.name)) end) order by s.id)
      from shares s left join locks l on l.organization_id = s.organization_id and l.id = s.lock_id
      left join places pl on pl.organization_id = l.organization_id and pl.id = l.place_id
      where s.organization_id = $7 and s.member_id = p.id), '[]') as shares
  from page p order by lower(p.user_name), p.id`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function time(fn: () => Promise<unknown>): Promise<{ p50: number; p99: number; mean: number }> {
  for (let i = 0; i < 3; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), mean: ms.reduce((a, b) => a + b, 0) / ms.length };
}

export async function seed(sql: (q: string, p?: unknown[]) => Promise<unknown>, org: string, scale = SCALE): Promise<void> {
  const groups = Math.max(10, Math.floor(scale / 100));
  await sql(
    `insert into members (organization_id, id, user_name, display_name, source, emails, metadata)
     select $1, gen_random_uuid(), 'user' || lpad(i::text, 7, '0') || '@bench.example', 'User ' || i, 'scim',
       jsonb_build_array(jsonb_build_object('value', 'user' || i || '@bench.example', 'type', 'work', 'primary', true)), jsonb_build_object('city', 'Lyon')
     from generate_series(1, $2) i`,
    [org, scale],
  );
  await sql(`insert into groups (organization_id, id, display_name, source) select $1, gen_random_uuid(), 'Group ' || i, 'scim' from generate_series(1, $2) i`, [org, groups]);
  // Every member in two groups.
  await sql(
    `with m as (select id, row_number() over (order by id) as n from members where organization_id = $1),
          g as (select id, row_number() over (order by id) - 1 as k from groups where organization_id = $1)
     insert into group_members (organization_id, group_id, member_id)
     select $1, g.id, m.id from m join g on g.k = m.n % $2 or g.k = (m.n + 1) % $2`,
    [org, groups],
  );
  await sql(`insert into places (organization_id, id, name) select $1, gen_random_uuid(), 'Place ' || i from generate_series(1, 10) i`, [org]);
  await sql(`insert into locks (organization_id, id, place_id, name) select $1, gen_random_uuid(), p.id, p.name || ' door ' || i from places p, generate_series(1, 5) i where p.organization_id = $1`, [org]);
  // One direct share per member on a lock (with a window for half of them), a place share per group.
  await sql(
    `with m as (select id, row_number() over (order by id) as n from members where organization_id = $1),
          l as (select id, row_number() over (order by id) - 1 as k, count(*) over () as c from locks where organization_id = $1)
     insert into shares (organization_id, id, member_id, lock_id, role, valid_from, valid_until)
     select $1, gen_random_uuid(), m.id, l.id, 'user', case when m.n % 2 = 0 then now() - interval '1 day' end, case when m.n % 2 = 0 then now() + interval '30 days' end
     from m join l on l.k = m.n % l.c`,
    [org],
  );
  await sql(
    `insert into shares (organization_id, id, group_id, place_id, role)
     select $1, gen_random_uuid(), g.id, (select id from places where organization_id = $1 order by id limit 1), 'user' from groups g where g.organization_id = $1`,
    [org],
  );
  await sql('analyze');
}

export async function run(): Promise<void> {
  const dbName = `gh_bench_${crypto.randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const database = await openDatabase({ url: url.toString(), dataDir: '/nonexistent', poolSize: 4 });
  const direct = new pg.Client({ connectionString: url.toString() });
  let server: http.Server | undefined;
  let closeApp: (() => Promise<void>) | undefined;
  try {
    await migrate(database.connection);
    const domain = createDomain(database.db, 'bench-master-secret-0123456789abcdef');
    const org = await domain.organizations.create({ name: 'Bench', domain: dbName.replace(/_/g, '-') });
    const system = systemActor(org.id, 'bench');
    await direct.connect();
    const t0 = Date.now();
    await seed((q, p) => direct.query(q, p as unknown[]), org.id);
    const seedSeconds = (Date.now() - t0) / 1000;

    const schema = await buildGraphqlSchema();
    const document = parse(QUERY);
    const reader: Actor = { kind: 'api_key', organizationId: org.id, id: 'bench', label: 'bench', role: 'reader' };
    const gqlInProcess = async () => {
      if (validate(schema, document).length > 0) throw new Error('invalid query');
      const res = await execute({ schema, document, variableValues: { first: PAGE }, contextValue: contextFor(domain, reader) });
      if (res.errors) throw new Error(res.errors[0]!.message);
      return res.data as { members: { totalCount: number; edges: { node: Record<string, unknown> }[] } };
    };
    const hand = () => domain.db.sql.all<Record<string, unknown>>(HAND_SQL, [org.id, '', '00000000-0000-0000-0000-000000000000', PAGE, org.id, org.id, org.id]);

    // HTTP, through the whole app (API key authentication included).
    const { key } = await domain.apiKeys.create(system, { name: 'bench', role: 'reader' });
    const app = await createApp({ config: loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent' }), db: database.db, domain, logger: createLogger('silent') });
    closeApp = () => app.close();
    server = http.createServer(app.listener);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
    const body = JSON.stringify({ query: QUERY, variables: { first: PAGE } });
    const gqlHttp = async () => {
      const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
      const json = (await res.json()) as { errors?: unknown[] };
      if (res.status !== 200 || json.errors) throw new Error(`HTTP ${res.status}: ${JSON.stringify(json).slice(0, 200)}`);
    };

    // Same data?
    const viaGql = await gqlInProcess();
    const viaSql = await hand();
    const norm = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' && /^\d{4}-\d\d-\d\dT/.test(x) ? new Date(x).toISOString() : x)));
    const gqlNodes = norm(viaGql.members.edges.map((e) => e.node));
    const sqlNodes = norm(viaSql.map(({ total: _t, ...r }) => r));
    const same = JSON.stringify(gqlNodes) === JSON.stringify(sqlNodes) && viaGql.members.totalCount === Number(viaSql[0]?.total);

    const gqlStatements = (await countStatements(gqlInProcess)).statements;
    const sqlStatements = (await countStatements(hand)).statements;
    const gqlT = await time(gqlInProcess);
    const sqlT = await time(hand);
    const httpT = await time(gqlHttp);
    const trivial = JSON.stringify({ query: '{ viewer { id } }' });
    const httpFloor = await time(async () => {
      const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: trivial });
      await res.json();
    });

    const f = (n: number) => n.toFixed(1).padStart(7);
    console.log(`graphql bench: ${SCALE} members (seeded in ${seedSeconds.toFixed(1)} s), page of ${PAGE}, ${ITERATIONS} runs each; same data as hand-written SQL: ${same ? 'yes' : 'NO'}`);
    console.log(`  variant                      p50 ms  p99 ms  statements`);
    console.log(`  hand-written SQL            ${f(sqlT.p50)} ${f(sqlT.p99)}  ${sqlStatements}`);
    console.log(`  GraphQL in-process          ${f(gqlT.p50)} ${f(gqlT.p99)}  ${gqlStatements}`);
    console.log(`  GraphQL over HTTP (+auth)   ${f(httpT.p50)} ${f(httpT.p99)}  ${gqlStatements} + 1 (API key)`);
    console.log(`  HTTP floor ({ viewer { id } }) ${f(httpFloor.p50)} ${f(httpFloor.p99)}  1 (API key)`);
    console.log(`  ratio GraphQL/SQL (p50): in-process ${(gqlT.p50 / sqlT.p50).toFixed(2)}x, HTTP ${(httpT.p50 / sqlT.p50).toFixed(2)}x (target <= 2x)`);
    if (!same) process.exitCode = 1;
  } finally {
    if (server) await new Promise<void>((r) => server!.close(() => r()));
    if (closeApp) await closeApp();
    await direct.end().catch(() => undefined);
    await database.close();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
