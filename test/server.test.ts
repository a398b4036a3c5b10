// The real server process on embedded PGlite from an empty DATA_DIR (a copy
// of the build's template): it answers /readyz, shares its database with the CLI through the socket, stops
// cleanly on SIGTERM, and restarts on the same data. Also: a bad variable
// stops it with exit 1 and one line naming the variable. The first start runs
// the TypeScript through tsx (`npm run dev`), the restart and the offline CLI
// the compiled build (`npm run build`: dist/server.js, dist/cli.js), as
// `npm start` and `npm run cli` do.
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-server-'));
const dataDir = path.join(root, 'data'); // does not exist yet: the server creates it
const started: ChildProcess[] = [];

beforeAll(() => {
  execFileSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { stdio: 'ignore' });
}, 120_000);

/** How a process runs: from source through tsx, or the compiled build. */
const SERVER = { tsx: ['--import', 'tsx', 'src/server.ts'], compiled: ['dist/server.js'] };
const CLI = { tsx: ['--import', 'tsx', 'src/cli/main.ts'], compiled: ['dist/cli.js'] };

afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

/** A clean environment: no DATABASE_URL, so the embedded database. */
function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', ...extra };
}

interface Running {
  readonly proc: ChildProcess;
  readonly port: number;
  readonly logs: () => Record<string, unknown>[];
  readonly exit: Promise<number | null>;
}

