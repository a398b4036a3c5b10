// Credentials and trust anchors checked against the database, remembered by
// this process while it can hear about every change to them. A trigger on the
// credential's table notifies the `gatehouse_credentials` channel in the
// transaction that rotates or revokes a credential (a SCIM token; an
// organisation's SAML configuration: IdP certificates, SP key pairs, the IdP
// settings); PostgreSQL delivers it to every process at commit, and each
// process then forgets everything it remembered. So a rotated SCIM token stops
// working on every process within the time a notification takes
// (milliseconds), and no request pays a statement to check a known token.
// The caches of one process share one listening connection.
//
// Safe by construction:
// - Nothing is remembered unless the process is listening right now; while
//   its listening connection is down (or on PGlite, which has no
//   notifications) every check goes to the database.
// - A check that started before a notification (or before the listener came
//   up) does not store its answer: it may have read the old row.
// - Entries also expire after `ttlMs`, and at most `max` are kept.
import type { Db, Subscription } from './db.js';

export const CREDENTIALS_CHANNEL = 'gatehouse_credentials';

export interface CredentialCacheOptions {
  readonly ttlMs: number;
  readonly max: number;
}

/** What a cache hears of the channel. */
interface Hearing {
  forget(): void;
  setLive(isLive: boolean): void;
}

/** One listening connection per database (per process), told to every cache on it. */
class SharedListener {
  private readonly caches = new Set<Hearing>();
  private isLive = false;
  private subscription: Subscription | undefined;

  constructor(private readonly db: Db) {}

  join(cache: Hearing): void {
    this.caches.add(cache);
    cache.setLive(this.isLive);
    this.subscription ??= this.db.listen(CREDENTIALS_CHANNEL, {
      notified: () => {
        for (const c of this.caches) c.forget();
      },
      live: (isLive) => {
        this.isLive = isLive;
        for (const c of this.caches) c.setLive(isLive);
      },
    });
  }
}

const listeners = new WeakMap<Db, SharedListener>();

export class CredentialCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  /** Bumped by every notification and every change of the listener's state. */
  private generation = 0;
  private isLive = false;
  private joined = false;

  constructor(
    private readonly db: Db,
    private readonly opts: CredentialCacheOptions = { ttlMs: 60_000, max: 10_000 },
  ) {}

  /** The remembered value of `key`, or `load()`'s answer (remembered when it is safe to). */
  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    if (!this.joined) {
      this.joined = true;
      let shared = listeners.get(this.db);
      if (!shared) listeners.set(this.db, (shared = new SharedListener(this.db)));
      shared.join({
        forget: () => this.forget(),
        setLive: (isLive) => {
          this.isLive = isLive;
          this.forget();
        },
      });
    }
    const hit = this.entries.get(key);
    if (hit && this.isLive && Date.now() - hit.at < this.opts.ttlMs) return hit.value;
    const generation = this.generation;
    const value = await load();
    if (value !== undefined && this.isLive && generation === this.generation) {
      this.entries.delete(key);
      this.entries.set(key, { value, at: Date.now() });
      if (this.entries.size > this.opts.max) this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }

  /** Forgets everything (a credential changed: here, or on another process). */
  forget(): void {
    this.generation++;
    this.entries.clear();
  }
}
