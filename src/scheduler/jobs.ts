// Every background job of a Gatehouse process, registered with the one
// scheduler (src/scheduler/scheduler.ts) by createApp. To add one, add an entry
// here: a unique `gatehouse-…` name, `cron` (UTC, once across processes) or
// `everySeconds`, and `run` (a domain call; what it returns is logged at debug).
import type { Domain } from '../domain/index.js';
import type { PostgresDb } from '../infra/postgres/client.js';
import { analyseStale } from '../infra/postgres/statistics.js';
import type { BackgroundJob } from './scheduler.js';
import { emitPassedWindows } from '../domain/access/access-windows.js';
import type { SchedulerLogger } from './queue.js';

export const JOB = {
  statistics: 'gatehouse-statistics',
  samlMetadataRefresh: 'gatehouse-saml-metadata-refresh',
  purgeSessions: 'gatehouse-purge-sessions',
  purgeRateLimits: 'gatehouse-purge-rate-limits',
  purgeSaml: 'gatehouse-purge-saml',
  accessWindows: 'gatehouse-access-windows',
  purgeAccessFeed: 'gatehouse-purge-access-feed',
  purgeAudit: 'gatehouse-purge-audit',
  purgeDeliveryLog: 'gatehouse-purge-delivery-log',
} as const;

export function backgroundJobs(deps: { domain: Domain; db: PostgresDb; logger: SchedulerLogger; accessWindowsSeconds?: number; accessRetentionDays?: number; auditRetentionDays?: number }): BackgroundJob[] {
  const { domain, db, logger } = deps;
  return [
    // Fresh planner statistics while Entra's first cycle fills the directory (see infra/postgres/statistics.ts).
    { name: JOB.statistics, everySeconds: 5, expireInSeconds: 600, run: () => analyseStale(db) },
    // The daily refresh of imported metadata URLs: each due organisation is claimed by one run.
    {
      name: JOB.samlMetadataRefresh,
      cron: '*/15 * * * *',
      run: async () => {
        const results = await domain.saml.refreshDue();
        for (const r of results) {
          if (r.error) logger.warn({ organizationId: r.organizationId, error: r.error }, 'SAML metadata refresh failed');
          else logger.info({ organizationId: r.organizationId }, 'SAML metadata refreshed');
        }
        return results.length;
      },
    },
    // Rows that only grow otherwise: ended sessions, past rate-limit windows, expired SAML request ids and replay entries.
    { name: JOB.purgeSessions, cron: '*/5 * * * *', run: () => domain.sessions.purgeExpired() },
    { name: JOB.purgeRateLimits, cron: '* * * * *', run: () => domain.rateLimits.purge() },
    { name: JOB.purgeSaml, cron: '*/5 * * * *', run: () => domain.saml.purgeExpired() },
    // Validity windows that passed produce their per-lock changes (access-windows.ts).
    { name: JOB.accessWindows, everySeconds: deps.accessWindowsSeconds ?? 15, run: () => emitPassedWindows(domain.db) },
    // Access feed retention: entries older than ACCESS_FEED_RETENTION_DAYS; older cursors get cursor_expired.
    { name: JOB.purgeAccessFeed, cron: '41 * * * *', run: () => domain.access.purgeFeed(deps.accessRetentionDays ?? 30) },
    // Audit trail retention: events older than AUDIT_RETENTION_DAYS (README, Configuration).
    { name: JOB.purgeAudit, cron: '23 4 * * *', expireInSeconds: 3600, run: () => domain.audit.purgeOlderThan(deps.auditRetentionDays ?? 400) },
    // The outboxes' logs: webhook deliveries and mail (with their attempts) past their retention, a batch of each per run.
    { name: JOB.purgeDeliveryLog, cron: '*/2 * * * *', run: async () => (await domain.webhooks.purgeLog()) + (await domain.mail.purgeLog()) },
  ];
}
