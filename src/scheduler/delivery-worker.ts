// Runs the delivery passes (audit stream → webhook deliveries and mail, then
// sending what is due) on the PostgreSQL job queue (pg-boss), in any number of
// Gatehouse processes. Every process ticks once a second and asks for a pass;
// the queue keeps at most one pass waiting (policy "short", one singleton
// key), and a worker of one process takes it. Passes of several processes may
// overlap: each delivery is claimed by one of them (FOR UPDATE SKIP LOCKED and
// a lease), each organisation's cursor by one dispatcher, so nothing is sent
// twice by design and nothing waits on a process that died (its leases end).
import type { ConnectionSettings } from '../infra/postgres/client.js';
import type { Domain } from '../domain/index.js';
import type { WebhookSender } from '../domain/webhooks/webhook.model.js';
import type { MailTransport } from '../domain/mail/mail.model.js';
import { startQueueWorker, type SchedulerLogger, type SharedQueue } from './queue.js';

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

/** One pass: dispatch the streams, then send what is due (old delivery logs are the scheduler's: jobs.ts). */
export async function deliveryPass(domain: Domain, sender: WebhookSender, mailTransport: MailTransport | null, budgetMs: number): Promise<PassResult> {
  const dispatched = await domain.events.dispatch();
  // Mail and webhooks side by side: a slow receiver does not hold mail back, nor the reverse.
  const [webhooks, mail] = await Promise.all([domain.webhooks.deliverDue(sender, { budgetMs }), domain.mail.deliverDue(mailTransport, { budgetMs })]);
  return { events: dispatched.events, accessEntries: dispatched.feedEntries, webhooks, mail };
}

export function startDeliveryWorker(opts: DeliveryWorkerOptions): DeliveryWorker {
  const { domain, logger, webhookSender, mailTransport } = opts;
  const budgetMs = opts.budgetMs ?? 20_000;

  const runOnce = async (): Promise<PassResult> => {
    const r = await deliveryPass(domain, webhookSender, mailTransport, budgetMs);
    if (r.events + r.accessEntries > 0 || r.webhooks.attempted > 0 || r.mail.attempted + r.mail.unsent > 0) logger.info({ events: r.events, accessEntries: r.accessEntries, webhooks: r.webhooks, mail: r.mail }, 'delivery pass');
    return r;
  };

  const worker = startQueueWorker({
    label: 'delivery worker',
    queue: DELIVERY_QUEUE,
    policy: 'short',
    connection: opts.connection,
    applicationName: 'gatehouse-deliveries',
    logger,
    shared: opts.shared,
    pollingSeconds: 0.5,
    work: async () => {
      await runOnce();
    },
    tick: (boss) =>
      boss.send(DELIVERY_QUEUE, {}, { singletonKey: 'pass', retryLimit: 0, expireInSeconds: Math.ceil(budgetMs / 1000) + 120 }).catch((err: unknown) => {
        logger.warn({ err }, 'delivery worker: could not queue a pass');
        return null;
      }),
    tickMs: opts.tickMs ?? 1000,
  });

  return { ready: worker.ready, runOnce, stop: () => worker.stop() };
}