async function startServer(how: keyof typeof SERVER = 'tsx'): Promise<Running> {
  const proc = spawn(process.execPath, SERVER[how], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const deadline = Date.now() + 90_000;
  for (;;) {
    const listening = logs().find((l) => typeof l.msg === 'string' && l.msg.startsWith('Gatehouse listening'));
    if (listening) return { proc, port: listening.port as number, logs, exit };
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}: ${err}`);
    if (Date.now() > deadline) throw new Error(`server did not start: ${out} ${err}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(s: Running): Promise<number | null> {
  s.proc.kill('SIGTERM');
  return s.exit;
}

function cli(args: string[], how: keyof typeof CLI = 'tsx'): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI[how], ...args], { env: baseEnv(), timeout: 90_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * One request of each edge against a running server, keys made by the CLI
 * beside it: the bundled build (scripts/build.mjs) must behave as the source
 * does, and bundling can split a package in two (a second graphql, say) in
 * ways only a real request shows.
 */
async function exerciseEdges(base: string, how: keyof typeof CLI): Promise<void> {
  const key = JSON.parse((await cli(['apikey', 'create', '--org', 'joined', '--name', 'edges', '--role', 'admin', '--json'], how)).stdout).key as string;
  const scimToken = JSON.parse((await cli(['scim', 'enable', '--org', 'joined', '--json'], how)).stdout).token as string;
  const scim = await fetch(`${base}/scim/v2/Users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${scimToken}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ada@joined.example', active: true, displayName: 'Ada' }),
  });
  expect(scim.status).toBe(201);
  // Non-null variables go through the cost and depth rules (graphql's typeFromAST) before the resolvers.
  const gql = (query: string, variables: Record<string, unknown>) =>
    fetch(`${base}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const page = await gql(`query($first: Int!, $text: String!) { members(first: $first, filter: { text: $text }) { totalCount edges { node { userName displayName } } } }`, { first: 10, text: 'ada' });
  expect(page.status).toBe(200);
  expect(await page.json()).toEqual({ data: { members: { totalCount: 1, edges: [{ node: { userName: 'ada@joined.example', displayName: 'Ada' } }] } } });
  const wrong = await gql(`query($first: Int!) { members(first: $first) { totalCount } }`, { first: 'ten' });
  expect(wrong.status).toBe(400);
  const metadata = await fetch(`${base}/saml/joined/metadata`);
  expect([metadata.status, (await metadata.text()).includes('AssertionConsumerService')]).toEqual([200, true]);
}

describe('server on embedded PGlite', () => {
  it('starts from an empty DATA_DIR, serves the CLI through its socket, stops on SIGTERM, restarts with its data', async () => {
    const first = await startServer();
    const base = `http://127.0.0.1:${first.port}`;
    expect(first.logs().find((l) => String(l.msg).includes('generated a master key'))).toBeTruthy();
    expect(fs.statSync(path.join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    // The empty DATA_DIR is a copy of the build's migrated template (test/infra/postgres/template.test.ts): nothing left to apply.
    expect(first.logs().find((l) => l.msg === 'database ready')).toMatchObject({ applied: [], created: { from: 'template' } });

    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([303, '/me']);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('gatehouse_http_request_duration_seconds_bucket{le="0.002",method="GET",route="/readyz",status="200"}');
    expect(metrics).toMatch(/gatehouse_db_pool_connections\{state="size"\} [1-9]/);

    // Each request has an id (the caller's when well-formed), answered in x-request-id and logged with the request.
    const traced = await fetch(`${base}/scim/v2/Users`, { headers: { 'x-request-id': 'entra-42.a' } });
    expect([traced.status, traced.headers.get('x-request-id')]).toEqual([401, 'entra-42.a']);
    const minted = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(minted.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await expect.poll(() => first.logs().find((l) => l.msg === 'request' && l.reqId === 'entra-42.a')).toMatchObject({ method: 'GET', path: '/scim/v2/Users', status: 401 });
    await expect.poll(() => first.logs().find((l) => l.msg === 'request' && l.reqId === minted.headers.get('x-request-id'))).toMatchObject({ path: '/healthz', status: 200 });
    const counted = await (await fetch(`${base}/metrics`)).text();
    expect(counted).toMatch(/gatehouse_http_request_duration_seconds_count\{method="GET",route="\/scim\/v2\/Users",status="401"\} 1/);

    // The CLI joins the running server's database through the socket.
    const created = await cli(['org', 'create', '--name', 'Joined', '--domain', 'joined', '--json']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(created.stdout).organization.domain).toBe('joined');
    const listed = await cli(['org', 'list', '--json']);
    expect(JSON.parse(listed.stdout).organizations.map((o: { domain: string }) => o.domain)).toEqual(['joined']);
    // The server still answers after the CLI went away.
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    expect(await stop(first)).toBe(0);
    expect(first.logs().at(-1)).toMatchObject({ msg: 'stopped' });
    expect(fs.existsSync(path.join(dataDir, 'gatehouse.lock'))).toBe(false);

    // With no server, the CLI opens the database itself; the data is kept.
    const offline = await cli(['org', 'list', '--json'], 'compiled');
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout).organizations.map((o: { domain: string }) => o.domain)).toEqual(['joined']);
    // It begins opening it before it knows the command (src/cli/main.ts): an unknown one still exits 2, and the
    // database it opened on the guess is closed again (no lock left behind, the next command opens it).
    const typo = await cli(['org', 'lst', '--json'], 'compiled');
    expect([typo.code, JSON.parse(typo.stdout).error.code]).toEqual([2, 'usage']);
    expect(fs.existsSync(path.join(dataDir, 'gatehouse.lock'))).toBe(false);

    // Restart, compiled: no migration to apply, same key, still ready, the console's front end served.
    const second = await startServer('compiled');
    expect(second.logs().find((l) => l.msg === 'database ready')).toMatchObject({ applied: [] });
    expect(second.logs().find((l) => String(l.msg).includes('generated a master key'))).toBeUndefined();
    expect((await fetch(`http://127.0.0.1:${second.port}/readyz`)).status).toBe(200);
    const script = await fetch(`http://127.0.0.1:${second.port}/admin/app.js`);
    expect([script.status, (await script.text()).length > 1000]).toEqual([200, true]);
    await exerciseEdges(`http://127.0.0.1:${second.port}`, 'compiled');
    expect(await stop(second)).toBe(0);
  }, 240_000);

  it('a bad variable stops start-up: exit 1, one line naming it', async () => {
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: baseEnv({ PORT: 'eighty', DATA_DIR: path.join(root, 'unused') }) }, (e, stdout, stderr) =>
        resolve({ code: e ? (e.code as number) : 0, stdout, stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^gatehouse: invalid configuration: PORT: /)]);
    expect(result.stdout).toBe('');
    expect(fs.existsSync(path.join(root, 'unused'))).toBe(false);
  }, 60_000);
});
