// Push of per-lock access changes to subscribers (graphql-ws and graphql-sse).
//
// One tail per organisation per process: when the organisation's feed moves
// (PostgreSQL NOTIFY `gatehouse_access`, sent by the seal at commit, heard by
// every process; or a poll when notifications are not live), ONE statement
// reads the new entries and they are handed to every subscriber whose locks
// or places they concern. A subscriber first joins the tail (from then on it
// buffers what the tail reads), then reads its backlog after its cursor, then
// drains the buffer: positions only ever increase, so nothing is lost or
// delivered twice, across reconnects too (the client passes its last cursor).
//
// A subscription made with an API key lasts only as long as the key: before
// the tail hands out what it read, it asks which of the recipients' keys
// have been revoked since (one statement, on the primary), and ends those
// subscriptions with an UNAUTHENTICATED error instead. A revoked controller
// key receives nothing more, on every process, without waiting for its
// connection to close; reconnecting with it is refused.
import type { Db } from '../domain/db.js';
import type { Actor } from '../domain/actor.js';
import type { Domain } from '../domain/index.js';
import { Unauthenticated } from '../domain/errors.js';
import type { LockAccessEntry, LockScope } from '../domain/access/access-feed.js';
import { positionOf } from '../domain/access/access-feed.js';

type Positioned = LockAccessEntry & { position: bigint };

interface Subscriber {
  readonly scope: LockScope;
  /** The API key it was made with (undefined: another kind of caller). */
  readonly keyId: string | undefined;
  push(e: Positioned): void;
  /** Its key was revoked: it gets the error and ends. */
  revoke(): void;
}

interface Logger {
  warn(obj: object, msg: string): void;
}

