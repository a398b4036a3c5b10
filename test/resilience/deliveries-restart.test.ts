// A Gatehouse process killed (kill -9) while it is sending webhooks, and
// started again: every event still reaches the receiver, each delivery ends
// up succeeded, and a message arrives more than once only if it was in flight
// at the kill (at-least-once, no more). The delivery worker runs as
// `npm start` runs it: on the job queue, in the server process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl } from '../setup/test-db.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { createDomain, type Domain } from '../../src/domain/index.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { startGatehouse, waitFor, type GatehouseProcess } from './harness.js';
import { startReceiver, type Receiver } from '../setup/webhook-receiver.js';

const SECRET = 'resilience-test-secret-0123456789abcdef';
let url: string;
let drop: () => Promise<void>;
let database: Database;
let domain: Domain;
let rx: Receiver;
const procs: GatehouseProcess[] = [];

beforeAll(async () => {
  const created = await createTestDatabaseUrl();
  url = created.url;
  drop = created.drop;
  database = await openDatabase({ url, dataDir: '/nonexistent', poolSize: 4 });
  domain = createDomain(database.db, SECRET);
  rx = await startReceiver();
});
afterAll(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await rx.close();
  await database.close();
  await drop();
});

describe('deliveries across a crash', () => {
  it('loses no delivery and repeats only what was in flight when the process died', async () => {
    const org = await buildOrg(domain);
    const path = '/slow/300';
    const { endpoint } = await domain.webhooks.create(org.actor, { url: `${rx.url}${path}`, eventTypes: ['member.created'] });
    const env = { DATABASE_URL: url, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'on', WEBHOOK_TIMEOUT_SECONDS: '2', DELIVERY_WORKER: 'on' };
    const a = await startGatehouse(env, { readyTimeoutMs: 120_000 });
    procs.push(a);
    const n = 40;
    for (let i = 0; i < n; i++) await buildMember(domain, org.actor);
    // Killed while requests are in flight (each takes 300 ms at the receiver).
    await rx.waitFor(path, 5, 60_000);
    a.kill('SIGKILL');
    await a.exited();
    const atKill = rx.on(path).length;
    expect(atKill).toBeLessThan(n);

    const b = await startGatehouse(env, { readyTimeoutMs: 120_000 });
    procs.push(b);
    await waitFor(async () => new Set(rx.on(path).map((r) => r.headers['webhook-id'])).size === n, 90_000, 250);
    const deliveries = await domain.webhooks.deliveries(org.actor, { endpointId: endpoint.id, limit: 500 });
    await waitFor(async () => (await domain.webhooks.deliveries(org.actor, { endpointId: endpoint.id, limit: 500 })).every((d) => d.status === 'succeeded'), 30_000);
    expect(deliveries).toHaveLength(n);
    const ids = rx.on(path).map((r) => String(r.headers['webhook-id']));
    const repeats = ids.length - new Set(ids).size;
    // Only requests that were on the wire at the kill may arrive twice (the sender keeps at most 4 in flight per endpoint).
    expect(repeats).toBeLessThanOrEqual(4);
    b.kill('SIGTERM');
    expect(await b.exited()).toBe(0);
  }, 400_000);
});
