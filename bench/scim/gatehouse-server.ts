// Gatehouse as the benchmark runs it: the real app on real PostgreSQL
// (DATABASE_URL), in its own process, listening on 127.0.0.1 port 0.
// Prints {"port": N} once ready.
import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/app.js';
import { createDomain } from '../../src/domain/index.js';
import { createLogger } from '../../src/http/logger.js';
import { openDatabase } from '../../src/infra/postgres/database.js';

const config = loadConfig();
const database = await openDatabase({ url: config.database.url, dataDir: config.dataDir, poolSize: config.database.poolSize });
const domain = createDomain(database.db, config.secret!);
const app = await createApp({ config, db: database.db, domain, logger: createLogger('silent') });
const server = http.createServer(app.listener);
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.on('SIGTERM', () => {
  server.close();
  void database.close().then(() => process.exit(0));
});
