// OpenTelemetry traces from the real server process (the compiled build, as
// `npm start` runs it: dist/server.js, which with tracing on runs the build whose
// dependencies load from node_modules, dist/server-traced.js), configured only by the
// standard OTEL_* variables and sent over OTLP (HTTP, JSON) to a receiver in
// this test: a SCIM request, a GraphQL query and a SAML sign-in are each one
// trace whose SQL statements are spans beneath the request's server span; the
// spans carry no bearer token, API key, session cookie or SAMLResponse; the
// request log line carries the trace id beside the request id. Without
// OTEL_EXPORTER_OTLP_ENDPOINT the process sends nothing.
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl } from '../setup/test-db.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { createDomain, type Domain } from '../../src/domain/index.js';
import { spUrls } from '../../src/domain/saml-config/sp-urls.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { startGatehouse, waitFor, type GatehouseProcess } from '../resilience/harness.js';
import { TestIdp } from '../saml/idp.js';

const SECRET = 'resilience-test-secret-0123456789abcdef';

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
}
interface Span {
  traceId: string;
  spanId: string;
  parent: string | undefined;
  name: string;
  kind: number;
  scope: string;
  attrs: Record<string, unknown>;
}

/** An OTLP/HTTP receiver (JSON encoding) keeping every span and every raw body. */
async function startCollector() {
  const spans: Span[] = [];
  const bodies: string[] = [];
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      paths.push(req.url ?? '');
      bodies.push(body);
      if (req.url === '/v1/traces') {
        const doc = JSON.parse(body) as { resourceSpans: { scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[] };
        for (const rs of doc.resourceSpans)
          for (const ss of rs.scopeSpans)
            for (const s of ss.spans)
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parent: s.parentSpanId || undefined,
                name: s.name,
                kind: s.kind,
                scope: ss.scope.name,
                attrs: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]])),
              });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    bodies,
    paths,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let dbUrl: string;
let drop: () => Promise<void>;
let database: Database;
let domain: Domain;
let collector: Awaited<ReturnType<typeof startCollector>>;
let idp: TestIdp;
const procs: GatehouseProcess[] = [];

beforeAll(async () => {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'ignore' });
  const created = await createTestDatabaseUrl();
  dbUrl = created.url;
  drop = created.drop;
  database = await openDatabase({ url: dbUrl, dataDir: '/nonexistent', poolSize: 2 });
  domain = createDomain(database.db, SECRET);
  collector = await startCollector();
  idp = new TestIdp();
  await idp.start();
});
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await collector.close();
  await idp.stop();
  await database.close();
  await drop();
});

/** The spans of one trace, once the request's server span (tagged with its request id) has arrived. */
async function traceOf(requestId: string): Promise<{ root: Span; spans: Span[] }> {
  let root: Span | undefined;
  await waitFor(async () => (root = collector.spans.find((s) => s.attrs['gatehouse.request_id'] === requestId)) !== undefined, 20_000);
  // Children end before their parent: they were exported with it or before it.
  const spans = collector.spans.filter((s) => s.traceId === root!.traceId);
  if (process.env.DEBUG_SPANS) console.log(JSON.stringify(spans, null, 1));
  return { root: root!, spans };
}

/** Every span of the trace hangs from `root` (no orphan, no second root). */
function expectOneTree(root: Span, spans: Span[]): void {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  expect(root.parent).toBeUndefined();
  for (const s of spans) {
    let at: Span | undefined = s;
    const seen = new Set<string>();
    while (at && at.parent) {
      expect(seen.has(at.spanId)).toBe(false);
      seen.add(at.spanId);
      at = byId.get(at.parent);
    }
    expect(at?.spanId, `span ${s.name} does not lead to the request's span`).toBe(root.spanId);
  }
}

const sqlSpans = (spans: Span[]) => spans.filter((s) => s.scope.includes('instrumentation-pg') && typeof (s.attrs['db.statement'] ?? s.attrs['db.query.text']) === 'string');

