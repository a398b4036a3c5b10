// The one scheduler of background jobs. Every Gatehouse process may run it
// (SCHEDULER=on); pg-boss, a job queue in the same PostgreSQL, makes each run
// of a job happen in exactly one process:
// - a `cron` job is registered with pg-boss `schedule()`: the cron clock of
//   all processes together sends one job per due minute (pg-boss takes a
//   lock-free "cron time" row and a 60 s singleton per schedule);
// - an `everySeconds` job is offered by every process on its own clock and
//   throttled by the queue to one per period (`singletonSeconds`).
// Each job has its own queue of policy "stately" (at most one queued and one
// running), so a slow run is never doubled and runs never pile up; a worker of
// one process takes each job. The scheduler also lends its queue (`boss`) to
// the Entra import scheduler and the delivery worker, so a process holds one
// pg-boss instance.
//
// A job is added in ./jobs.ts (createApp registers each there before `scheduler.start()`), e.g.
//   { name: JOB.purgeAudit, cron: '23 4 * * *', run: () => domain.audit.purgeOlderThan(days) }
import PgBoss from 'pg-boss';
import type { ConnectionSettings } from '../infra/postgres/client.js';
import { ensureQueue, pgBossConnection, type SchedulerLogger } from './queue.js';

export interface BackgroundJob {
  /** The job's queue: `gatehouse-<what>`, unique; letters, digits, `-`, `_`, `.`. */
  readonly name: string;
  /** A 5-field cron expression in UTC (minute granularity): due runs happen once across all processes. */
  readonly cron?: string;
  /** Or: every this many seconds (1–3600), once per period across all processes. */
  readonly everySeconds?: number;
  /** The work; what it returns goes to the debug log. A throw is logged; the next due run tries again. */
  run(): Promise<unknown>;
  /** A run not finished after this long is given up by the queue (default 900 s). */
  readonly expireInSeconds?: number;
}

export interface Scheduler {
  /** The job queue, for the import scheduler and the delivery worker (started once `ready`). */
  readonly boss: PgBoss;
  /** Adds a job. Before `start()`, or after it (then it is set up at once). */
  register(job: BackgroundJob): void;
  /** Starts pg-boss, creates each job's queue and schedule, and its worker. */
  start(): Promise<void>;
  /** Resolves once started. */
  readonly ready: Promise<void>;
  /** Queues one run of `name` now (the queue still runs it in one process only); the job id, or null when one is already waiting. */
  trigger(name: string): Promise<string | null>;
  /** The registered jobs' names. */
  jobs(): string[];
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  readonly connection: ConnectionSettings;
  readonly logger: SchedulerLogger & { debug?: (obj: object, msg?: string) => void };
  /** How often workers look for a job (default 2 s). */
  readonly pollingSeconds?: number;
}

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export function createScheduler(opts: SchedulerOptions): Scheduler {
  const { logger } = opts;
  const boss = new PgBoss({
    ...pgBossConnection(opts.connection),
    application_name: 'gatehouse-scheduler',
    max: 3,
    schedule: true,
    supervise: true,
    migrate: true,
  });
  boss.on('error', (err: unknown) => logger.error({ err }, 'scheduler: job queue error'));

  const jobs = new Map<string, BackgroundJob>();
  const timers: NodeJS.Timeout[] = [];
  let started: Promise<void> | undefined;
  let stopped = false;
  let resolveReady!: () => void;
  let rejectReady!: (e: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  const offer = (job: BackgroundJob) =>
    boss.send(job.name, {}, { singletonSeconds: job.everySeconds, retryLimit: 0, expireInSeconds: job.expireInSeconds ?? 900 }).catch((err: unknown) => {
      if (!stopped) logger.warn({ err, job: job.name }, 'scheduler: could not queue a run');
      return null;
    });

  const setUp = async (job: BackgroundJob) => {
    await ensureQueue(boss, job.name, 'stately');
    await boss.work(job.name, { pollingIntervalSeconds: opts.pollingSeconds ?? 2, batchSize: 1 }, async () => {
      try {
        const result = await job.run();
        logger.debug?.({ job: job.name, result }, 'background job ran');
      } catch (err) {
        // Logged, not retried: the next due run tries again.
        logger.warn({ err, job: job.name }, 'background job failed');
      }
    });
    if (job.cron) await boss.schedule(job.name, job.cron, {}, { tz: 'UTC', retryLimit: 0, expireInSeconds: job.expireInSeconds ?? 900 });
    if (job.everySeconds) {
      const timer = setInterval(() => void offer(job), job.everySeconds * 1000);
      timer.unref();
      timers.push(timer);
      void offer(job);
    }
  };

  return {
    boss,
    register(job) {
      if (!NAME.test(job.name)) throw new Error(`scheduler: bad job name ${JSON.stringify(job.name)}`);
      if (jobs.has(job.name)) throw new Error(`scheduler: job ${job.name} is registered twice`);
      if (!job.cron === !job.everySeconds) throw new Error(`scheduler: job ${job.name} needs either cron or everySeconds`);
      if (job.everySeconds !== undefined && !(Number.isInteger(job.everySeconds) && job.everySeconds >= 1 && job.everySeconds <= 3600)) {
        throw new Error(`scheduler: job ${job.name}: everySeconds must be a whole number from 1 to 3600`);
      }
      jobs.set(job.name, job);
      if (started) {
        void started.then(() => (stopped ? undefined : setUp(job))).catch((err: unknown) => logger.error({ err, job: job.name }, 'scheduler: could not set up a job'));
      }
    },
    start() {
      started ??= (async () => {
        await boss.start();
        for (const job of jobs.values()) {
          if (stopped) return;
          await setUp(job);
        }
      })().then(resolveReady, (err: unknown) => {
        logger.error({ err }, 'scheduler: could not start');
        rejectReady(err);
      });
      return ready;
    },
    ready,
    async trigger(name) {
      const job = jobs.get(name);
      if (!job) throw new Error(`scheduler: no job ${name}`);
      await ready;
      return boss.send(name, {}, { retryLimit: 0, expireInSeconds: job.expireInSeconds ?? 900 });
    },
    jobs: () => [...jobs.keys()],
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      if (!started) return;
      await started.catch(() => undefined);
      try {
        await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      } catch (err) {
        logger.warn({ err }, 'scheduler: stop failed');
      }
    },
  };
}
