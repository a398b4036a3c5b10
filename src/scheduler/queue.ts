// What the scheduler, the Entra import scheduler and the delivery worker share
// about pg-boss: its connection, creating a queue, and a worker on a queue of
// one's own or on the scheduler's (shared) pg-boss, with a clock that offers
// work.
import PgBoss from 'pg-boss';
import type { ConnectionSettings } from '../infra/postgres/client.js';

interface LogFn {
  (obj: object, msg?: string): void;
}
export interface SchedulerLogger {
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
}

/** A pg-boss instance owned by someone else (the scheduler), and when it is started. */
export interface SharedQueue {
  readonly boss: PgBoss;
  readonly ready: Promise<void>;
}

/** pg-boss connects on its own (small) pool to the domain's database: a server URL or the embedded PGlite socket. */
export function pgBossConnection(connection: ConnectionSettings): PgBoss.DatabaseOptions {
  return { ...connection };
}

/**
 * Creates a queue once. pg-boss creates a table partition per queue, and
 * processes starting together deadlock on that DDL (seen: "deadlock
 * detected"): the loser retries and then finds the queue.
 */
export async function ensureQueue(boss: PgBoss, name: string, policy: 'stately' | 'short' | 'singleton' | 'standard'): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (await boss.getQueue(name)) return;
      await boss.createQueue(name, { name, policy, retryLimit: 0 });
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
    }
  }
}

export interface QueueWorkerOptions<T extends object> {
  /** Names the worker in log lines ("import scheduler"). */
  readonly label: string;
  readonly queue: string;
  readonly policy: 'stately' | 'short';
  /** The database (pg-boss keeps its queue there, on a small pool of its own when not shared). */
  readonly connection: ConnectionSettings;
  /** application_name of an own pg-boss's connections. */
  readonly applicationName: string;
  readonly logger: SchedulerLogger;
  /** The process's scheduler's job queue; absent: a pg-boss of its own. */
  readonly shared?: SharedQueue;
  readonly pollingSeconds: number;
  /** Takes the queue's jobs (one at a time). */
  work(jobs: PgBoss.Job<T>[]): Promise<void>;
  /** Offers work to the queue, on this process's clock: once when the worker listens, then every `tickMs`. */
  tick(boss: PgBoss): Promise<unknown>;
  readonly tickMs: number;
}

export interface QueueWorker {
  readonly boss: PgBoss;
  /** Resolves once pg-boss is started and the worker listens. */
  readonly ready: Promise<void>;
  /** Stops the clock and the worker; an own pg-boss is stopped after its jobs finish, a shared one by its owner. */
  stop(): Promise<void>;
}

export function startQueueWorker<T extends object>(opts: QueueWorkerOptions<T>): QueueWorker {
  const { label, logger } = opts;
  const boss =
    opts.shared?.boss ??
    new PgBoss({
      ...pgBossConnection(opts.connection),
      application_name: opts.applicationName,
      max: 2,
      schedule: false, // no cron: each process ticks
      supervise: true,
      migrate: true,
    });
  if (!opts.shared) boss.on('error', (err: unknown) => logger.error({ err }, `${label}: job queue error`));
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = () => void opts.tick(boss).catch((err: unknown) => logger.error({ err }, `${label}: tick failed`));

  const ready = (async () => {
    if (opts.shared) await opts.shared.ready;
    else await boss.start();
    await ensureQueue(boss, opts.queue, opts.policy);
    await boss.work<T>(opts.queue, { pollingIntervalSeconds: opts.pollingSeconds, batchSize: 1 }, opts.work);
    if (stopped) return;
    timer = setInterval(tick, opts.tickMs);
    timer.unref();
    tick();
  })();
  ready.catch((err: unknown) => logger.error({ err }, `${label}: could not start`));

  return {
    boss,
    ready,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await ready.catch(() => undefined);
      try {
        if (opts.shared) await boss.offWork(opts.queue);
        else await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      } catch (err) {
        logger.warn({ err }, `${label}: stop failed`);
      }
    },
  };
}
