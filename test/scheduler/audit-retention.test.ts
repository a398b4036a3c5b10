// Audit retention: a job of the one scheduler deletes audit events
// older than AUDIT_RETENTION_DAYS, across organisations, and keeps the rest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildOrg } from '../factories/index.js';
import { JOB } from '../../src/scheduler/jobs.js';
import { loadConfig } from '../../src/config.js';

let ta: TestApp;
beforeAll(async () => {
  ta = await createTestApp({ SCHEDULER: 'on', AUDIT_RETENTION_DAYS: '30' });
  await ta.app.scheduler!.ready;
}, 60_000);
afterAll(async () => {
  await ta?.close();
});

describe('audit retention', () => {
  it('AUDIT_RETENTION_DAYS defaults to 400 and refuses nonsense', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).audit.retentionDays).toBe(400);
    expect(() => loadConfig({ NODE_ENV: 'test', AUDIT_RETENTION_DAYS: '0' })).toThrow(/AUDIT_RETENTION_DAYS/);
  });

  it('the scheduled job deletes events older than the retention of every organisation and keeps younger ones', async () => {
    const sql = ta.t.domain.db.sql;
    const a = await buildOrg(ta.t.domain);
    const b = await buildOrg(ta.t.domain);
    for (const [org, age] of [[a.id, 31], [a.id, 29], [b.id, 400], [b.id, 1]] as const) {
      await sql.run(
        `insert into audit_events (organization_id, at, actor_kind, actor_label, action, outcome) values ($1, now() - make_interval(days => $2), 'system', 'test', 'test.retention', 'success')`,
        [org, age],
      );
    }
    const ages = async () =>
      (
        await sql.all<{ d: number }>(
          `select extract(day from now() - at)::int as d from audit_events where organization_id = any($1::uuid[]) and action = 'test.retention' order by at`,
          [[a.id, b.id]],
        )
      ).map((r) => r.d);
    expect(await ages()).toEqual([400, 31, 29, 1]);
    expect(ta.app.scheduler!.jobs()).toContain(JOB.purgeAudit);
    await ta.app.scheduler!.trigger(JOB.purgeAudit);
    const until = Date.now() + 60_000;
    while ((await ages()).length > 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(await ages()).toEqual([29, 1]);
  }, 120_000);
});
