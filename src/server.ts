// config → database → migrate → createApp → listen; graceful shutdown.
import 'reflect-metadata';
import http from 'node:http';
import { ConfigError, loadConfig } from './config.js';

/**
 * Which build this is, set by scripts/build.mjs: 'bundled' (dist/server.js,
 * dependencies inside) or 'traced' (dist/server-traced.js, dependencies
 * imported from node_modules); not defined when run from source (tsx).
 */
declare const GATEHOUSE_BUILD: 'bundled' | 'traced' | undefined;

// The rest of the server is imported only after tracing has started (when it
// is on): the instrumentations patch modules as they load. Off, nothing of
// OpenTelemetry is loaded.
async function serverModules() {
  const [app, compose, logger, migrate, masterSecret] = await Promise.all([
    import('./app.js'),
    import('./compose.js'),
    import('./http/logger.js'),
    import('./infra/postgres/migrate.js'),
    import('./infra/master-secret.js'),
  ]);
  return { ...app, ...compose, ...logger, ...migrate, ...masterSecret };
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
  if (config.telemetry.tracing && typeof GATEHOUSE_BUILD !== 'undefined' && GATEHOUSE_BUILD === 'bundled') {
    // OpenTelemetry patches express, pg and graphql as Node loads them from node_modules; bundled into
    // dist/ they never load so. With tracing on, the build that imports them from there runs instead.
    await import(new URL('./server-traced.js', import.meta.url).href);
    return;
  }
  const tracing = config.telemetry.tracing ? await (await import('./telemetry/tracing.js')).startTracing() : undefined;
  // The database opens while the rest of the server loads and the app is built: the embedded PGlite
  // opens its data directory in a worker thread meanwhile (src/infra/postgres/embedded.ts). Nothing is
  // sent to the database before it is open (the background jobs start after the server listens).
  const { beginOpeningDatabase } = await import('./infra/postgres/database.js');
  const opening = beginOpeningDatabase({
    url: config.database.url,
    dataDir: config.dataDir,
    poolSize: config.database.poolSize,
    poolMode: config.database.poolMode,
    listenUrl: config.database.listenUrl,
    replicaUrls: config.database.replicaUrls,
    replicaMaxLagSeconds: config.database.replicaMaxLagSeconds,
  });
  opening.opened.catch(() => undefined); // awaited below, after the modules
  // When each part of the start was done (ms since the process started), logged with 'database ready'.
  const at = { modules: 0, app: 0, database: 0 };
  void opening.opened.then(() => (at.database = Math.round(performance.now())), () => undefined);
  const { createApp, createDomainFromConfig, createLogger, migrate, resolveMasterSecret } = await serverModules();
  at.modules = Math.round(performance.now());
  const logger = createLogger(config.logLevel);
  if (tracing) logger.info({ build: typeof GATEHOUSE_BUILD === 'undefined' ? 'source' : GATEHOUSE_BUILD }, 'OpenTelemetry tracing on');
  const secret = resolveMasterSecret(config.secret, config.dataDir, (m) => logger.warn(m));
  const domain = createDomainFromConfig(opening.db, secret, config);
  // Background jobs (the job queue, imports, deliveries) start a second after the server listens:
  // on the embedded database their set-up statements (a transaction among them) would otherwise
  // queue before the first requests, a load balancer's readiness check the first of them.
  let listening!: () => void;
  const backgroundStart = new Promise<void>((resolve) => (listening = resolve));
  // The app (its GraphQL schema, Apollo, the console's bundle) needs no database to be built.
  const app = await createApp({ config, db: opening.db, domain, logger, backgroundStart });
  at.app = Math.round(performance.now());
  const database = await opening.opened;
  const applied = await migrate(database.connection, {
    lock: !database.embedded,
    onWait: () => logger.info('another process is migrating the database: waiting for it'),
  });
  // Milliseconds since the process started (performance.now()), for the operator restarting it.
  logger.info({ applied, database: config.database.url ? 'postgresql' : `embedded PGlite in ${config.dataDir}`, created: database.embedded?.created, atMs: Math.round(performance.now()), startAtMs: at }, 'database ready');

  const server = http.createServer(app.listener);
  server.on('upgrade', app.upgrade);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(config.http.port, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.http.port;
  logger.info({ port, publicUrl: config.http.publicUrl, atMs: Math.round(performance.now()) }, `Gatehouse listening on port ${port}`);
  setTimeout(listening, 1000).unref();

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
