// Gatehouse as the benchmark runs it: the real app on real PostgreSQL
// (DATABASE_URL, reached as DATABASE_POOL_MODE says), in its own process, listening on 127.0.0.1 port 0.
// With OTEL_EXPORTER_OTLP_ENDPOINT set, tracing starts first, as in src/server.ts.
// Prints {"port": N, "otelModules": M} once ready (M: OpenTelemetry modules loaded).
import 'reflect-metadata';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config.js';

const config = loadConfig();
const tracing = config.telemetry.tracing ? await (await import('../../src/telemetry/tracing.js')).startTracing() : undefined;
const { createApp } = await import('../../src/app.js');
const { createDomain } = await import('../../src/domain/index.js');
const { createLogger } = await import('../../src/http/logger.js');
const { openDatabase } = await import('../../src/infra/postgres/database.js');

const database = await openDatabase({
  url: config.database.url,
  dataDir: config.dataDir,
  poolSize: config.database.poolSize,
  poolMode: config.database.poolMode,
  listenUrl: config.database.listenUrl,
});
const domain = createDomain(database.db, config.secret!);
const app = await createApp({ config, db: database.db, domain, logger: createLogger('silent') });
const server = http.createServer(app.listener);
server.keepAliveTimeout = 65_000;
// Modules of the OpenTelemetry SDK and instrumentations (the API alone is a no-op, and prom-client loads it anyway).
const otelModules = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('@opentelemetry/') && !f.includes('@opentelemetry/api/')).length;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port, otelModules }) + '\n');
});
process.on('SIGTERM', () => {
  server.close();
  void database.close().then(async () => {
    await tracing?.shutdown();
    process.exit(0);
  });
});
