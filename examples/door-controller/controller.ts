// A door controller for Gatehouse: keeps the allow-list of its locks in
// memory and learns every change as it commits.
//
//   1. loads `lockSnapshot` (the allow-lists and the cursor at which they are exact);
//   2. catches up: pages `lockAccessChanges` after its cursor, 1,000 entries a
//      page, until a page says there is no next one (a backlog of 10,000
//      changes is ten queries, not 10,000 pushed messages);
//   3. subscribes to `lockAccess` over WebSocket (graphql-ws) from the cursor
//      of the last entry applied (the subscription's own backlog is then only
//      what committed meanwhile);
//   4. applies each entry (member, lock, mayOpen, windows) as it comes, and
//      remembers the cursor of the last one applied;
//   5. when the connection drops, reconnects with back-off and resumes the
//      same way after the last applied cursor (nothing lost, nothing twice);
//      when the cursor has expired (reason `cursor_expired`: away longer than
//      the feed keeps entries) it loads the snapshot again.
//
// Decisions use the windows by the controller's own clock, so a window that
// opens or closes while the network is down is still honoured.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface Window {
  validFrom: string | null;
  validUntil: string | null;
}

export interface Entry {
  cursor: string;
  memberId: string;
  lockId: string;
  placeId: string;
  mayOpen: boolean;
  windows: Window[];
}

export interface Decision {
  memberId: string;
  lockId: string;
  allow: boolean;
  /** What decided: the snapshot or a pushed change. */
  via: 'snapshot' | 'change';
}

export interface ControllerOptions {
  /** Gatehouse's GraphQL endpoint, e.g. http://localhost:3000/graphql (the WebSocket URL is derived). */
  url: string;
  /** A controller API key (`npm run cli -- apikey create --org DOMAIN --name NAME --role controller --locks ID,… --places ID,…`). */
  key: string;
  lockIds?: string[];
  placeIds?: string[];
  /** Back-off between reconnects: doubles from `minDelayMs` up to `maxDelayMs`, with jitter. */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Entries per catch-up page of lockAccessChanges (default and most: 1000). */
  pageSize?: number;
  /** Called for every decision change (default: prints a line). */
  onDecision?: (d: Decision) => void;
  /** Diagnostics (default: stderr). */
  log?: (line: string) => void;
}

type Member = { mayOpen: boolean; windows: Window[] };

