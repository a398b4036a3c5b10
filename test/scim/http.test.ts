// The SCIM edge's own HTTP (it runs on bare node:http, beside Express): paths
// in any case, trailing slashes, HEAD, 405s, request bodies in every encoding
// and charset a client may send, limits, request ids and metrics labels.
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { entraUser, scimOrg, scimSuite, type ScimServer } from './scim-client.js';

const LIMIT = 4096;
let t: TestDb;
let server: ScimServer;
let origin: string;
scimSuite(
  (s) => {
    ({ t, server } = s);
    origin = server.url.replace(/\/scim\/v2$/, '');
  },
  { BODY_LIMIT_BYTES: String(LIMIT) },
);

/** A request with exactly these headers and body bytes (chunked when `chunks` is given). */
function send(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: Buffer; chunks?: Buffer[] } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  const u = new URL(origin + path);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path: u.pathname + u.search, agent: false, headers: { ...(opts.body ? { 'content-length': String(opts.body.length) } : {}), ...opts.headers } },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
      },
    );
    req.on('error', reject);
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else req.end(opts.body);
  });
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** A raw HTTP/1.1 client that writes its whole request before it reads a byte of the answer (as .NET's HttpClient does). */
async function sendAllThenRead(requestLine: string, headers: Record<string, string>, body: Buffer): Promise<{ writeError: string | null; head: string }> {
  const u = new URL(origin);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.pause();
  socket.on('error', () => undefined);
  const lines = [`${requestLine} HTTP/1.1`, `Host: ${u.host}`, 'Connection: keep-alive', `Content-Length: ${body.length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  let writeError: string | null = null;
  for (const chunk of [Buffer.from(lines.join('\r\n') + '\r\n\r\n'), ...Array.from({ length: Math.ceil(body.length / 65536) }, (_, i) => body.subarray(i * 65536, (i + 1) * 65536))]) {
    writeError = await new Promise<string | null>((r) => socket.write(chunk, (e) => r(e ? ((e as NodeJS.ErrnoException).code ?? e.message) : null)));
    if (writeError) break;
  }
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.resume();
  await expect.poll(() => received.includes('\r\n\r\n') || socket.destroyed, { timeout: 10_000 }).toBe(true);
  socket.destroy();
  return { writeError, head: received.split('\r\n\r\n')[0]! };
}

describe('SCIM paths and methods', () => {
  it('matches paths in any case and with one trailing slash; anything else is a SCIM 404', async () => {
    const { token } = await scimOrg(t, server);
    const auth = { authorization: `Bearer ${token}` };
    const created = await send('POST', '/scim/v2/Users', { headers: { ...auth, 'content-type': 'application/scim+json' }, body: json(entraUser('path.case@contoso.com')) });
    expect(created.status).toBe(201);
    const id = (JSON.parse(created.text) as { id: string }).id;
    for (const path of ['/scim/v2/users', '/SCIM/V2/USERS', '/scim/v2/Users/', `/scim/v2/users/${id}`, `/scim/v2/Users/${id}/`, `/scim/v2/Users/${id.toUpperCase()}`]) {
      expect((await send('GET', path, { headers: auth })).status, path).toBe(200);
    }
    for (const path of ['/scim/v2', '/scim/v2/', '/scim/v2/Users//', `/scim/v2/Users/${id}/members`, '/scim/v2/Userz', '/scim/v2/ServiceProviderConfig/x']) {
      const r = await send('GET', path, { headers: auth });
      expect(r.status, path).toBe(404);
      expect(JSON.parse(r.text), path).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
    }
    // Not the SCIM edge at all: the app's own 404.
    const beside = await send('GET', '/scim/v2x/Users', { headers: auth });
    expect([beside.status, JSON.parse(beside.text).error]).toEqual([404, 'not_found']);
    // A segment that is not valid percent-encoding.
    const odd = await send('GET', '/scim/v2/Users/%E0%A4%A', { headers: auth });
    expect([odd.status, JSON.parse(odd.text).scimType]).toEqual([400, 'invalidSyntax']);
  });

  it('answers HEAD like GET without a body, and 405 with Allow on discovery documents', async () => {
    const { token } = await scimOrg(t, server);
    const head = await send('HEAD', '/scim/v2/Users', { headers: { authorization: `Bearer ${token}` } });
    expect([head.status, head.text]).toEqual([200, '']);
    expect(head.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect((await send('HEAD', '/scim/v2/Users')).status).toBe(401);
    const post = await send('POST', '/scim/v2/ServiceProviderConfig', { headers: { 'content-type': 'application/json' }, body: json({}) });
    expect([post.status, post.headers.allow]).toEqual([405, 'GET']);
    const schema = await send('GET', '/scim/v2/Schemas/URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER');
    expect([schema.status, JSON.parse(schema.text).id]).toEqual([200, 'urn:ietf:params:scim:schemas:core:2.0:User']);
  });

  it('answers each request with its id and counts it under its route pattern', async () => {
    const { token, scim } = await scimOrg(t, server);
    const u = (await scim.post('/Users', entraUser('label@contoso.com'))).body.id as string;
    const r = await send('GET', `/scim/v2/Users/${u}`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'entra-label.1' } });
    expect([r.status, r.headers['x-request-id']]).toEqual([200, 'entra-label.1']);
    await send('GET', '/scim/v2/Nowhere', { headers: { authorization: `Bearer ${token}` } });
    const metrics = await (await fetch(`${origin}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_http_request_duration_seconds_count\{method="GET",route="\/scim\/v2\/Users\/:id",status="200"\} [1-9]/);
    expect(metrics).toMatch(/gatehouse_http_request_duration_seconds_count\{method="GET",route="\/scim\/v2",status="404"\} [1-9]/);
    expect(metrics).not.toContain(u);
  });
});

