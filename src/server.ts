// config → database → migrate → createApp → listen; graceful shutdown.
import 'reflect-metadata';
import http from 'node:http';
import { ConfigError, loadConfig } from './config.js';

// Everything else is imported after tracing has started (when it is on): it
// instruments modules as they load. Off, nothing of OpenTelemetry loads.
async function modules() {
  const [app, domain, logger, graph, migrate, database, masterSecret, webhooks, version] = await Promise.all([
    import('./app.js'),
    import('./domain/index.js'),
    import('./http/logger.js'),
    import('./integrations/entra-graph/graph-client.js'),
    import('./infra/postgres/migrate.js'),
    import('./infra/postgres/database.js'),
    import('./infra/master-secret.js'),
    import('./domain/webhooks/webhook.service.js'),
    import('./version.js'),
  ]);
  return {
    ...app,
    ...domain,
    ...logger,
    ...graph,
    ...migrate,
    ...database,
    ...masterSecret,
    ...webhooks,
    ...version,
  };
}

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
  const tracing = config.telemetry.tracing ? await (await import('./telemetry/tracing.js')).startTracing() : undefined;
  const { createApp, createDomain, createLogger, createEntraGraphClient, migrate, openDatabase, resolveMasterSecret, DEFAULT_WEBHOOK_POLICY, VERSION } = await modules();
  const logger = createLogger(config.logLevel);
  if (tracing) logger.info('OpenTelemetry tracing on');
  const secret = resolveMasterSecret(config.secret, config.dataDir, (m) => logger.warn(m));
  const database = await openDatabase({ url: config.database.url, dataDir: config.dataDir, poolSize: config.database.poolSize });
  const applied = await migrate(database.connection);
  logger.info({ applied, database: config.database.url ? 'postgresql' : `embedded PGlite in ${config.dataDir}` }, 'database ready');

  const domain = createDomain(
    database.db,
    secret,
    {
      sessions: { idleMinutes: config.saml.sessionIdleMinutes, absoluteHours: config.saml.sessionAbsoluteHours },
      authFailures: { maxFailures: config.authFailureLimit, windowSeconds: 60 },
    },
    {
      entraDirectory: createEntraGraphClient(config.import),
      // A delivery is held by its sender for twice the request deadline, plus a margin.
      webhookPolicy: { ...DEFAULT_WEBHOOK_POLICY, claimSeconds: 2 * config.events.webhookTimeoutSeconds + 10 },
      userAgent: `Gatehouse-Webhooks/${VERSION}`,
      publicUrl: config.http.publicUrl,
    },
  );
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
    await tracing?.shutdown();
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