const SNAPSHOT = `query($l: [ID!], $p: [ID!]) {
  lockSnapshot(lockIds: $l, placeIds: $p) { cursor locks { lockId placeId members { memberId mayOpen windows { validFrom validUntil } } } }
}`;
const PAGE = `query($l: [ID!], $p: [ID!], $after: String, $first: Int) {
  lockAccessChanges(lockIds: $l, placeIds: $p, after: $after, first: $first) {
    entries { cursor memberId lockId placeId mayOpen windows { validFrom validUntil } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const SUBSCRIBE = `subscription($l: [ID!], $p: [ID!], $after: String) {
  lockAccess(lockIds: $l, placeIds: $p, after: $after) { cursor memberId lockId placeId mayOpen windows { validFrom validUntil } }
}`;

interface GqlError {
  message: string;
  extensions?: { code?: string; reason?: string };
}

export class GatehouseError extends Error {
  constructor(
    readonly errors: GqlError[],
    readonly reason = errors[0]?.extensions?.reason,
  ) {
    super(errors.map((e) => e.message).join('; '));
  }
}

/** Whether a window list lets someone in at `now` (validFrom inclusive, validUntil exclusive). */
export function openAt(windows: Window[], now: Date): boolean {
  const t = now.getTime();
  return windows.some((w) => (w.validFrom === null || Date.parse(w.validFrom) <= t) && (w.validUntil === null || t < Date.parse(w.validUntil)));
}

export class DoorController {
  /** lockId → memberId → what the feed said last. */
  private readonly locks = new Map<string, Map<string, Member>>();
  private client: Client | null = null;
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Cursor of the last entry applied (or of the snapshot). */
  cursor: string | null = null;
  /** Times the subscription (re)connected, snapshots loaded, and catch-up pages read. */
  connects = 0;
  snapshots = 0;
  pages = 0;
  /** Bumped by every connect, interrupt and stop: a catch-up of an older one stops applying. */
  private generation = 0;
  private readonly opts: Required<Omit<ControllerOptions, 'onDecision' | 'log'>> & Pick<ControllerOptions, 'onDecision' | 'log'>;
  private readyWaiters: (() => void)[] = [];
  private live = false;

  constructor(options: ControllerOptions) {
    this.opts = { lockIds: [], placeIds: [], minDelayMs: 250, maxDelayMs: 30_000, pageSize: 1000, ...options };
  }

  /** Loads the snapshot and subscribes; resolves once the subscription is up. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.loadSnapshot();
    // Just loaded: the subscription's backlog after the snapshot's cursor is small, no catch-up query needed.
    this.connect(false);
    await this.ready();
  }

  /** Connects again after stop(), from the last applied cursor (as a restarted controller that kept its state would). */
  async resume(): Promise<void> {
    this.stopped = false;
    this.connect();
    await this.ready();
  }

  /** Resolves when the subscription is connected (again). */
  ready(): Promise<void> {
    if (this.live) return Promise.resolve();
    return new Promise((r) => this.readyWaiters.push(r));
  }

  /** May this member open this lock now, by the controller's own clock? */
  mayOpen(memberId: string, lockId: string, now = new Date()): boolean {
    const m = this.locks.get(lockId)?.get(memberId);
    return m !== undefined && openAt(m.windows, now);
  }

  /** The allow-list of one lock: members with a window open at `now`. */
  allowList(lockId: string, now = new Date()): string[] {
    return [...(this.locks.get(lockId) ?? new Map<string, Member>()).entries()].filter(([, m]) => openAt(m.windows, now)).map(([id]) => id).sort();
  }

  /** Drops the connection as a network fault would (the controller reconnects by itself). */
  interrupt(): void {
    this.generation++;
    this.closeClient();
    this.scheduleReconnect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.closeClient();
  }

  private log(line: string): void {
    (this.opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }

  private decide(d: Decision): void {
    if (this.opts.onDecision) this.opts.onDecision(d);
    else process.stdout.write(`${new Date().toISOString()} ${d.allow ? 'ALLOW' : 'DENY '} member ${d.memberId} at lock ${d.lockId} (${d.via})\n`);
  }

  private async gql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const res = await fetch(this.opts.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.opts.key}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: T; errors?: GqlError[] };
    if (body.errors?.length || !body.data) throw new GatehouseError(body.errors ?? [{ message: `HTTP ${res.status}` }]);
    return body.data;
  }

  /** Replaces the in-memory allow-lists with the snapshot's. */
  private async loadSnapshot(): Promise<void> {
    const { lockSnapshot } = await this.gql<{
      lockSnapshot: { cursor: string; locks: { lockId: string; members: ({ memberId: string } & Member)[] }[] };
    }>(SNAPSHOT, { l: this.opts.lockIds, p: this.opts.placeIds });
    const before = new Map([...this.locks].map(([l, ms]) => [l, new Set([...ms.keys()].filter((m) => this.mayOpen(m, l)))]));
    this.locks.clear();
    for (const lock of lockSnapshot.locks) {
      const members = new Map<string, Member>();
      for (const m of lock.members) members.set(m.memberId, { mayOpen: m.mayOpen, windows: m.windows });
      this.locks.set(lock.lockId, members);
    }
    // Report what the snapshot changed compared with what the controller knew.
    for (const [lockId, members] of this.locks) {
      for (const memberId of members.keys()) {
        const allow = this.mayOpen(memberId, lockId);
        if (allow !== (before.get(lockId)?.has(memberId) ?? false)) this.decide({ memberId, lockId, allow, via: 'snapshot' });
      }
    }
    for (const [lockId, was] of before) for (const memberId of was) if (!this.mayOpen(memberId, lockId)) this.decide({ memberId, lockId, allow: false, via: 'snapshot' });
    this.cursor = lockSnapshot.cursor;
    this.snapshots++;
  }

  private apply(e: Entry): void {
    let members = this.locks.get(e.lockId);
    if (!members) {
      // A lock added to one of the controller's places.
      members = new Map();
      this.locks.set(e.lockId, members);
    }
    if (e.windows.length === 0) members.delete(e.memberId);
    else members.set(e.memberId, { mayOpen: e.mayOpen, windows: e.windows });
    this.cursor = e.cursor;
    this.decide({ memberId: e.memberId, lockId: e.lockId, allow: this.mayOpen(e.memberId, e.lockId), via: 'change' });
  }

  private wsUrl(): string {
    const u = new URL(this.opts.url);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.toString();
  }

  /**
   * Reads the changes after the cursor a page at a time and applies them,
   * until a page says there is no next one. Returns false when a newer
   * connect, an interrupt or stop took over meanwhile.
   */
  private async catchUp(generation: number): Promise<boolean> {
    if (this.cursor === null) return generation === this.generation;
    for (;;) {
      const { lockAccessChanges: page } = await this.gql<{
        lockAccessChanges: { entries: Entry[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
      }>(PAGE, { l: this.opts.lockIds, p: this.opts.placeIds, after: this.cursor, first: this.opts.pageSize });
      if (generation !== this.generation) return false;
      this.pages++;
      for (const e of page.entries) this.apply(e);
      if (!page.pageInfo.hasNextPage) return true;
    }
  }

  private connect(catchUp = true): void {
    if (this.stopped) return;
    const generation = ++this.generation;
    (catchUp ? this.catchUp(generation) : Promise.resolve(true)).then(
      (current) => {
        if (current && !this.stopped) this.subscribe();
      },
      (err: unknown) => {
        if (generation === this.generation) void this.recover(err);
      },
    );
  }

  /** Subscribes from the cursor of the last entry applied. */
  private subscribe(): void {
    const client = createClient({
      url: this.wsUrl(),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${this.opts.key}` },
      // The controller reconnects by itself (it must resume from its own cursor).
      retryAttempts: 0,
      lazy: true,
      keepAlive: 10_000,
      on: {
        connected: () => {
          this.connects++;
          this.attempt = 0;
          // The server sends the backlog after the cursor first; from here nothing is missed.
          this.live = true;
          for (const r of this.readyWaiters.splice(0)) r();
        },
      },
    });
    this.client = client;
    let failed = false;
    this.unsubscribe = client.subscribe<{ lockAccess: Entry }>(
      { query: SUBSCRIBE, variables: { l: this.opts.lockIds, p: this.opts.placeIds, after: this.cursor } },
      {
        next: (r) => {
          if (r.errors?.length) {
            failed = true;
            void this.recover(new GatehouseError(r.errors as GqlError[]));
          } else if (r.data) this.apply(r.data.lockAccess);
        },
        error: (err) => {
          if (failed || client !== this.client) return;
          failed = true;
          const errors = Array.isArray(err) ? (err as GqlError[]) : null;
          void this.recover(errors ? new GatehouseError(errors) : err);
        },
        complete: () => {
          if (!failed && client === this.client && !this.stopped) void this.recover(new Error('subscription completed'));
        },
      },
    );
  }

  private async recover(err: unknown): Promise<void> {
    if (this.stopped) return;
    this.closeClient();
    if (err instanceof GatehouseError && err.reason === 'cursor_expired') {
      // Away longer than the feed keeps entries: start again from a snapshot.
      this.log(`cursor ${this.cursor} expired: loading the snapshot again`);
      try {
        await this.loadSnapshot();
      } catch (e) {
        this.log(`snapshot failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else if (err instanceof GatehouseError && err.reason && err.reason !== 'cursor_expired') {
      this.log(`subscription refused (${err.reason}): ${err.message}`);
    } else {
      this.log(`connection lost: ${err instanceof Error ? err.message : JSON.stringify(err)}`);
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.timer) return;
    const base = Math.min(this.opts.maxDelayMs, this.opts.minDelayMs * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private closeClient(): void {
    this.live = false;
    const c = this.client;
    this.client = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (c) void c.dispose();
  }
}
