// SIGTERM finishes in-flight requests, then closes the pool and exits 0.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { createTestDatabaseUrl } from '../setup/test-db.js';
import { startGatehouse, type GatehouseProcess } from './harness.js';

let dbUrl: { url: string; drop(): Promise<void> };
let database: Database;
let token: string;
let gh: GatehouseProcess | undefined;

beforeAll(async () => {
  dbUrl = await createTestDatabaseUrl();
  database = await openDatabase({ url: dbUrl.url, dataDir: '/nonexistent', poolSize: 2 });
  await migrate(database.connection);
  const domain = createDomain(database.db, 'resilience-test-secret-0123456789abcdef');
  const org = await domain.organizations.create({ name: 'Shutdown', domain: `shutdown-${Date.now()}` });
  token = (await domain.organizations.enableScim(systemActor(org.id))).token;
}, 60_000);

afterAll(async () => {
  gh?.kill('SIGKILL');
  await database?.close();
  await dbUrl?.drop();
});

describe('graceful shutdown', () => {
  it('finishes a request that is in flight when SIGTERM arrives, then exits 0', async () => {
    gh = await startGatehouse({ DATABASE_URL: dbUrl.url, DATA_DIR: '/tmp/gh-unused' });
    const body = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'inflight@example.com' });
    const socket = net.connect(gh.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let response = '';
    socket.on('data', (d) => (response += d.toString()));
    const closed = new Promise((r) => socket.once('close', r));
    // Headers and half the body now; the rest after SIGTERM.
    socket.write(
      `POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/scim+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 20)}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    gh.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    // No new connection is accepted once shutting down.
    const refused = await fetch(`${gh.url}/healthz`).then(
      () => false,
      () => true,
    );
    expect(refused).toBe(true);
    socket.write(body.slice(20));
    await closed;
    expect(response).toMatch(/^HTTP\/1\.1 201/);
    expect(await gh.exited()).toBe(0);
    gh = undefined;
    const rows = await database.db.sql.all(`select count(*)::int as n from members where user_name = 'inflight@example.com'`);
    expect(rows[0]).toEqual({ n: 1 });
  }, 60_000);
});