describe('SCIM request bodies', () => {
  it('reads gzip, deflate and br bodies, a UTF-8 charset, a byte-order mark and chunked bodies', async () => {
    const { token, scim } = await scimOrg(t, server);
    const headers = (extra: Record<string, string>) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', ...extra });
    const cases: [string, Record<string, string>, (b: Buffer) => Buffer][] = [
      ['gzip', { 'content-encoding': 'gzip' }, (b) => zlib.gzipSync(b)],
      ['deflate', { 'content-encoding': 'deflate' }, (b) => zlib.deflateSync(b)],
      ['br', { 'content-encoding': 'br' }, (b) => zlib.brotliCompressSync(b)],
      ['charset', { 'content-type': 'application/scim+json; charset="UTF-8"' }, (b) => b],
      ['json', { 'content-type': 'Application/JSON' }, (b) => b],
      ['bom', {}, (b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b])],
    ];
    for (const [name, extra, encode] of cases) {
      const r = await send('POST', '/scim/v2/Users', { headers: headers(extra), body: encode(json(entraUser(`body.${name}@contoso.com`, { displayName: 'Zoë Ünal' }))) });
      expect(r.status, name).toBe(201);
      expect(JSON.parse(r.text), name).toMatchObject({ userName: `body.${name}@contoso.com`, displayName: 'Zoë Ünal' });
    }
    const body = json(entraUser('body.chunked@contoso.com'));
    const chunked = await send('POST', '/scim/v2/Users', { headers: headers({}), chunks: [body.subarray(0, 10), body.subarray(10)] });
    expect(chunked.status).toBe(201);
    expect((await scim.filter('Users', 'userName sw "body."')).body.totalResults).toBe(cases.length + 1);
  });

  it('refuses bodies it cannot read with a SCIM 4xx, records them, and changes nothing', async () => {
    const org = await scimOrg(t, server);
    const headers = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${org.token}`, 'content-type': 'application/scim+json', ...extra });
    const big = json(entraUser('body.big@contoso.com', { title: 'x'.repeat(LIMIT) }));
    const cases: [string, { headers?: Record<string, string>; body?: Buffer; chunks?: Buffer[] }, number, string?][] = [
      ['over the limit', { headers: headers(), body: big }, 413],
      ['over the limit, chunked', { headers: headers(), chunks: [big.subarray(0, 2000), big.subarray(2000)] }, 413],
      // Small on the wire, over the limit once decoded.
      ['over the limit once inflated', { headers: headers({ 'content-encoding': 'gzip' }), body: zlib.gzipSync(big) }, 413],
      ['not gzip', { headers: headers({ 'content-encoding': 'gzip' }), body: json(entraUser('body.notgzip@contoso.com')) }, 400, 'invalidSyntax'],
      ['unknown encoding', { headers: headers({ 'content-encoding': 'compress' }), body: json(entraUser('body.compress@contoso.com')) }, 415],
      ['latin-1', { headers: headers({ 'content-type': 'application/scim+json; charset=iso-8859-1' }), body: json(entraUser('body.latin@contoso.com')) }, 415],
      ['not JSON by its type', { headers: headers({ 'content-type': 'text/plain' }), body: json(entraUser('body.text@contoso.com')) }, 400, 'invalidSyntax'],
      ['empty', { headers: headers(), body: Buffer.alloc(0) }, 400, 'invalidValue'],
      ['broken JSON', { headers: headers(), body: Buffer.from('{"userName": "body.broken@contoso.com",') }, 400, 'invalidSyntax'],
    ];
    for (const [name, opts, status, scimType] of cases) {
      const r = await send('POST', '/scim/v2/Users', opts);
      expect(r.status, name).toBe(status);
      const err = JSON.parse(r.text);
      expect(err, name).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: String(status) });
      if (scimType) expect(err.scimType, name).toBe(scimType);
    }
    // Nothing was created; the server still answers on new connections; every refusal is in the provisioning log.
    expect((await org.scim.filter('Users', 'userName sw "body."')).body.totalResults).toBe(0);
    const failures = await t.domain.audit.list(org.actor, { actionPrefix: 'scim.user.create', outcome: 'failure' });
    expect(failures.map((f) => f.reason!.split(':')[0]).reverse()).toEqual(cases.map(([, , status, scimType]) => `${status}${scimType ? ` ${scimType}` : ''}`));
  });

  it('authenticates before it reads a body, and answers a client that sends all of a large body before it reads', async () => {
    const { token } = await scimOrg(t, server);
    // Several megabytes, far past the socket buffers: a server that answered and closed
    // without reading them would break this client's pipe, and it would see no answer.
    const body = json({ userName: 'big@contoso.com', title: 'x'.repeat(3 * 1024 * 1024) });
    for (const [auth, status] of [['Bearer wrong', 401], [`Bearer ${token}`, 413]] as const) {
      const r = await sendAllThenRead(`POST /scim/v2/Users`, { authorization: auth, 'content-type': 'application/scim+json' }, body);
      expect(r.writeError, auth).toBeNull();
      expect(r.head, auth).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      // The body was read off: the connection stays open for the next request.
      expect(r.head.toLowerCase(), auth).toContain('connection: keep-alive');
    }
  });

  it('serves absolute-form request targets', async () => {
    const { token } = await scimOrg(t, server);
    const r = await sendAllThenRead(`GET ${origin}/scim/v2/Users?count=1`, { authorization: `Bearer ${token}` }, Buffer.alloc(0));
    expect(r.head).toMatch(/^HTTP\/1.1 200 /);
    expect(r.head).toMatch(/content-type: application\/scim\+json/i);
  });
});
