// Listening on a notification channel over a connection of its own, kept
// across lost connections (reconnecting with back-off). A subscription says
// it is live only while it hears its own probes: a notification it sends
// through the pool every few seconds, as any change would be sent, must come
// back on the listening connection. So a path that does not deliver
// notifications (a pooler in transaction mode, a connection gone quiet) makes
// it not live instead of silently deaf. On PGlite, which serves every
// connection from one session, there are no notifications to receive: never live.
import crypto from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import type { ChannelListener, Subscription } from '../../domain/db.js';
import type { PostgresDb } from './client.js';
import { uncounted } from './statement-count.js';

/** Payloads of the listener's own delivery probes. */
const PROBE_PREFIX = 'probe:';

export interface ListenTiming {
  /** How often a listener checks that notifications still reach it. */
  readonly probeEveryMs: number;
  /** How long it waits for its probe. */
  readonly probeTimeoutMs: number;
}

export const LISTEN_TIMING: ListenTiming = { probeEveryMs: 10_000, probeTimeoutMs: 5_000 };

/** A socket that does not keep the process alive on its own. */
function unrefSocket(): net.Socket {
  const socket = new net.Socket();
  socket.unref();
  return socket;
}

export function listen(db: PostgresDb, channel: string, listener: ChannelListener, timing: ListenTiming): Subscription {
  let closed = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let nextProbe: NodeJS.Timeout | undefined;
  let delay = 250;
  const awaiting = new Map<string, () => void>();

  /** True once a probe sent through the pool is heard on `c`. */
  const probe = async (c: pg.Client): Promise<boolean> => {
    const id = `${PROBE_PREFIX}${crypto.randomUUID()}`;
    const heard = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        awaiting.delete(id);
        resolve(false);
      }, timing.probeTimeoutMs);
      timer.unref();
      awaiting.set(id, () => {
        clearTimeout(timer);
        awaiting.delete(id);
        resolve(true);
      });
    });
    await db.sql.run(`select pg_notify($1, $2)`, [channel, id]);
    return (await heard) && client === c;
  };
  const down = () => {
    listener.live(false);
    clearTimeout(nextProbe);
    const c = client;
    client = undefined;
    c?.removeAllListeners('notification');
    c?.end().catch(() => undefined);
    if (closed || !db.isOpen) return;
    retry = setTimeout(() => void connect(), delay);
    retry.unref();
    delay = Math.min(delay * 2, 30_000);
  };
  const keepProbing = (c: pg.Client) => {
    nextProbe = setTimeout(() => {
      probe(c).then(
        (ok) => (ok ? keepProbing(c) : client === c && down()),
        () => client === c && down(),
      );
    }, timing.probeEveryMs);
    nextProbe.unref();
  };
  const connect = async () => {
    if (closed) return;
    let c: pg.Client | undefined;
    try {
      if (!(await db.onServer())) return; // PGlite
      const where = db.listenConnection;
      if (!where) return; // a pooler in transaction mode and no direct URL: credentials are checked in the database
      c = new pg.Client({ ...where, application_name: 'gatehouse-listen', connectionTimeoutMillis: 5_000, stream: unrefSocket });
      const mine = c;
      c.on('error', () => client === mine && down());
      c.on('end', () => client === mine && down());
      c.on('notification', (m) => {
        if (m.channel !== channel) return;
        const payload = m.payload ?? '';
        // Probes (this process's or another's) are not changes.
        if (payload.startsWith(PROBE_PREFIX)) awaiting.get(payload)?.();
        else listener.notified(payload);
      });
      await c.connect();
      if (closed) return void c.end().catch(() => undefined);
      client = c;
      await c.query(`listen "${channel.replace(/"/g, '""')}"`);
      if (!(await probe(c))) return void (client === mine && down());
      delay = 250;
      listener.live(true);
      keepProbing(c);
    } catch {
      if (c && client !== c) c.end().catch(() => undefined);
      down();
    }
  };
  // Outside any caller's count: this is the process's, not a request's.
  uncounted(() => void connect());
  // The subscription ends with the pool: nobody else need remember to close it.
  const watch = setInterval(() => {
    if (!db.isOpen) close();
  }, 2000);
  watch.unref();
  const close = () => {
    closed = true;
    clearInterval(watch);
    clearTimeout(retry);
    clearTimeout(nextProbe);
    listener.live(false);
    client?.end().catch(() => undefined);
    client = undefined;
  };
  return { close };
}
