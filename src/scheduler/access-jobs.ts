// The access feed's periodic work, in every process (each run is idempotent,
// so processes need no coordination): validity windows that passed produce
// their per-lock changes. (To move onto the shared job scheduler once it
// exists.)
import type { Domain } from '../domain/index.js';
import { emitPassedWindows } from '../domain/access/access-windows.js';
import type { SchedulerLogger } from './import-scheduler.js';

export interface AccessJobs {
  stop(): Promise<void>;
}

export function startAccessJobs(opts: { domain: Domain; windowsIntervalSeconds: number; logger: SchedulerLogger }): AccessJobs {
  let running: Promise<unknown> = Promise.resolve();
  const windows = setInterval(() => {
    running = emitPassedWindows(opts.domain.db).catch((err: unknown) => opts.logger.warn({ err }, 'access feed: validity windows job failed'));
  }, opts.windowsIntervalSeconds * 1000);
  windows.unref();
  return {
    async stop() {
      clearInterval(windows);
      await running;
    },
  };
}
