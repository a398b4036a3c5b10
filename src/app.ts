// The composition root: wires the domain into the three edges by hand.
import type { IncomingMessage, RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';
import express from 'express';
import type { PostgresDb } from './infra/postgres/client.js';
import type { Config } from './config.js';
import type { Domain } from './domain/index.js';
import type { Logger } from './http/logger.js';
import { jsonErrorHandler } from './http/errors.js';
import { createMetrics } from './http/metrics.js';
import { TRUST_PROXY } from './http/client-ip.js';
import { requestContext, requestTracker } from './http/request-context.js';
import { startImportScheduler } from './scheduler/import-scheduler.js';
import { startDeliveryWorker } from './scheduler/delivery-worker.js';
import { createScheduler, type Scheduler } from './scheduler/scheduler.js';
import { backgroundJobs } from './scheduler/jobs.js';
import { createHttpWebhookSender } from './integrations/webhooks/http-sender.js';
import { createSmtpTransport } from './integrations/mail/smtp-transport.js';
import { createGraphqlEdge } from './graphql/index.js';
import { isScimUrl, scimEdge } from './scim/router.js';
import { samlRoutes } from './saml/routes.js';
import { adminConsole } from './admin-console/router.js';

export interface AppDeps {
  readonly config: Config;
  /** The database the domain runs on (its pool, for metrics, statistics and the job queue). */
  readonly db: PostgresDb;
  readonly domain: Domain;
  readonly logger: Logger;
  /** Background work (the job queue, the import scheduler, the delivery worker) starts once this resolves; absent: at once. */
  readonly backgroundStart?: Promise<void>;
}

export interface App {
  /** What the HTTP server runs: SCIM requests go to the SCIM edge (bare node:http), the rest to the Express app. */
  readonly listener: RequestListener;
  /** What the HTTP server runs on an upgrade: GraphQL subscriptions over WebSocket on /graphql. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The background-job scheduler of this process (null with SCHEDULER=off). */
  readonly scheduler: Scheduler | null;
  /** Subscribers of per-lock changes attached in this process. */
  readonly subscriberCount: () => number;
  /** Stops background work started by the edges (schedulers). */
  close(): Promise<void>;
}

export async function createApp(deps: AppDeps): Promise<App> {
  const { config, db, domain, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', TRUST_PROXY);

  const metrics = createMetrics(() => db.poolStats(), () => domain.guard.heldEverywhere(), () => db.replicaStatus());
  const track = requestTracker(logger, metrics);
  app.use(requestContext(app, track));

  // SCIM 2.0 (Entra provisioning), the busiest edge, is served beside Express, not through it:
  // its own routing, body reading, auth, errors and 404s (see src/scim/router.ts).
  const scim = scimEdge({ domain, config, track });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await db.ping();
    // Replicas are reported, never required: one that is down or lagging is skipped and reads go to the primary.
    const replicas = db.replicaStatus();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'database unreachable', ...(replicas.length > 0 ? { replicas } : {}) });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const closers: (() => Promise<void>)[] = [];
  // The one scheduler of background jobs (src/scheduler/jobs.ts: statistics, SAML metadata refresh,
  // purges); each run happens in one process. It lends its job queue to imports and deliveries.
  const scheduler = config.scheduler ? createScheduler({ connection: db.connection, logger }) : null;
  if (scheduler) for (const job of backgroundJobs({ domain, db, logger, accessWindowsSeconds: config.access.windowsIntervalSeconds, accessRetentionDays: config.access.retentionDays, auditRetentionDays: config.audit.retentionDays })) scheduler.register(job);
  const shared = scheduler ? { boss: scheduler.boss, ready: scheduler.ready } : undefined;
  // Background work starts when deps.backgroundStart says (at once without it), unless the app closed first.
  let closed = false;
  const startBackground = (): void => {
    if (closed) return;
    // Entra group import: scheduled runs through the job queue (IMPORT_SCHEDULER=off disables).
    if (config.import.scheduler && domain.imports.canRun) {
      const imports = startImportScheduler({ domain, connection: db.connection, intervalMinutes: config.import.intervalMinutes, logger, shared });
      closers.push(() => imports.stop());
    }
    // Webhooks and mail: the delivery worker on the job queue (DELIVERY_WORKER=off disables it in this process).
    if (config.events.deliveryWorker) {
      const webhookSender = createHttpWebhookSender({ timeoutMs: config.events.webhookTimeoutSeconds * 1000, allowPrivateNetworks: config.events.webhookAllowPrivateNetworks });
      const mailTransport = config.mail.smtpUrl ? createSmtpTransport({ url: config.mail.smtpUrl, from: config.mail.from }) : null;
      const worker = startDeliveryWorker({ domain, connection: db.connection, logger, webhookSender, mailTransport, shared });
      closers.push(async () => {
        await worker.stop();
        webhookSender.close();
        mailTransport?.close();
      });
    }
    if (scheduler) {
      void scheduler.start().catch(() => undefined);
      // Last: the workers above stop first, then the queue they share.
      closers.push(() => scheduler.stop());
    }
  };
  void (deps.backgroundStart ?? Promise.resolve()).then(startBackground);
  const graphql = await createGraphqlEdge({ config, domain, logger });
  app.use('/graphql', graphql.router);
  closers.unshift(() => graphql.close());
  const saml = samlRoutes({ config, domain, logger });
  app.use(saml.router);

  // Admin console (/admin, /admin/api): its front end is bundled here, once.
  app.use(await adminConsole({ config, domain }));

  // Where a sign-in without RelayState lands: the signed-in member (401 when not signed in).
  app.get('/', (_req, res) => {
    res.redirect(303, '/me');
  });

  app.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `No route for ${req.method} ${req.path}` });
  });
  app.use(jsonErrorHandler);

  return {
    listener: (req, res) => (isScimUrl(req.url ?? '') ? scim(req, res) : app(req, res)),
    upgrade: (req, socket, head) => graphql.upgrade(req, socket, head),
    subscriberCount: () => graphql.hub.subscriberCount,
    scheduler,
    async close() {
      closed = true;
      for (const c of closers) await c();
    },
  };
}