class OrgTail {
  readonly subs = new Set<Subscriber>();
  /**
   * The subscribers by lock and by place they follow: an entry goes to the
   * few that follow its lock or place without testing every subscriber of
   * the organisation (a thousand controllers times a burst of entries).
   */
  private readonly byLock = new Map<string, Set<Subscriber>>();
  private readonly byPlace = new Map<string, Set<Subscriber>>();
  private reading = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly hub: AccessHub,
    readonly organizationId: string,
    /** Position read through. */
    public last: bigint,
  ) {
    this.schedulePoll();
  }

  /** Reads what the feed gained and hands it out; one read at a time, again if woken meanwhile. */
  async pump(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      for (;;) {
        this.again = false;
        const entries = await this.hub.domain.access.entriesAfter(this.organizationId, this.last, 1000);
        // Who gets what; then, before anything is handed out, the recipients' keys are
        // checked (a failure leaves `last` where it was: retried, never skipped).
        const deliveries: [Subscriber, Positioned][] = [];
        for (const e of entries) {
          const ofLock = this.byLock.get(e.lockId);
          const ofPlace = this.byPlace.get(e.placeId);
          if (ofLock) for (const s of ofLock) deliveries.push([s, e]);
          // Once to a subscriber that follows both the lock and its place.
          if (ofPlace) for (const s of ofPlace) if (!ofLock?.has(s)) deliveries.push([s, e]);
        }
        await this.endRevoked(new Set(deliveries.map(([s]) => s)));
        for (const [s, e] of deliveries) if (this.subs.has(s)) s.push(e);
        if (entries.length > 0) this.last = entries[entries.length - 1]!.position;
        if (entries.length < 1000 && !this.again) break;
      }
    } catch (err) {
      this.hub.logger.warn({ err, organizationId: this.organizationId }, 'access feed: reading new entries failed; retrying on the next poll');
    } finally {
      this.reading = false;
    }
  }

  /** Of these subscribers, ends those whose API key has been revoked since they subscribed. */
  private async endRevoked(recipients: ReadonlySet<Subscriber>): Promise<void> {
    const keyed = [...recipients].filter((s) => s.keyId !== undefined);
    if (keyed.length === 0) return;
    const revoked = await this.hub.domain.apiKeys.revokedAmong(this.organizationId, [...new Set(keyed.map((s) => s.keyId!))]);
    for (const s of keyed) {
      if (!revoked.has(s.keyId!)) continue;
      this.remove(s);
      s.revoke();
    }
  }

  add(sub: Subscriber): void {
    this.subs.add(sub);
    for (const id of sub.scope.lockIds) index(this.byLock, id).add(sub);
    for (const id of sub.scope.placeIds) index(this.byPlace, id).add(sub);
  }

  remove(sub: Subscriber): void {
    this.subs.delete(sub);
    for (const id of sub.scope.lockIds) unindex(this.byLock, id, sub);
    for (const id of sub.scope.placeIds) unindex(this.byPlace, id, sub);
  }

  /** A safety poll: often when notifications are not live (PGlite, a lost LISTEN connection), rarely otherwise. */
  private schedulePoll(): void {
    this.timer = setTimeout(
      () => {
        void this.pump().finally(() => {
          if (this.subs.size > 0) this.schedulePoll();
        });
      },
      this.hub.isLive() ? 30_000 : 1_000,
    );
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

function index(map: Map<string, Set<Subscriber>>, id: string): Set<Subscriber> {
  let set = map.get(id);
  if (!set) map.set(id, (set = new Set()));
  return set;
}

function unindex(map: Map<string, Set<Subscriber>>, id: string, sub: Subscriber): void {
  const set = map.get(id);
  if (set?.delete(sub) && set.size === 0) map.delete(id);
}

/** The process's tails; one LISTEN for all organisations. */
export class AccessHub {
  private readonly tails = new Map<string, Promise<OrgTail>>();
  private live = false;
  private readonly listening: { close(): void };

  constructor(
    db: Db,
    readonly domain: Domain,
    readonly logger: Logger,
  ) {
    this.listening = db.listen('gatehouse_access', {
      notified: (payload) => {
        const organizationId = payload.split(':')[0] ?? '';
        void this.tails.get(organizationId)?.then((t) => t.pump());
      },
      live: (isLive) => {
        this.live = isLive;
        // Back from a gap in notifications: whatever committed meanwhile.
        if (isLive) for (const t of this.tails.values()) void t.then((x) => x.pump());
      },
    });
  }

  isLive(): boolean {
    return this.live;
  }

  /** Subscribers currently attached (metrics, leak tests). */
  get subscriberCount(): number {
    let n = 0;
    for (const t of this.settled.values()) n += t.subs.size;
    return n;
  }

  private readonly settled = new Map<string, OrgTail>();

  private async tail(actor: Actor): Promise<OrgTail> {
    let t = this.tails.get(actor.organizationId);
    if (!t) {
      t = this.domain.access.head(actor).then((head) => {
        const tail = new OrgTail(this, actor.organizationId, head);
        this.settled.set(actor.organizationId, tail);
        return tail;
      });
      this.tails.set(actor.organizationId, t);
      t.catch(() => this.tails.delete(actor.organizationId));
    }
    return t;
  }

  private release(tail: OrgTail, sub: Subscriber): void {
    tail.remove(sub);
    if (tail.subs.size === 0 && this.settled.get(tail.organizationId) === tail) {
      tail.stop();
      this.tails.delete(tail.organizationId);
      this.settled.delete(tail.organizationId);
    }
  }

  /**
   * The entries of these locks and places after `after` (or from now), then
   * live. Checks the key's right to the locks and the cursor before it
   * returns, so bad input fails the subscription at once.
   */
  async subscribe(actor: Actor, scope: LockScope, after: string | null | undefined): Promise<AsyncIterableIterator<LockAccessEntry | Unauthenticated>> {
    const checked = await this.domain.access.lockReader(actor, scope);
    // Checks the cursor (forged, expired) and the locks (unknown, another organisation's) before anything is attached.
    const first = await this.domain.access.lockChanges(actor, checked, after ?? null, 500);
    const tail = await this.tail(actor);
    const queue: Positioned[] = [];
    let delivered = after ? positionOf(after) : -1n;
    let live = false;
    const early: Positioned[] = [];
    const signal: { wake: (() => void) | null } = { wake: null };
    let closed = false;
    let revoked = false;
    const sub: Subscriber = {
      scope: checked,
      keyId: actor.kind === 'api_key' ? actor.id : undefined,
      revoke: () => {
        revoked = true;
        queue.length = 0;
        signal.wake?.();
      },
      push: (e) => {
        if (!live) early.push(e);
        else if (e.position > delivered) {
          queue.push(e);
          delivered = e.position;
        }
        signal.wake?.();
      },
    };
    tail.add(sub);


    // Backlog: everything after the cursor (from now when none), then what the tail buffered meanwhile.
    const backlog = (async () => {
      if (!after) {
        delivered = tail.last;
      } else {
        // `first` was read before joining the tail: an entry that committed
        // between that read and the join may already be behind the tail. So
        // the backlog ends only with a page read after the join.
        let page = first;
        let readAfterJoin = false;
        for (;;) {
          for (const e of page.entries) {
            const p = positionOf(e.cursor);
            if (p > delivered) {
              queue.push({ ...e, position: p });
              delivered = p;
            }
          }
          if ((!page.hasNextPage && readAfterJoin) || closed) break;
          page = await this.domain.access.lockChanges(actor, checked, page.endCursor, 500);
          readAfterJoin = true;
        }
      }
      for (const e of early) {
        if (e.position > delivered) {
          queue.push(e);
          delivered = e.position;
        }
      }
      early.length = 0;
      live = true;
      signal.wake?.();
    })();
    backlog.catch(() => undefined);

    const finish = (): IteratorResult<LockAccessEntry | Unauthenticated> => {
      closed = true;
      this.release(tail, sub);
      signal.wake?.();
      return { value: undefined, done: true };
    };
    const it: AsyncIterableIterator<LockAccessEntry | Unauthenticated> = {
      async next(): Promise<IteratorResult<LockAccessEntry | Unauthenticated>> {
        for (;;) {
          if (closed) return { value: undefined, done: true };
          if (revoked) {
            // The last event: the resolver raises it as the subscription's error; the next call ends it.
            finish();
            return { value: new Unauthenticated('invalid_api_key', 'The API key of this subscription was revoked'), done: false };
          }
          const e = queue.shift();
          if (e) {
            const { position: _position, ...entry } = e;
            return { value: entry, done: false };
          }
          if (!live) await Promise.race([backlog, new Promise<void>((r) => (signal.wake = r))]);
          else await new Promise<void>((r) => (signal.wake = r));
          signal.wake = null;
        }
      },
      async return(): Promise<IteratorResult<LockAccessEntry | Unauthenticated>> {
        return finish();
      },
      async throw(err: unknown): Promise<IteratorResult<LockAccessEntry | Unauthenticated>> {
        finish();
        throw err;
      },
      [Symbol.asyncIterator]() {
        return it;
      },
    };
    return it;
  }

  close(): void {
    this.listening.close();
    for (const t of this.settled.values()) t.stop();
    this.tails.clear();
    this.settled.clear();
  }
}
