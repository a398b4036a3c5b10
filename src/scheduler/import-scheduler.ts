// Runs every active Entra import every IMPORT_INTERVAL_MINUTES, in any number
// of Gatehouse processes at once. pg-boss (a job queue in the same PostgreSQL)
// hands each job to one worker of one process: a queue of policy "stately"
// keyed by integration id holds at most one queued and one running job per
// integration, and the run itself takes the integration's lease row, so two
// processes never run one integration at once even if a job were duplicated.
// Every process ticks: it asks the database which integrations are due and
// queues them (deduplicated by the queue), so no process is special.
import type PgBoss from 'pg-boss';
import type { ConnectionSettings } from '../infra/postgres/client.js';
import type { Domain } from '../domain/index.js';
import { startQueueWorker, type SchedulerLogger, type SharedQueue } from './queue.js';

export const IMPORT_QUEUE = 'gatehouse-import-sync';

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

export interface ImportScheduler {
  /** Resolves once pg-boss is started and the worker listens. */
  readonly ready: Promise<void>;
  /** Queues the integrations due now; returns how many were queued. */
  tick(): Promise<number>;
  stop(): Promise<void>;
}

export function startImportScheduler(opts: ImportSchedulerOptions): ImportScheduler {
  const { domain, logger, intervalMinutes } = opts;

  const queueDue = async (boss: PgBoss): Promise<number> => {
    const due = await domain.imports.due(intervalMinutes);
    let queued = 0;
    for (const d of due) {
      const jobId = await boss.send(IMPORT_QUEUE, d, { singletonKey: d.id, retryLimit: 0, expireInMinutes: 30 });
      if (jobId) queued++;
    }
    return queued;
  };

  const worker = startQueueWorker<{ organizationId: string; id: string }>({
    label: 'import scheduler',
    queue: IMPORT_QUEUE,
    policy: 'stately',
    connection: opts.connection,
    applicationName: 'gatehouse-import',
    logger,
    shared: opts.shared,
    pollingSeconds: opts.pollingSeconds ?? 2,
    work: async (jobs) => {
      for (const job of jobs) {
        const r = await domain.imports.runScheduled(job.data.organizationId, job.data.id, intervalMinutes);
        if (r.status === 'failed') logger.warn({ integrationId: r.integrationId, code: r.errorCode, error: r.error }, 'Entra import failed');
        else if (r.status === 'success') {
          logger.info({ integrationId: r.integrationId, added: r.added, updated: r.updated, removed: r.removed, total: r.total, durationMs: r.durationMs }, 'Entra import ran');
        }
      }
    },
    tick: queueDue,
    tickMs: (opts.tickSeconds ?? 60) * 1000,
  });

  return { ready: worker.ready, tick: () => queueDue(worker.boss), stop: () => worker.stop() };
}