function logLines(p: GatehouseProcess): Record<string, unknown>[] {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('OpenTelemetry tracing (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  it('sends one trace per SCIM request, GraphQL query and sign-in, SQL beneath, no secret in any span', async () => {
    const org = await buildOrg(domain);
    const { token } = await domain.organizations.enableScim(org.actor);
    const { key } = await domain.apiKeys.create(org.actor, { name: 'tracing test', role: 'admin' });
    await domain.saml.importMetadataUrl(org.actor, idp.metadataUrl);
    const alice = await buildMember(domain, org.actor, { userName: `alice.${org.domain}@contoso.com` });

    const gh = await startGatehouse(
      {
        DATABASE_URL: dbUrl,
        LOG_LEVEL: 'info',
        DELIVERY_WORKER: 'off',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'gatehouse-under-test',
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      { readyTimeoutMs: 120_000, args: ['dist/server.js'] },
    );
    procs.push(gh);
    // dist/server.js has its dependencies bundled in; with tracing on it runs the build importing them from
    // node_modules (dist/server-traced.js), which the instrumentations patch: the spans below prove it.
    expect(logLines(gh).find((l) => l.msg === 'OpenTelemetry tracing on')).toMatchObject({ build: 'traced' });

    // SCIM: bare node:http edge, bearer token.
    const scim = await fetch(`${gh.url}/scim/v2/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `bob.${org.domain}@contoso.com`, active: true }),
    });
    expect(scim.status).toBe(201);
    const scimFilter = await fetch(`${gh.url}/scim/v2/Users?filter=${encodeURIComponent(`userName eq "bob.${org.domain}@contoso.com"`)}`, { headers: { authorization: `Bearer ${token}` } });
    expect(scimFilter.status).toBe(200);

    // GraphQL through Express and Apollo, API key.
    const gql = await fetch(`${gh.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query Members($first: Int) { members(first: $first) { totalCount } }', variables: { first: 5 } }),
    });
    const gqlBody = await gql.text();
    expect(gql.status, gqlBody).toBe(200);
    expect(gqlBody).not.toContain('"errors"');

    // SAML sign-in: SP-initiated, the IdP's signed response posted to the ACS.
    const u = spUrls(gh.url, org.domain);
    const login = await fetch(`${gh.url}/saml/${org.domain}/login?RelayState=${encodeURIComponent('/me')}`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const { inflateRawSync } = await import('node:zlib');
    const requestXml = inflateRawSync(Buffer.from(new URL(login.headers.get('location')!).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    const samlResponse = idp.response({ acsUrl: u.acsUrl, audience: u.entityId, nameId: alice.userName, inResponseTo: /\sID="([^"]+)"/.exec(requestXml)![1]! });
    const acs = await fetch(`${gh.url}/saml/${org.domain}/acs`, {
      method: 'POST',
      body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: '/me' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(acs.status, await acs.clone().text()).toBe(303);
    const cookie = /gatehouse_session=([^;]+)/.exec(acs.headers.getSetCookie().join('\n'))![1]!;
    const meRes = await fetch(`${gh.url}/me`, { headers: { cookie: `gatehouse_session=${cookie}` } });
    expect(meRes.status).toBe(200);

    const scimTrace = await traceOf(scim.headers.get('x-request-id')!);
    expect(scimTrace.root).toMatchObject({ kind: 2, name: 'POST /scim/v2/Users' });
    expect(scimTrace.root.attrs).toMatchObject({ 'http.route': '/scim/v2/Users', 'http.response.status_code': 201 });
    expectOneTree(scimTrace.root, scimTrace.spans);
    const scimSql = sqlSpans(scimTrace.spans);
    expect(scimSql.length).toBeGreaterThanOrEqual(2);
    expect(scimSql.map((s) => String(s.attrs['db.statement'] ?? s.attrs['db.query.text'])).join('\n')).toMatch(/insert into members/i);

    const filterTrace = await traceOf(scimFilter.headers.get('x-request-id')!);
    expectOneTree(filterTrace.root, filterTrace.spans);
    expect(filterTrace.root.traceId).not.toBe(scimTrace.root.traceId);
    expect(sqlSpans(filterTrace.spans).length).toBeGreaterThanOrEqual(1);

    const gqlTrace = await traceOf(gql.headers.get('x-request-id')!);
    expectOneTree(gqlTrace.root, gqlTrace.spans);
    expect(gqlTrace.root.name).toBe('POST /graphql');
    const scopes = new Set(gqlTrace.spans.map((s) => s.scope));
    expect([...scopes].some((s) => s.includes('instrumentation-express'))).toBe(true);
    expect(gqlTrace.spans.some((s) => s.scope.includes('instrumentation-graphql') && s.name.startsWith('query'))).toBe(true);
    const execute = gqlTrace.spans.find((s) => s.scope.includes('instrumentation-graphql') && s.name.startsWith('query'))!;
    // SQL of the query runs beneath the GraphQL execution span, not beside it.
    const gqlSql = sqlSpans(gqlTrace.spans);
    expect(gqlSql.length).toBeGreaterThanOrEqual(1);
    const byId = new Map(gqlTrace.spans.map((s) => [s.spanId, s]));
    const ancestors = (s: Span) => {
      const out: string[] = [];
      for (let p = s.parent; p; p = byId.get(p)?.parent) out.push(p);
      return out;
    };
    expect(gqlSql.some((s) => ancestors(s).includes(execute.spanId))).toBe(true);

    const acsTrace = await traceOf(acs.headers.get('x-request-id')!);
    expectOneTree(acsTrace.root, acsTrace.spans);
    expect(acsTrace.root.attrs['http.route']).toBe('/saml/:domain/acs');
    expect(sqlSpans(acsTrace.spans).length).toBeGreaterThanOrEqual(2);

    // Nothing secret anywhere in what was sent: not the SCIM token, the API key,
    // the session cookie, the SAMLResponse (or its assertion), nor a SCIM filter's user name.
    await traceOf(meRes.headers.get('x-request-id')!);
    const sent = collector.bodies.join('\n');
    for (const secret of [token, key, cookie, samlResponse, samlResponse.slice(0, 40), 'Assertion', `bob.${org.domain}`]) expect(sent).not.toContain(secret);
    expect(sent).toContain('gatehouse-under-test');
    // Traces only: no metrics or logs sent to the collector.
    expect(new Set(collector.paths)).toEqual(new Set(['/v1/traces']));

    // The request log line names the trace beside the request id.
    const line = logLines(gh).find((l) => l.msg === 'request' && l.reqId === gql.headers.get('x-request-id'));
    expect(line).toMatchObject({ trace_id: gqlTrace.root.traceId, span_id: gqlTrace.root.spanId });
    gh.kill('SIGTERM');
    expect(await gh.exited()).toBe(0);
  }, 240_000);

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT: no span sent, no trace id in the log', async () => {
    const before = collector.bodies.length;
    const gh = await startGatehouse({ DATABASE_URL: dbUrl, LOG_LEVEL: 'info', DELIVERY_WORKER: 'off', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '100' }, { readyTimeoutMs: 120_000 });
    procs.push(gh);
    const res = await fetch(`${gh.url}/scim/v2/Users`, { headers: { authorization: 'Bearer wrong' } });
    expect(res.status).toBe(401);
    const line = () => logLines(gh).find((l) => l.msg === 'request' && l.reqId === res.headers.get('x-request-id'));
    await waitFor(async () => line() !== undefined, 10_000);
    expect(line()).toMatchObject({ status: 401, path: '/scim/v2/Users' });
    expect(line()).not.toHaveProperty('trace_id');
    expect(logLines(gh).find((l) => l.msg === 'OpenTelemetry tracing on')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 500));
    expect(collector.bodies.length).toBe(before);
    gh.kill('SIGTERM');
    await gh.exited();
  }, 180_000);
});
