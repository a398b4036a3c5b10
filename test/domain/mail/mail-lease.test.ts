// A lease per outbox message: two processes sending from one outbox never
// send the same mail twice, also when a mail's lease runs out while it waits
// in one process's batch behind a slow SMTP server (the other process takes
// it over and the first one leaves it).
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, testDomain, type TestDb } from '../../setup/test-db.js';
import { buildOrg } from '../../factories/index.js';
import type { Domain } from '../../../src/domain/index.js';
import { DEFAULT_MAIL_POLICY, type MailPolicy } from '../../../src/domain/mail/mail.service.js';
import { createSmtpTransport } from '../../../src/integrations/mail/smtp-transport.js';
import { startSmtp, type SmtpStandIn } from '../../setup/smtp-stand-in.js';

let t: TestDb;
let smtp: SmtpStandIn;
beforeAll(async () => {
  t = await createTestDb();
  // Each message is accepted 150 ms after its data: a batch of 16 takes over 2 s, the lease is 1 s.
  smtp = await startSmtp({ dataDelayMs: 150 });
});
afterAll(async () => {
  await smtp.close();
  await t.close();
});

function worker(policy: Partial<MailPolicy>): Domain {
  return testDomain(t.database.db, {}, { mailPolicy: { ...DEFAULT_MAIL_POLICY, ...policy } });
}

describe('mail lease', () => {
  it('two workers on one outbox send each mail once, though leases run out while mail waits in a batch', async () => {
    const org = await buildOrg(t.domain);
    const n = 16;
    const addresses = Array.from({ length: n }, (_, i) => `lease-${i}-${crypto.randomBytes(3).toString('hex')}@example.com`);
    await t.domain.db.sql.run(
      `insert into mail_outbox (organization_id, id, to_address, template, data) select $1, gen_random_uuid(), a, 'welcome', '{}' from unnest($2::text[]) as a`,
      [org.id, addresses],
    );
    const policy: Partial<MailPolicy> = { claimSeconds: 1, batchSize: n, concurrency: 1 };
    const [a, b] = [worker(policy), worker(policy)];
    const transport = createSmtpTransport({ url: `smtp://127.0.0.1:${smtp.port}?tls.rejectUnauthorized=false`, from: 'Gatehouse <gatehouse@example.com>' });

    const left = async () =>
      (await t.domain.db.sql.one<{ n: number }>(`select count(*)::int as n from mail_outbox where organization_id = $1 and status = 'pending'`, [org.id])).n;
    // Worker A claims the whole batch first; B keeps asking (as the queue's passes do) and takes over what A's lease lost.
    const runA = a.mail.deliverDue(transport, { budgetMs: 30_000 });
    const runB = (async () => {
      const rounds = [];
      const until = Date.now() + 30_000;
      while ((await left()) > 0 && Date.now() < until) {
        rounds.push(await b.mail.deliverDue(transport, { budgetMs: 30_000 }));
        await new Promise((r) => setTimeout(r, 100));
      }
      return rounds;
    })();
    const [ra, rb] = await Promise.all([runA, runB]);
    const sentByB = rb.reduce((s, r) => s + r.sent, 0);

    const mine = smtp.messages.filter((m) => addresses.includes(String((m.to as { text: string }).text)));
    const counts = new Map<string, number>();
    for (const m of mine) counts.set(String((m.to as { text: string }).text), (counts.get(String((m.to as { text: string }).text)) ?? 0) + 1);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(counts.size).toBe(n);
    expect(ra.sent + sentByB).toBe(n);
    // The lease did run out: B took some over (otherwise this test would prove nothing).
    expect(sentByB).toBeGreaterThan(0);
    expect(ra.sent).toBeGreaterThan(0);

    const rows = await t.domain.db.sql.all<{ status: string; sent_attempts: number; claim_token: string | null }>(
      `select o.status, o.claim_token, (select count(*)::int from mail_attempts x where x.organization_id = o.organization_id and x.mail_id = o.id and x.outcome = 'sent') as sent_attempts
       from mail_outbox o where o.organization_id = $1`,
      [org.id],
    );
    expect(rows.every((r) => r.status === 'sent' && r.sent_attempts === 1 && r.claim_token === null)).toBe(true);
  }, 60_000);
});
