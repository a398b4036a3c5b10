// Delivery throughput: webhooks to a local receiver and mail to a local SMTP
// server (smtp-server), each the whole way through Gatehouse (audit trail →
// dispatcher → outbox → claim, sign or render, send, record) against the bare
// transport doing only the sending, in the same run.
//   npx tsx bench/deliveries/index.ts     (BENCH_SCALE=1: 1,000 webhooks and 1,000 mails)
// Webhooks: Gatehouse's HTTP sender (keep-alive, 8 sockets per origin, the
// policy's 16 in flight) against plain POSTs of the same bodies, 16 in flight.
// Mail: Gatehouse's SMTP transport (nodemailer pool) at the policy's 4 in
// flight against the same transport sending the same messages directly.
import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { DEFAULT_WEBHOOK_POLICY } from '../../src/domain/webhooks/webhook.service.js';
import { DEFAULT_MAIL_POLICY } from '../../src/domain/mail/mail.service.js';
import { createHttpWebhookSender } from '../../src/integrations/webhooks/http-sender.js';
import { createSmtpTransport } from '../../src/integrations/mail/smtp-transport.js';
import { benchScale, withFreshDatabase } from '../lib/db.js';

const SECRET = 'bench-master-secret-0123456789abcdef-0123';

async function pool<T>(items: T[], inFlight: number, fn: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function startReceiver(): Promise<{ url: string; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    count: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function startSmtp(): Promise<{ port: number; count: () => number; close(): Promise<void> }> {
  let n = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    logger: false,
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () => {
        n++;
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server as unknown as { server: { address(): AddressInfo } }).server.address().port;
  return { port, count: () => n, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function run(): Promise<void> {
  const n = Math.max(100, Math.round(1000 * benchScale(1)));
  await withFreshDatabase('deliveries', async ({ database }) => {
    const domain = createDomain(database.db, SECRET, undefined, { publicUrl: 'https://gatehouse.example.com' });
    const org = await domain.organizations.create({ name: 'Bench deliveries', domain: 'bench-deliveries' });
    const actor = systemActor(org.id, 'bench');
    const rx = await startReceiver();
    const smtp = await startSmtp();
    const sender = createHttpWebhookSender({ timeoutMs: 10_000, allowPrivateNetworks: true });
    const transport = createSmtpTransport({ url: `smtp://127.0.0.1:${smtp.port}`, from: 'Gatehouse <gatehouse@example.com>' });
    try {
      console.log(`Delivery benchmark: ${n} webhooks (member.created) and ${n} mails, local receiver and SMTP server`);
      await domain.webhooks.create(actor, { url: `${rx.url}/hook`, eventTypes: ['member.created'] });
      const members: string[] = [];
      await pool(
        Array.from({ length: n }, (_, i) => i),
        4,
        async (i) => {
          members.push((await domain.members.create(actor, { userName: `bench.user${i}@contoso.com`, displayName: `User ${i}` })).id);
        },
      );

      // Webhooks through Gatehouse: events → deliveries → signed requests, each recorded.
      let started = performance.now();
      let dispatched = 0;
      while (dispatched < n) dispatched += (await domain.events.dispatch()).events;
      const dispatchS = (performance.now() - started) / 1000;
      const sendStarted = performance.now();
      while (rx.count() < n) await domain.webhooks.deliverDue(sender, { budgetMs: 60_000 });
      const sendS = (performance.now() - sendStarted) / 1000;
      const webhookS = (performance.now() - started) / 1000;
      const bodies = await database.db.sql.all<{ payload: string }>(`select payload::text as payload from webhook_deliveries where organization_id = $1`, [org.id]);
      const pending = (await domain.webhooks.deliveries(actor, { status: 'pending', limit: 10 })).length;
      if (pending > 0) throw new Error(`${pending} webhook deliveries still pending`);

      // The same bodies POSTed plainly, 16 in flight.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const before = rx.count();
      const bareWebhookS = await pool(bodies, DEFAULT_WEBHOOK_POLICY.concurrency, (b) => post(`${rx.url}/bare`, b.payload, agent));
      agent.destroy();
      if (rx.count() - before !== bodies.length) throw new Error('bare POSTs lost');

      // Mail through Gatehouse: the outbox written in a transaction, then claimed, rendered, sent and recorded.
      await database.db.transaction((tx) => domain.mail.enqueueForMembers(tx, org.id, 'welcome', members));
      started = performance.now();
      while (smtp.count() < n) await domain.mail.deliverDue(transport, { budgetMs: 60_000 });
      const mailS = (performance.now() - started) / 1000;
      const sent = (await domain.mail.list(actor, { status: 'sent', limit: n + 10 })).length;
      if (sent !== n) throw new Error(`${sent} of ${n} mails recorded as sent`);

      // The same transport sending welcome-sized messages directly, at the policy's concurrency.
      const sample = { subject: 'Welcome to Bench deliveries', text: 'x'.repeat(600), html: `<p>${'x'.repeat(1500)}</p>` };
      const smtpBefore = smtp.count();
      const bareMailS = await pool(
        members.map((_, i) => `bench.user${i}@contoso.com`),
        DEFAULT_MAIL_POLICY.concurrency,
        async (to) => {
          const r = await transport.send({ to, ...sample });
          if (!r.ok) throw new Error(`bare send failed: ${r.error}`);
        },
      );
      if (smtp.count() - smtpBefore !== n) throw new Error('bare mail lost');

      const f = (x: number) => x.toFixed(0);
      console.log(`webhooks/s  Gatehouse ${f(n / webhookS)} (dispatch ${f(n / dispatchS)}/s, send and record ${f(n / sendS)}/s)  bare POST ${f(n / bareWebhookS)}  ratio ${(bareWebhookS / webhookS).toFixed(2)} (send only ${(bareWebhookS / sendS).toFixed(2)})`);
      console.log(`mails/s     Gatehouse ${f(n / mailS)}  bare nodemailer ${f(n / bareMailS)}  ratio ${(bareMailS / mailS).toFixed(2)}`);
      console.log('(one process, PostgreSQL on this machine; the receiver and SMTP server answer at once: the figures are Gatehouse\'s own cost per delivery)');
    } finally {
      sender.close();
      transport.close();
      await rx.close();
      await smtp.close();
    }
  });
}

function post(url: string, body: string, agent: http.Agent): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

if (process.argv[1]?.endsWith('deliveries/index.ts')) {
  run().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
