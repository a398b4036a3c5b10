// The whole app in-process on a test database, listening on 127.0.0.1:0: the
// one harness every protocol's tests start (thin clients in ./clients.ts).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Domain } from '../../src/domain/index.js';
import { createLogger } from '../../src/http/logger.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { createTestDb, testDomain, type TestDb } from './test-db.js';

export interface TestApp {
  /** The test database (and the domain the test file arranges data with). */
  readonly t: TestDb;
  /** The domain this app serves: `t.domain`, or its own with `ownDatabase`. */
  readonly domain: Domain;
  readonly app: App;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly config: Config;
  /** Stops listening, then the app (its open WebSockets with it), then its own pool, then (if it made it) the test database: always in this order. */
  close(): Promise<void>;
}

export interface StartTestAppOptions {
  /** Environment on top of NODE_ENV=test, LOG_LEVEL=silent and PUBLIC_URL=the app's own URL. */
  readonly env?: Record<string, string>;
  /** Serve this test database (it stays open after close); default: a fresh one, dropped on close. */
  readonly db?: TestDb;
  /**
   * A second process on the same database: its own pool (DATABASE_POOL_SIZE, default 4; with the
   * configured DATABASE_REPLICA_URLS, and DATABASE_URL, DATABASE_POOL_MODE and DATABASE_LISTEN_URL
   * when `env` sets them: a process behind a pooler) and its own domain (built from the same configuration).
   */
  readonly ownDatabase?: boolean;
  /** Listen on this port (a process restarted where its clients expect it); default: any free one. */
  readonly port?: number;
}

export async function startTestApp(opts: StartTestAppOptions = {}): Promise<TestApp> {
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const appEnv = { NODE_ENV: 'test', LOG_LEVEL: 'silent', PORT: String(port), PUBLIC_URL: url, IMPORT_SCHEDULER: 'off', ...opts.env };
  // The domain from the same configuration as the app (policies such as AUTH_FAILURE_LIMIT).
  const t = opts.db ?? (await createTestDb({ env: appEnv }));
  const processEnv = { DATABASE_URL: t.url, ...appEnv };
  const config = loadConfig(processEnv);
  let own: Database | undefined;
  let domain = t.domain;
  let db = t.database.db;
  if (opts.ownDatabase) {
    const { url, poolMode, listenUrl, replicaUrls, replicaMaxLagSeconds } = config.database;
    own = await openDatabase({ url, dataDir: '/nonexistent', poolSize: opts.env?.DATABASE_POOL_SIZE ? config.database.poolSize : 4, poolMode, listenUrl, replicaUrls, replicaMaxLagSeconds });
    db = own.db;
    domain = testDomain(db, processEnv);
  }
  const app = await createApp({ config, db, domain, logger: createLogger('silent') });
  server.on('request', app.listener);
  server.on('upgrade', app.upgrade);
  return {
    t,
    domain,
    app,
    url,
    config,
    async close() {
      server.closeAllConnections();
      const stopped = new Promise<void>((r) => server.close(() => r()));
      // WebSocket connections (upgraded, no longer the HTTP server's to close) end with the app's graphql-ws server.
      await app.close();
      await stopped;
      await own?.close();
      if (!opts.db) await t.close();
    },
  };
}

/** The app on a fresh database with `env` (what most test files want). */
export function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ env });
}
