// The one scheduler of background jobs: expired sessions,
// past rate-limit windows, expired SAML request ids and replay-cache entries are
// purged by jobs of the scheduler that createApp starts, scheduled through
// pg-boss `schedule()` so that one process runs each due job.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../setup/net.js';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { createScheduler } from '../../src/scheduler/scheduler.js';
import { JOB } from '../../src/scheduler/jobs.js';
import { createLogger } from '../../src/http/logger.js';

let ta: TestApp;
beforeAll(async () => {
  ta = await createTestApp({ SCHEDULER: 'on' });
  await ta.app.scheduler!.ready;
}, 60_000);
afterAll(async () => {
  await ta?.close();
});

describe('background jobs', () => {
  it('are scheduled through pg-boss schedule(), once for all processes', async () => {
    const rows = await ta.t.domain.db.sql.all<{ name: string; cron: string }>(`select name, cron from pgboss.schedule order by name`);
    const names = rows.map((r) => r.name);
    for (const job of [JOB.purgeSessions, JOB.purgeRateLimits, JOB.purgeSaml, JOB.samlMetadataRefresh, JOB.purgeDeliveryLog]) expect(names).toContain(job);
    expect(ta.app.scheduler!.jobs()).toEqual(expect.arrayContaining([JOB.statistics, JOB.purgeSessions, JOB.purgeRateLimits, JOB.purgeSaml, JOB.samlMetadataRefresh, JOB.purgeDeliveryLog]));
  });

  it('purge ended sessions, past rate-limit windows, expired SAML request ids and replay entries, and keep live ones', async () => {
    const sql = ta.t.domain.db.sql;
    const org = await buildOrg(ta.t.domain);
    const member = await buildMember(ta.t.domain, org.actor);
    const live = await ta.t.domain.sessions.start(org.id, member.id);
    await sql.run(
      `insert into sessions (organization_id, id, member_id, expires_at, last_seen_at) values
         ($1, $3, $2, now() - interval '1 minute', now() - interval '2 minutes'),
         ($1, $4, $2, now() + interval '1 hour', now() - interval '3 days')`,
      [org.id, member.id, crypto.randomBytes(32), crypto.randomBytes(32)],
    );
    await sql.run(
      `insert into rate_limits (organization_id, bucket, window_start, count) select $1, 'scim:ip:' || n, now() - interval '1 hour' - make_interval(mins => n), 3 from generate_series(1, 100) n`,
      [org.id],
    );
    await ta.t.domain.rateLimits.recordFailure('scim:ip:current', org.id);
    await sql.run(
      `insert into saml_requests (organization_id, id, expires_at, used_at) values ($1, 'old-used', now() - interval '2 days', now() - interval '2 days'),
         ($1, 'old-unused', now() - interval '2 days', null), ($1, 'current', now() + interval '5 minutes', null)`,
      [org.id],
    );
    await sql.run(`insert into saml_replay_cache (organization_id, assertion_id, expires_at) values ($1, 'gone', now() - interval '1 minute'), ($1, 'kept', now() + interval '1 hour')`, [
      org.id,
    ]);
    const count = async (table: string) => Number((await sql.one<{ n: string }>(`select count(*)::text as n from ${table} where organization_id = $1`, [org.id])).n);
    expect(await count('sessions')).toBe(3);
    expect(await count('rate_limits')).toBe(101);

    for (const job of [JOB.purgeSessions, JOB.purgeRateLimits, JOB.purgeSaml]) await ta.app.scheduler!.trigger(job);
    await waitFor(async () => (await count('sessions')) === 1 && (await count('rate_limits')) === 1 && (await count('saml_requests')) === 1 && (await count('saml_replay_cache')) === 1, 20_000);

    // What is still live stays: the session signs in, the current window still counts.
    expect((await ta.t.domain.sessions.authenticate(live.token)).id).toBe(member.id);
    expect((await sql.all<{ id: string }>(`select id from saml_requests where organization_id = $1`, [org.id])).map((r) => r.id)).toEqual(['current']);
    expect((await sql.all<{ bucket: string }>(`select bucket from rate_limits where organization_id = $1`, [org.id])).map((r) => r.bucket)).toEqual(['scim:ip:current']);
  });

  it('purge sent and failed mail past its retention (the outboxes\' log job), and keep the rest', async () => {
    const sql = ta.t.domain.db.sql;
    const org = await buildOrg(ta.t.domain);
    await sql.run(
      `insert into mail_outbox (organization_id, id, to_address, template, status, created_at) values
         ($1, gen_random_uuid(), 'old-sent@example.com', 'welcome', 'sent', now() - interval '91 days'),
         ($1, gen_random_uuid(), 'old-failed@example.com', 'welcome', 'failed', now() - interval '91 days'),
         ($1, gen_random_uuid(), 'recent@example.com', 'welcome', 'sent', now() - interval '1 day'),
         ($1, gen_random_uuid(), 'old-pending@example.com', 'welcome', 'pending', now() - interval '91 days')`,
      [org.id],
    );
    const left = async () => (await sql.all<{ to_address: string }>(`select to_address from mail_outbox where organization_id = $1 order by to_address`, [org.id])).map((r) => r.to_address);
    await ta.app.scheduler!.trigger(JOB.purgeDeliveryLog);
    await waitFor(async () => (await left()).length === 2, 20_000);
    expect(await left()).toEqual(['old-pending@example.com', 'recent@example.com']);
  });

  it('runs a periodic job once per period across processes', async () => {
    // A second "process": another pool and another scheduler on the same database, with the same job.
    const other: Database = await openDatabase({ url: ta.t.url, dataDir: '/nonexistent', poolSize: 2 });
    const runs: string[] = [];
    const schedulers = [createScheduler({ connection: ta.t.database.connection, logger: createLogger('silent'), pollingSeconds: 0.5 }), createScheduler({ connection: other.connection, logger: createLogger('silent'), pollingSeconds: 0.5 })];
    try {
      schedulers.forEach((s, i) => s.register({ name: 'gatehouse-test-periodic', everySeconds: 2, run: async () => void runs.push(`p${i}`) }));
      await Promise.all(schedulers.map((s) => s.start()));
      await waitFor(async () => runs.length >= 2, 30_000);
    } finally {
      await Promise.all(schedulers.map((s) => s.stop()));
      await other.close();
    }
    // Each period's job went to one worker: no two jobs of one time slot.
    const slots = await ta.t.domain.db.sql.all<{ n: number }>(
      `select count(*)::int as n from pgboss.job where name = 'gatehouse-test-periodic' group by singleton_on having count(*) > 1`,
    );
    expect(slots).toEqual([]);
  }, 60_000);
});
