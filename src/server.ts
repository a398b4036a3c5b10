// config → database → migrate → createApp → listen; graceful shutdown.
import 'reflect-metadata';
import http from 'node:http';
import { ConfigError, loadConfig } from './config.js';
import { createApp } from './app.js';
import { createDomainFromConfig } from './compose.js';
import { createLogger } from './http/logger.js';
import { migrate } from './infra/postgres/migrate.js';
import { openDatabase } from './infra/postgres/database.js';
import { resolveMasterSecret } from './infra/master-secret.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`gatehouse: invalid configuration: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  const logger = createLogger(config.logLevel);
  const secret = resolveMasterSecret(config.secret, config.dataDir, (m) => logger.warn(m));
  const database = await openDatabase({ url: config.database.url, dataDir: config.dataDir, poolSize: config.database.poolSize });
  const applied = await migrate(database.connection);
  logger.info({ applied, database: config.database.url ? 'postgresql' : `embedded PGlite in ${config.dataDir}` }, 'database ready');

  const domain = createDomainFromConfig(database.db, secret, config);
  const app = await createApp({ config, db: database.db, domain, logger });
  const server = http.createServer(app.listener);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(config.http.port, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  logger.info({ port, publicUrl: config.http.publicUrl }, `Gatehouse listening on port ${port}`);

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // Stop accepting, let in-flight requests finish, close idle keep-alive sockets.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const force = setTimeout(() => server.closeAllConnections(), 25_000);
    await closed;
    clearTimeout(force);
    logger.debug('http server closed');
    await app.close();
    logger.debug('background work stopped');
    await database.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`gatehouse: failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
