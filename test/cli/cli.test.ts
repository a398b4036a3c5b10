// The CLI on PostgreSQL: every command in-process through runCli (cheap), and
// the real process a few times (each spawn costs about 2 s) for exit codes
// and the one-JSON-object / one-stderr-line contract.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, TEST_SECRET, testDomain } from '../setup/test-db.js';
import { runCli } from '../../src/cli/run.js';
import { runCliOn } from '../setup/cli.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import type { Domain } from '../../src/domain/index.js';

let url: string;
let drop: () => Promise<void>;
let dataDir: string;
let database: Database;
let domain: Domain;

beforeAll(async () => {
  const created = await createTestDatabaseUrl();
  url = created.url;
  drop = created.drop;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-cli-'));
  database = await openDatabase({ url, dataDir: '/nonexistent', poolSize: 2 });
  domain = testDomain(database.db);
});
afterAll(async () => {
  await database.close();
  await drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function env(): Record<string, string> {
  return { DATABASE_URL: url, DATA_DIR: dataDir, GATEHOUSE_SECRET: TEST_SECRET, PUBLIC_URL: 'https://gate.example.com', LOG_LEVEL: 'silent' };
}

/** Runs a command in-process; returns exit code, stdout and stderr. */
const cli = (...argv: string[]) => runCliOn(url, argv, env());

/** The parsed single JSON object of a successful --json run. */
async function cliJson(...argv: string[]): Promise<Record<string, unknown> & { [k: string]: never | unknown }> {
  const r = await cli(...argv, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, never>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('CLI commands (in-process)', () => {
  it('runs the whole flow: org, scim, api keys, places, locks, shares, members, access', async () => {
    const org: Json = await cliJson('org', 'create', '--name', 'Acme Corp', '--domain', 'acme');
    expect(org.organization).toMatchObject({ name: 'Acme Corp', domain: 'acme' });
    expect(((await cliJson('org', 'list')) as Json).organizations.map((o: Json) => o.domain)).toContain('acme');

    const scim: Json = await cliJson('scim', 'enable', '--org', 'acme');
    expect(scim.tenantUrl).toBe('https://gate.example.com/scim/v2');
    expect(Object.keys(scim).sort()).toEqual(['tenantUrl', 'token']);
    expect((await domain.organizations.authenticateScim(scim.token)).organizationId).toBe(org.organization.id);
    const rotated: Json = await cliJson('scim', 'enable', '--org', 'acme');
    await expect(domain.organizations.authenticateScim(scim.token)).rejects.toMatchObject({ kind: 'unauthenticated' });
    expect(((await cliJson('scim', 'status', '--org', 'acme')) as Json).status).toMatchObject({ enabled: true, tokenPrefix: rotated.token.slice(0, 14) });
    await cliJson('scim', 'disable', '--org', 'acme');
    await expect(domain.organizations.authenticateScim(rotated.token)).rejects.toMatchObject({ kind: 'unauthenticated' });

    const key: Json = await cliJson('apikey', 'create', '--org', 'acme', '--name', 'dashboard', '--role', 'reader');
    expect(key.key).toMatch(/^gh_key_/);
    expect(await domain.apiKeys.authenticate(key.key)).toMatchObject({ kind: 'api_key', role: 'reader' });
    const keys: Json = await cliJson('apikey', 'list', '--org', 'acme');
    expect(keys.apiKeys).toEqual([expect.objectContaining({ id: key.apiKey.id, name: 'dashboard', revokedAt: null })]);
    expect(JSON.stringify(keys)).not.toContain(key.key);
    await cliJson('apikey', 'revoke', '--org', 'acme', '--id', key.apiKey.id);
    await expect(domain.apiKeys.authenticate(key.key)).rejects.toMatchObject({ kind: 'unauthenticated' });

    const place: Json = await cliJson('place', 'create', '--org', 'acme', '--name', 'HQ', '--time-zone', 'Europe/Berlin');
    const lock: Json = await cliJson('lock', 'create', '--org', 'acme', '--place', place.place.id, '--name', 'Front door');
    expect(((await cliJson('place', 'list', '--org', 'acme')) as Json).places).toHaveLength(1);
    expect(((await cliJson('lock', 'list', '--org', 'acme', '--place', place.place.id)) as Json).locks.map((l: Json) => l.id)).toEqual([lock.lock.id]);

    // A door controller's key: it names its locks and places, and reads those allow-lists and nothing else.
    const other: Json = await cliJson('place', 'create', '--org', 'acme', '--name', 'Depot');
    const otherLock: Json = await cliJson('lock', 'create', '--org', 'acme', '--place', other.place.id, '--name', 'Gate');
    const door: Json = await cliJson('apikey', 'create', '--org', 'acme', '--name', 'front door', '--role', 'controller', '--locks', lock.lock.id, '--places', other.place.id);
    expect(door.apiKey).toMatchObject({ name: 'front door', role: 'controller', lockIds: [lock.lock.id], placeIds: [other.place.id] });
    const doorActor = await domain.apiKeys.authenticate(door.key);
    const snap = await domain.access.lockSnapshot(doorActor, { lockIds: [lock.lock.id], placeIds: [other.place.id] });
    expect(snap.locks.map((l) => l.lockId).sort()).toEqual([lock.lock.id, otherLock.lock.id].sort());
    const annex: Json = await cliJson('place', 'create', '--org', 'acme', '--name', 'Annex');
    const annexLock: Json = await cliJson('lock', 'create', '--org', 'acme', '--place', annex.place.id, '--name', 'Side door');
    await expect(domain.access.lockSnapshot(doorActor, { lockIds: [annexLock.lock.id], placeIds: [] })).rejects.toMatchObject({ code: 'lock_not_in_scope' });
    await expect(domain.access.lockSnapshot(doorActor, { lockIds: [], placeIds: [place.place.id] })).rejects.toMatchObject({ code: 'lock_not_in_scope' });
    await expect(domain.members.list(doorActor, {})).rejects.toMatchObject({ kind: 'forbidden' });
    // A controller key must name locks or places of this organisation; other roles name none.
    for (const argv of [
      ['--role', 'controller'],
      ['--role', 'reader', '--locks', lock.lock.id],
      ['--role', 'controller', '--locks', crypto.randomUUID()],
    ]) {
      const r = await cli('apikey', 'create', '--org', 'acme', '--name', 'bad door', ...argv, '--json');
      expect({ argv, code: r.code, error: JSON.parse(r.stdout).error.code }).toEqual({ argv, code: 1, error: 'invalid_controller_scope' });
    }
    await cliJson('apikey', 'revoke', '--org', 'acme', '--id', door.apiKey.id);

    const actor = { kind: 'system' as const, organizationId: org.organization.id, label: 'test' };
    const ann = await domain.members.create(actor, { userName: 'ann@acme.test' });
    await domain.members.create(actor, { userName: 'bob@acme.test' });
    const members: Json = await cliJson('member', 'list', '--org', 'acme', '--first', '1');
    expect(members).toMatchObject({ totalCount: 2, hasNextPage: true });
    expect(members.members.map((m: Json) => m.userName)).toEqual(['ann@acme.test']);
    const rest: Json = await cliJson('member', 'list', '--org', 'acme', '--after', members.endCursor);
    expect(rest.members.map((m: Json) => m.userName)).toEqual(['bob@acme.test']);

    const share: Json = await cliJson('share', 'grant', '--org', 'acme', '--member', ann.id, '--place', place.place.id, '--until', '2999-01-01T00:00:00Z');
    expect(share.share).toMatchObject({ memberId: ann.id, placeId: place.place.id, role: 'user', validUntil: '2999-01-01T00:00:00.000Z' });
    const of: Json = await cliJson('access', 'of', '--org', 'acme', '--member', ann.id);
    expect(of.locks).toEqual([expect.objectContaining({ lockId: lock.lock.id, grants: [expect.objectContaining({ shareId: share.share.id, scope: 'place' })] })]);
    const who: Json = await cliJson('access', 'who', '--org', 'acme', '--lock', lock.lock.id);
    expect(who).toMatchObject({ hasNextPage: false, members: [{ member: { id: ann.id, userName: 'ann@acme.test' } }] });
    await cliJson('share', 'revoke', '--org', 'acme', '--id', share.share.id);
    expect(((await cliJson('access', 'of', '--org', 'acme', '--member', ann.id)) as Json).locks).toEqual([]);

    // Text output is for people: tables, and the token shown with the Tenant URL.
    const text = await cli('access', 'who', '--org', 'acme', '--lock', lock.lock.id);
    expect(text).toMatchObject({ code: 0, stdout: '(none)\n' });
  });

  it('errors: exit 1 for domain errors, 2 for usage, one line on stderr, one error object with --json', async () => {
    await cliJson('org', 'create', '--name', 'Dup', '--domain', 'dup');
    const conflict = await cli('org', 'create', '--name', 'Dup', '--domain', 'dup', '--json');
    expect(conflict.code).toBe(1);
    expect(conflict.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(conflict.stdout)).toEqual({ error: { code: 'domain_taken', message: expect.stringContaining('dup') } });

    for (const argv of [
      ['org', 'create', '--name', 'X'],
      ['org', 'create', '--bogus'],
      ['frobnicate'],
      ['apikey', 'create', '--org', 'dup', '--name', 'k'],
    ]) {
      const r = await cli(...argv, '--json');
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: /);
      expect(JSON.parse(r.stdout).error.code).toBe('usage');
    }
    const notFound = await cli('place', 'create', '--org', 'nowhere', '--name', 'P');
    expect(notFound).toMatchObject({ code: 1, stdout: '', stderr: 'error: Organization "nowhere" not found\n' });
    const invalid = await cli('apikey', 'create', '--org', 'dup', '--name', 'k', '--role', 'root');
    expect(invalid).toMatchObject({ code: 1, stderr: expect.stringContaining('reader') });
    const badDate = await cli('share', 'grant', '--org', 'dup', '--member', 'x', '--lock', 'y', '--until', 'soon');
    expect(badDate.code).toBe(2);
    const badFirst = await cli('member', 'list', '--org', 'dup', '--first', 'many');
    expect(badFirst.code).not.toBe(0);
    expect(badFirst.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('a bad environment is a configuration error naming the variable', async () => {
    let stderr = '';
    const code = await runCli(['org', 'list'], { env: { ...env(), DATABASE_URL: 'mysql://x' }, stdout: () => {}, stderr: (t) => (stderr += t) });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: invalid configuration: DATABASE_URL: .*\n$/);
  });
});

function spawnCli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      { env: { PATH: process.env.PATH ?? '', ...env(), ...extraEnv }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('CLI process', () => {
  it('prints exactly one JSON object on stdout; errors exit non-zero with one stderr line; usage errors exit 2', async () => {
    const [ok, conflict, usage] = await Promise.all([
      spawnCli(['org', 'create', '--name', 'Spawned', '--domain', 'spawned', '--json']),
      spawnCli(['scim', 'enable', '--org', 'no-such-org', '--json']),
      spawnCli(['org', 'create', '--name', 'No domain', '--json']),
    ]);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(ok.stdout)).toEqual({ organization: expect.objectContaining({ domain: 'spawned', name: 'Spawned' }) });
    expect(ok.stderr).toBe('');

    expect(conflict.code).toBe(1);
    expect(conflict.stderr.trimEnd().split('\n')).toEqual(['error: Organization "no-such-org" not found']);
    expect(JSON.parse(conflict.stdout).error.code).toBe('organization_not_found');

    expect(usage.code).toBe(2);
    expect(usage.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(usage.stderr).toContain('--domain is required');
  });
});
