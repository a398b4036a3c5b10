// Runs every active Entra import every IMPORT_INTERVAL_MINUTES, in any number
// of Gatehouse processes at once. pg-boss (a job queue in the same PostgreSQL)
// hands each job to one worker of one process: a queue of policy "stately"
// keyed by integration id holds at most one queued and one running job per
// integration, and the run itself takes the integration's lease row, so two
// processes never run one integration at once even if a job were duplicated.
// Every process ticks: it asks the database which integrations are due and
// queues them (deduplicated by the queue), so no process is special.
import PgBoss from 'pg-boss';
import type { ConnectionSettings } from '../infra/postgres/client.js';
import type { Domain } from '../domain/index.js';

export const IMPORT_QUEUE = 'gatehouse-import-sync';

interface LogFn {
  (obj: object, msg?: string): void;
}
export interface SchedulerLogger {
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

export interface ImportSchedulerOptions {
  readonly domain: Domain;
  /** The database the domain uses. */
  readonly connection: ConnectionSettings;
  readonly intervalMinutes: number;
  readonly logger: SchedulerLogger;
  /** How often this process looks for due integrations (default 60 s). */
  readonly tickSeconds?: number;
  /** How often its worker polls the queue (default 2 s). */
  readonly pollingSeconds?: number;
  /** The process's scheduler's job queue (src/scheduler/scheduler.ts); absent: a pg-boss of its own. */
  readonly shared?: SharedQueue;
}

/** A pg-boss instance owned by someone else (the scheduler), and when it is started. */
export interface SharedQueue {
  readonly boss: PgBoss;
  readonly ready: Promise<void>;
}

export interface ImportScheduler {
  /** Resolves once pg-boss is started and the worker listens. */
  readonly ready: Promise<void>;
  /** Queues the integrations due now; returns how many were queued. */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

/** pg-boss connects on its own (small) pool to the domain's database: a server URL or the embedded PGlite socket. */
export function pgBossConnection(connection: ConnectionSettings): PgBoss.DatabaseOptions {
  return { ...connection };
}

/**
 * Creates the queue once. pg-boss creates a table partition per queue, and
 * processes starting together deadlock on that DDL (seen: "deadlock
 * detected"): the loser retries and then finds the queue.
 */
async function ensureQueue(boss: PgBoss): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (await boss.getQueue(IMPORT_QUEUE)) return;
      await boss.createQueue(IMPORT_QUEUE, { name: IMPORT_QUEUE, policy: 'stately', retryLimit: 0 });
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
    }
  }
}

export function startImportScheduler(opts: ImportSchedulerOptions): ImportScheduler {
  const { domain, logger, intervalMinutes } = opts;
  const boss =
    opts.shared?.boss ??
    new PgBoss({
      ...pgBossConnection(opts.connection),
      application_name: 'gatehouse-import',
      max: 2,
      schedule: false, // no cron: each process ticks (below)
      supervise: true,
      migrate: true,
    });
  if (!opts.shared) boss.on('error', (err: unknown) => logger.error({ err }, 'import scheduler: job queue error'));

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const tick = async (): Promise<number> => {
    const due = await domain.imports.due(intervalMinutes);
    let queued = 0;
    for (const d of due) {
      const jobId = await boss.send(IMPORT_QUEUE, d, { singletonKey: d.id, retryLimit: 0, expireInMinutes: 30 });
      if (jobId) queued++;
    }
    return queued;
  };

  const ready = (async () => {
    if (opts.shared) await opts.shared.ready;
    else await boss.start();
    await ensureQueue(boss);
    await boss.work<{ organizationId: string; id: string }>(IMPORT_QUEUE, { pollingIntervalSeconds: opts.pollingSeconds ?? 2, batchSize: 1 }, async (jobs) => {
      for (const job of jobs) {
        const r = await domain.imports.runScheduled(job.data.organizationId, job.data.id, intervalMinutes);
        if (r.status === 'failed') logger.warn({ integrationId: r.integrationId, code: r.errorCode, error: r.error }, 'Entra import failed');
        else if (r.status === 'success') {
          logger.info({ integrationId: r.integrationId, added: r.added, updated: r.updated, removed: r.removed, total: r.total, durationMs: r.durationMs }, 'Entra import ran');
        }
      }
    });
    if (stopped) return;
    timer = setInterval(() => {
      tick().catch((err: unknown) => logger.error({ err }, 'import scheduler: tick failed'));
    }, (opts.tickSeconds ?? 60) * 1000);
    timer.unref();
    void tick().catch((err: unknown) => logger.error({ err }, 'import scheduler: tick failed'));
  })();
  ready.catch((err: unknown) => logger.error({ err }, 'import scheduler: could not start'));

  return {
    ready,
    tick,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await ready.catch(() => undefined);
      try {
        // A shared queue is stopped by its owner (after this worker's jobs finish).
        if (opts.shared) await boss.offWork(IMPORT_QUEUE);
        else await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      } catch (err) {
        logger.warn({ err }, 'import scheduler: stop failed');
      }
    },
  };
}
