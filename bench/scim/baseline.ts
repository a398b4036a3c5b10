// The baseline: the same SCIM requests answered with only the minimal SQL, on
// bare node:http + pg (no framework, no ORM, no audit, no validation beyond
// what the statements need). It is the limit for Node on this machine.
// With BASELINE_HTTP=express the same handler runs behind an Express 5 app
// (the framework alone, no middleware): the floor for anything served through
// Express, the reason Gatehouse's SCIM edge runs beside Express, not in it.
// Run by bench/scim/index.ts in its own process; prints {"port": N}.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
// Connections are terminated when the benchmark drops its database: not an error here.
pool.on('error', () => undefined);
const ORG = process.env.BASELINE_ORG!;
const TOKEN = process.env.BASELINE_TOKEN!;
const BASE = '/scim/v2';

type Json = Record<string, unknown>;

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function readBody(req: http.IncomingMessage): Promise<Json> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json) : {});
      } catch (e) {
        reject(e);
      }
    });
  });
}

const list = (rows: Json[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: rows.length, startIndex: 1, itemsPerPage: rows.length, Resources: rows });
const user = (r: { id: string; user_name: string; active: boolean; display_name: string | null }) => ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: r.id, userName: r.user_name, active: r.active, displayName: r.display_name });

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { status: '401' });
  const url = new URL(req.url!, 'http://x');
  const path = url.pathname.slice(BASE.length);
  const filter = url.searchParams.get('filter') ?? '';
  const eq = /^\w+ eq "(.*)"$/.exec(filter)?.[1];
  if (req.method === 'GET' && path === '/Users') {
    const { rows } = await pool.query('select id, user_name, active, display_name from members where organization_id = $1 and lower(user_name) = lower($2)', [ORG, eq]);
    return send(res, 200, list(rows.map(user)));
  }
  if (req.method === 'GET' && path === '/Groups') {
    const { rows } = await pool.query('select id, display_name from groups where organization_id = $1 and lower(display_name) = lower($2)', [ORG, eq]);
    return send(res, 200, list(rows.map((r) => ({ id: r.id, displayName: r.display_name }))));
  }
  // Behind express.json the body is already parsed (and the stream read).
  const body = (req as { body?: Json }).body ?? (await readBody(req));
  if (req.method === 'POST' && path === '/Users') {
    const name = (body.name ?? {}) as Json;
    const { rows } = await pool.query(
      `insert into members (organization_id, id, user_name, external_id, active, display_name, given_name, family_name, formatted_name, emails, source)
       values ($1, gen_random_uuid(), $2, $3, $4, $5, $6, $7, $8, $9::jsonb, 'scim') returning id, user_name, active, display_name`,
      [ORG, body.userName, body.externalId, body.active !== false, body.displayName, name.givenName, name.familyName, name.formatted, JSON.stringify(body.emails ?? [])],
    );
    return send(res, 201, user(rows[0]));
  }
  if (req.method === 'POST' && path === '/Groups') {
    const { rows } = await pool.query(`insert into groups (organization_id, id, display_name, external_id, source) values ($1, gen_random_uuid(), $2, $3, 'scim') returning id`, [
      ORG,
      body.displayName,
      body.externalId,
    ]);
    return send(res, 201, { id: rows[0].id, displayName: body.displayName });
  }
  const m = /^\/(Users|Groups)\/([0-9a-f-]{36})$/.exec(path);
  if (req.method === 'PATCH' && m) {
    const ops = body.Operations as { op: string; path?: string; value: unknown }[];
    if (m[1] === 'Groups') {
      const add = ops.filter((o) => o.op.toLowerCase() === 'add').flatMap((o) => (o.value as { value: string }[]).map((v) => v.value));
      await pool.query(`insert into group_members (organization_id, group_id, member_id) select $1, $2, unnest($3::uuid[]) on conflict do nothing`, [ORG, m[2], add]);
      return send(res, 204);
    }
    const cols: Record<string, string> = { displayname: 'display_name', 'name.givenname': 'given_name', 'name.familyname': 'family_name', title: 'title', active: 'active' };
    const sets: string[] = [];
    const params: unknown[] = [ORG, m[2]];
    for (const o of ops) {
      const col = cols[(o.path ?? '').toLowerCase()];
      if (!col) continue;
      params.push(col === 'active' ? String(o.value).toLowerCase() === 'true' : o.value);
      sets.push(`${col} = $${params.length}`);
    }
    const { rows } = await pool.query(
      `update members set ${[...sets, 'version = version + 1'].join(', ')} where organization_id = $1 and id = $2 returning id, user_name, active, display_name`,
      params,
    );
    return rows[0] ? send(res, 200, user(rows[0])) : send(res, 404, { status: '404' });
  }
  return send(res, 404, { status: '404' });
}

const listener = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  handle(req, res).catch((e: unknown) => send(res, 500, { status: '500', detail: String(e) }));
};
let app: http.RequestListener = listener;
if (process.env.BASELINE_HTTP === 'express') {
  const e = express();
  e.disable('x-powered-by');
  e.use(listener);
  app = e;
}
const server = http.createServer(app);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.close();
  void pool.end().then(() => process.exit(0));
});
