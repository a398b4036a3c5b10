// Delivery is never on the request path: with the delivery worker running in
// the same process, a webhook receiver that never answers and an SMTP server
// that never accepts a message, SCIM requests that cause webhooks and mail
// are answered while the deliveries they caused are still held open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildOrg, unique } from '../factories/index.js';
import { startReceiver, type Receiver } from '../setup/webhook-receiver.js';
import { startSmtp, type SmtpStandIn } from '../setup/smtp-stand-in.js';

let rx: Receiver;
let smtp: SmtpStandIn;
let a: TestApp;

beforeAll(async () => {
  rx = await startReceiver();
  // Takes each message, then never says so (until nodemailer's socket timeout).
  smtp = await startSmtp({ dataDelayMs: 10 * 60_000 });
  a = await createTestApp({
    DELIVERY_WORKER: 'on',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'on',
    WEBHOOK_TIMEOUT_SECONDS: '60',
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}?tls.rejectUnauthorized=false`,
  });
});
afterAll(async () => {
  await rx.close();
  await smtp.close();
  await a.close();
});

describe('delivery is off the request path', () => {
  it('answers SCIM changes while their webhook and welcome mail are stuck at a hanging receiver and SMTP server', async () => {
    const d = a.t.domain;
    const org = await buildOrg(d);
    const { token } = await d.organizations.enableScim(org.actor);
    await d.webhooks.create(org.actor, { url: `${rx.url}/hang`, eventTypes: ['member.created'] });
    await d.mail.setSettings(org.actor, { scimWelcome: true });
    const post = (name: string) =>
      fetch(`${a.url}/scim/v2/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `${name}@acme.example`, emails: [{ value: `${name}@acme.example`, type: 'work', primary: true }] }),
      });

    expect((await post(unique('first'))).status).toBe(201);
    // The worker is now waiting on the receiver, which never answers, and on the SMTP server.
    await rx.waitFor('/hang', 1, 30_000);
    for (let i = 0; i < 200 && smtp.messages.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(smtp.messages.length).toBeGreaterThanOrEqual(1);

    // Later changes are answered all the same, each with its own audit-trail event.
    for (let i = 0; i < 5; i++) expect((await post(unique('next'))).status).toBe(201);
    const deliveries = await d.webhooks.deliveries(org.actor, { limit: 50 });
    // The first delivery is still in flight: nothing the receiver said has come back.
    expect(deliveries.filter((x) => x.status === 'succeeded')).toEqual([]);
    const mail = await d.mail.list(org.actor);
    expect(mail.filter((m) => m.status === 'sent')).toEqual([]);
  }, 120_000);
});
