// Runs the delivery passes (audit stream → webhook deliveries and mail, then
// sending what is due) on the PostgreSQL job queue (pg-boss), in any number of
// Gatehouse processes. Every process ticks once a second and asks for a pass;
// the queue keeps at most one pass waiting (policy "short", one singleton
// key), and a worker of one process takes it. Passes of several processes may
// overlap: each delivery is claimed by one of them (FOR UPDATE SKIP LOCKED and
// a lease), each organisation's cursor by one dispatcher, so nothing is sent
// twice by design and nothing waits on a process that died (its leases end).
import PgBoss from 'pg-boss';
import type { ConnectionSettings } from '../infra/postgres/client.js';
import type { Domain } from '../domain/index.js';
import type { WebhookSender } from '../domain/webhooks/webhook.model.js';
import type { MailTransport } from '../domain/mail/mail.model.js';
import { pgBossConnection, type SchedulerLogger, type SharedQueue } from './import-scheduler.js';

export const DELIVERY_QUEUE = 'gatehouse-deliveries';

export interface DeliveryWorkerOptions {
  readonly domain: Domain;
  /** The database the domain runs on (pg-boss keeps its queue there, on a small pool of its own). */
  readonly connection: ConnectionSettings;
  readonly logger: SchedulerLogger & { debug?: (obj: object, msg?: string) => void };
  readonly webhookSender: WebhookSender;
  /** The SMTP server; null: mail is marked "not sent: no SMTP configured". */
  readonly mailTransport: MailTransport | null;
  /** How often this process asks for a pass (default 1 s). */
  readonly tickMs?: number;
  /** Longest a pass keeps sending before it lets the next one start (default 20 s). */
  readonly budgetMs?: number;
  /** The process's scheduler's job queue; absent: a pg-boss of its own. */
  readonly shared?: SharedQueue;
}

export interface PassResult {
  readonly events: number;
  /** Per-lock access entries read for access.changed. */
  readonly accessEntries: number;
  readonly webhooks: { attempted: number; succeeded: number; failed: number };
  readonly mail: { attempted: number; sent: number; failed: number; unsent: number };
}

export interface DeliveryWorker {
  readonly ready: Promise<void>;
  /** One pass now, in this process (tests; the queue runs them otherwise). */
  runOnce(): Promise<PassResult>;
  stop(): Promise<void>;
}

/** One pass: dispatch the streams, then send what is due; now and then, forget old delivery logs. */
export async function deliveryPass(domain: Domain, sender: WebhookSender, mailTransport: MailTransport | null, budgetMs: number): Promise<PassResult> {
  const dispatched = await domain.events.dispatch();
  // Mail and webhooks side by side: a slow receiver does not hold mail back, nor the reverse.
  const [webhooks, mail] = await Promise.all([domain.webhooks.deliverDue(sender, { budgetMs }), domain.mail.deliverDue(mailTransport, { budgetMs })]);
  if (Math.random() < 0.01) {
    await domain.webhooks.purgeLog();
    await domain.mail.purgeLog();
  }
  return { events: dispatched.events, accessEntries: dispatched.feedEntries, webhooks, mail };
}

async function ensureQueue(boss: PgBoss): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      if (await boss.getQueue(DELIVERY_QUEUE)) return;
      await boss.createQueue(DELIVERY_QUEUE, { name: DELIVERY_QUEUE, policy: 'short', retryLimit: 0 });
      return;
    } catch (e) {
      // Processes starting together deadlock on pg-boss's DDL: the loser retries and finds the queue.
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 400));
    }
  }
}

export function startDeliveryWorker(opts: DeliveryWorkerOptions): DeliveryWorker {
  const { domain, logger, webhookSender, mailTransport } = opts;
  const budgetMs = opts.budgetMs ?? 20_000;
  const boss =
    opts.shared?.boss ??
    new PgBoss({
      ...pgBossConnection(opts.connection),
      application_name: 'gatehouse-deliveries',
      max: 2,
      schedule: false,
      supervise: true,
      migrate: true,
    });
  if (!opts.shared) boss.on('error', (err: unknown) => logger.error({ err }, 'delivery worker: job queue error'));
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const runOnce = async (): Promise<PassResult> => {
    const r = await deliveryPass(domain, webhookSender, mailTransport, budgetMs);
    if (r.events + r.accessEntries > 0 || r.webhooks.attempted > 0 || r.mail.attempted + r.mail.unsent > 0) logger.info({ events: r.events, accessEntries: r.accessEntries, webhooks: r.webhooks, mail: r.mail }, 'delivery pass');
    return r;
  };

  const ready = (async () => {
    if (opts.shared) await opts.shared.ready;
    else await boss.start();
    await ensureQueue(boss);
    await boss.work(DELIVERY_QUEUE, { pollingIntervalSeconds: 0.5, batchSize: 1 }, async () => {
      await runOnce();
    });
    if (stopped) return;
    const tick = () =>
      boss.send(DELIVERY_QUEUE, {}, { singletonKey: 'pass', retryLimit: 0, expireInSeconds: Math.ceil(budgetMs / 1000) + 120 }).catch((err: unknown) => {
        logger.warn({ err }, 'delivery worker: could not queue a pass');
        return null;
      });
    timer = setInterval(() => void tick(), opts.tickMs ?? 1000);
    timer.unref();
    void tick();
  })();
  ready.catch((err: unknown) => logger.error({ err }, 'delivery worker: could not start'));

  return {
    ready,
    runOnce,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await ready.catch(() => undefined);
      try {
        if (opts.shared) await boss.offWork(DELIVERY_QUEUE);
        else await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
      } catch (err) {
        logger.warn({ err }, 'delivery worker: stop failed');
      }
    },
  };
}
