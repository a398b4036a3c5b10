// The whole app in-process on a test database, listening on 127.0.0.1:0.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/http/logger.js';
import { createTestDb, type TestDb } from './test-db.js';

export interface TestApp {
  readonly t: TestDb;
  readonly app: App;
  readonly url: string;
  readonly config: Config;
  close(): Promise<void>;
}

export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const appEnv = { NODE_ENV: 'test', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, IMPORT_SCHEDULER: 'off', ...env };
  // The domain from the same configuration as the app (policies such as AUTH_FAILURE_LIMIT).
  const t = await createTestDb({ env: appEnv });
  const config = loadConfig(appEnv);
  const app = await createApp({ config, db: t.database.db, domain: t.domain, logger: createLogger('silent') });
  server.on('request', app.listener);
  server.on('upgrade', app.upgrade);
  return {
    t,
    app,
    url: `http://127.0.0.1:${port}`,
    config,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
      await t.close();
    },
  };
}
