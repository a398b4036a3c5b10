// Two Gatehouse processes (two connection pools, two job-queue workers) on one
// database: every due integration runs once, never twice at once.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../setup/net.js';
import { createTestDatabaseUrl, createTestDb, testDomain, type TestDb } from '../setup/test-db.js';
import { startTestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import type { Domain } from '../../src/domain/index.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { startImportScheduler } from '../../src/scheduler/import-scheduler.js';
import { createLogger } from '../../src/http/logger.js';
import { entraUser, type GraphStandIn } from '../setup/graph-stand-in.js';
import { ENTRA_APP, graphEnv, startGraphStandIn } from '../setup/entra.js';

let t: TestDb;
let second: Database;
let graph: GraphStandIn;

/** A process's domain on its own pool, importing from the stand-in. */
function domainOn(db: Database['db']): Domain {
  return testDomain(db, graphEnv(graph));
}

beforeAll(async () => {
  graph = await startGraphStandIn();
  t = await createTestDb({ env: graphEnv(graph) });
  second = await openDatabase({ url: t.url, dataDir: '/nonexistent', poolSize: 4 });
});
afterAll(async () => {
  await graph.stop();
  await second.close();
  await t.close();
});

describe('import scheduler across processes', () => {
  it('runs each due integration once, never twice at once, and stops cleanly', async () => {
    const processA = t.domain;
    const processB = domainOn(second.db);
    const org = await buildOrg(processA);
    const integrations = [];
    for (let i = 0; i < 3; i++) {
      const entraGroupId = crypto.randomUUID();
      graph.groups.set(entraGroupId, [entraUser(), entraUser()]);
      integrations.push(await processA.imports.create(org.actor, { name: `group ${i}`, ...ENTRA_APP, entraGroupId }));
    }
    const paused = await processA.imports.create(org.actor, { name: 'paused', ...ENTRA_APP, entraGroupId: crypto.randomUUID() });
    await processA.imports.pause(org.actor, paused.id);
    graph.delayMs = 300;
    graph.resetCounters();

    // Process A: the app with its scheduler (as `npm start` runs it); process B: a scheduler ticking fast.
    const app = await startTestApp({ db: t, env: { ...graphEnv(graph), SCHEDULER: 'on', DELIVERY_WORKER: 'on', IMPORT_SCHEDULER: 'on', IMPORT_INTERVAL_MINUTES: '15' } });
    const b = startImportScheduler({ domain: processB, connection: second.connection, intervalMinutes: 15, logger: createLogger('silent'), tickSeconds: 0.2, pollingSeconds: 0.5 });
    try {
      await b.ready;
      await Promise.all([b.tick(), b.tick(), processA.imports.due(15)]);
      await waitFor(async () => (await processA.imports.list(org.actor)).filter((i) => i.lastRun.status === 'success').length === 3, 20_000);
      // A few more ticks of B: nothing is due any more.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await b.tick()).toBe(0);
    } finally {
      await b.stop();
      await app.close();
      graph.delayMs = 0;
    }
    expect(graph.tokenRequests).toBe(3);
    for (const i of integrations) expect(graph.maxInFlightByGroup.get(i.entraGroupId)).toBe(1);
    const list = await processA.imports.list(org.actor);
    for (const i of list.filter((x) => x.id !== paused.id)) expect(i.lastRun).toMatchObject({ status: 'success', added: 2, total: 2 });
    expect(list.find((x) => x.id === paused.id)!.lastRun.status).toBeNull();
    // Each integration's run is in the audit trail once.
    const runs = await processA.audit.list(org.actor, { actionPrefix: 'import.run' });
    expect(runs.map((r) => r.resourceId).sort()).toEqual(integrations.map((i) => i.id).sort());
  }, 60_000);

  it('several processes starting at once on a fresh database all get their worker (no DDL deadlock)', async () => {
    const fresh = await createTestDatabaseUrl();
    const dbs = await Promise.all([1, 2, 3].map(() => openDatabase({ url: fresh.url, dataDir: '/nonexistent', poolSize: 2 })));
    try {
      const schedulers = dbs.map((db) =>
        startImportScheduler({ domain: domainOn(db.db), connection: db.connection, intervalMinutes: 15, logger: createLogger('silent'), tickSeconds: 60 }),
      );
      const started = await Promise.allSettled(schedulers.map((x) => x.ready));
      await Promise.all(schedulers.map((x) => x.stop()));
      expect(started.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await fresh.drop();
    }
  });
});
