// The Webhooks and Mail console pages walked in Chromium at 1280 px and
// 390 px: adding an endpoint (URL and events; the secret shown once), its
// delivery log with the receiver's response codes, manual redelivery,
// rotating the secret, disabling and enabling, an endpoint disabled for
// failing too long said clearly; the mail outbox (sent, pending, "not sent: no
// SMTP configured", failed, blocked) with Resend, and blocked addresses with
// Clear. All through GraphQL. Every walk fails on a console error, a failed
// request or an unexpected 4xx/5xx; screenshots go to test-artifacts/admin/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../setup/test-app.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { createHttpWebhookSender } from '../../src/integrations/webhooks/http-sender.js';
import { deliveryPass } from '../../src/scheduler/delivery-worker.js';
import { startReceiver, type Receiver } from '../setup/webhook-receiver.js';
import { waitForFence } from '../setup/fence.js';
import type { Browser } from './browser.js';
import { consoleSuite, newAdminPage, noHorizontalScroll, noProblems, shot } from './console-helpers.js';

let s: TestApp;
let browser: Browser;
let rx: Receiver;
let sender: ReturnType<typeof createHttpWebhookSender>;

consoleSuite((c) => ({ s, browser } = c));
beforeAll(async () => {
  rx = await startReceiver();
  sender = createHttpWebhookSender({ timeoutMs: 1500, allowPrivateNetworks: true });
});
afterAll(async () => {
  sender?.close();
  await rx?.close();
});

async function pass(): Promise<void> {
  await waitForFence(s.t.domain.db);
  await deliveryPass(s.t.domain, sender, null, 5000);
}

describe('console: webhooks and mail', () => {
  for (const width of [1280, 390]) {
    it(`webhooks at ${width} px: add (secret once), delivery log with codes, redeliver, rotate, disable and enable, failing-for-long shown`, async () => {
      const org = await buildOrg(s.t.domain, 'Acme Doors');
      // An endpoint Gatehouse disabled after failing for days.
      const { endpoint: dead } = await s.t.domain.webhooks.create(org.actor, { url: 'https://badges.example.com/hook', eventTypes: ['*'] });
      await s.t.domain.db.sql.run(
        `update webhook_endpoints set enabled = false, failing_since = now() - interval '4 days', disabled_at = now() - interval '1 day',
           disabled_reason = 'every delivery failed since 2026-12-02T09:00:00Z' where organization_id = $1 and id = $2`,
        [org.id, dead.id],
      );

      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      await page.goto(`${s.url}/admin/#webhooks`);
      await page.locator('#webhook-list').waitFor();
      const deadRow = page.locator(`li[data-endpoint="${dead.id}"]`);
      expect(await deadRow.locator('.webhook-health').getAttribute('data-state')).toBe('disabled-failing');
      expect(await deadRow.textContent()).toMatch(/Disabled: failing for too long.*every delivery failed since 2026-12-02/s);

      // Add one: URL and events; the secret is shown once.
      await page.fill('#webhook-url', `${rx.url}/status/500`);
      await page.locator('input[name="webhook-event"][value="member.created"]').check();
      await page.click('#webhook-add');
      await page.locator('#webhook-secret-value').waitFor();
      const secret = await page.inputValue('#webhook-secret-value');
      expect(secret).toMatch(/^whsec_/);
      const endpoints = await s.t.domain.webhooks.list(org.actor);
      const made = endpoints.find((e) => e.url.endsWith('/status/500'))!;
      expect(made.eventTypes).toEqual(['member.created']);
      await shot(page, `webhooks-added-${width}`);

      // An event: the receiver answers 500, the log shows it; Redeliver queues it again.
      await buildMember(s.t.domain, org.actor);
      await pass();
      const row = page.locator(`li[data-endpoint="${made.id}"]`);
      await row.locator('[data-action="log"]').click();
      await page.locator('#webhook-deliveries').waitFor();
      expect(await page.textContent('#webhook-deliveries')).toMatch(/member\.created[\s\S]*HTTP 500/);
      expect(page.url()).toContain(`endpoint=${made.id}`);
      await page.locator('#webhook-deliveries [data-action="redeliver"]').first().click();
      await page.locator('#toast', { hasText: 'Queued for redelivery' }).waitFor();
      const [delivery] = await s.t.domain.webhooks.deliveries(org.actor, { endpointId: made.id });
      expect(delivery).toMatchObject({ status: 'pending' });
      await shot(page, `webhooks-log-${width}`);

      // Rotate: a new secret, shown once; the old one signs beside it.
      await row.locator('[data-action="rotate"]').click();
      await page.locator('#webhook-secret h3', { hasText: 'New signing secret' }).waitFor();
      const rotated = await page.inputValue('#webhook-secret-value');
      expect(rotated).toMatch(/^whsec_/);
      expect(rotated).not.toBe(secret);
      await page.locator(`li[data-endpoint="${made.id}"]`, { hasText: 'previous secret also signs' }).waitFor();

      // Disable, then enable.
      await page.locator(`li[data-endpoint="${made.id}"] [data-action="disable"]`).click();
      await page.locator(`li[data-endpoint="${made.id}"] [data-action="enable"]`).waitFor();
      expect((await s.t.domain.webhooks.get(org.actor, made.id)).enabled).toBe(false);
      expect(await page.locator(`li[data-endpoint="${made.id}"] .webhook-health`).getAttribute('data-state')).toBe('disabled');
      await page.locator(`li[data-endpoint="${made.id}"] [data-action="enable"]`).click();
      await page.locator(`li[data-endpoint="${made.id}"] [data-action="disable"]`).waitFor();
      expect((await s.t.domain.webhooks.get(org.actor, made.id)).enabled).toBe(true);

      expect(await noHorizontalScroll(page)).toBe(true);
      await shot(page, `webhooks-${width}`);
      noProblems(w);
      await page.close();
    }, 120_000);

    it(`mail at ${width} px: the outbox by status with "not sent: no SMTP configured", Resend, blocked addresses with Clear`, async () => {
      const org = await buildOrg(s.t.domain, 'Acme Doors');
      const sql = s.t.domain.db.sql;
      await sql.run(
        `insert into mail_outbox (organization_id, id, to_address, template, status, attempts, last_error, last_smtp_code, sent_at) values
           ($1, gen_random_uuid(), 'sent@contoso.example', 'access_shared', 'sent', 1, null, null, now()),
           ($1, gen_random_uuid(), 'later@contoso.example', 'welcome', 'pending', 0, null, null, null),
           ($1, gen_random_uuid(), 'nosmtp@contoso.example', 'access_shared', 'unsent', 0, 'not sent: no SMTP configured', null, null),
           ($1, gen_random_uuid(), 'refused@contoso.example', 'admin_granted', 'failed', 3, 'connection refused', null, null),
           ($1, gen_random_uuid(), 'gone@contoso.example', 'access_shared', 'blocked', 0, 'not sent: the address is blocked (550 user unknown)', null, null)`,
        [org.id],
      );
      await sql.run(`insert into mail_blocked_addresses (organization_id, address, smtp_code, reason) values ($1, 'gone@contoso.example', 550, '5.1.1 User unknown')`, [org.id]);

      const { page, w } = await newAdminPage(s, browser.context, org.id, { width });
      await page.goto(`${s.url}/admin/#mail`);
      await page.locator('#mail-table').waitFor();
      const status = async (to: string) => page.locator('#mail-table tr', { hasText: to }).locator('.badge').textContent();
      expect(await status('sent@contoso.example')).toMatch(/sent/i);
      expect(await status('later@contoso.example')).toMatch(/pending|waiting/i);
      expect(await status('nosmtp@contoso.example')).toBe('not sent: no SMTP configured');
      expect(await status('refused@contoso.example')).toMatch(/failed/i);
      expect(await status('gone@contoso.example')).toMatch(/blocked/i);
      expect(await page.textContent('#mail-no-smtp')).toMatch(/no SMTP server is configured/);
      await shot(page, `mail-outbox-${width}`);

      // Only unsent mail.
      await page.selectOption('#mail-status', 'UNSENT');
      await page.locator('#mail-table tbody tr').first().waitFor();
      await expect.poll(() => page.locator('#mail-table tbody tr').count()).toBe(1);

      // Resend puts it back in the queue.
      await page.locator('#mail-table tr', { hasText: 'nosmtp@contoso.example' }).locator('[data-action="resend"]').click();
      await page.locator('#toast', { hasText: 'queued again' }).waitFor();
      const back = await sql.one<{ status: string }>(`select status from mail_outbox where organization_id = $1 and to_address = 'nosmtp@contoso.example'`, [org.id]);
      expect(back.status).toBe('pending');

      // Clear a blocked address.
      const blockedRow = page.locator('#mail-blocked-table tr[data-address="gone@contoso.example"]');
      expect(await blockedRow.textContent()).toMatch(/550.*User unknown/);
      await blockedRow.locator('[data-action="clear"]').click();
      await page.locator('#toast', { hasText: 'gone@contoso.example cleared' }).waitFor();
      await page.locator('#mail-blocked-table').waitFor({ state: 'detached' });
      expect(await s.t.domain.mail.blocked(org.actor)).toEqual([]);

      expect(await noHorizontalScroll(page)).toBe(true);
      await shot(page, `mail-${width}`);
      noProblems(w);
      await page.close();
    }, 120_000);
  }
});
