// The load process of bench/controllers: the door controllers, in a process of
// their own so that their CPU is not counted as the server's. Driven by the
// benchmark over IPC (child_process.fork): each request carries an `id` and
// is answered with the same `id`.
//
// - `connect`: N controllers (examples/door-controller's DoorController, with
//   graphql-ws's client): each loads lockSnapshot, then subscribes to
//   lockAccess from its cursor.
// - `poll`: the same controllers polling lockAccessChanges every interval
//   instead (after one lockSnapshot each), spread evenly over the interval.
// - `watch`: members whose revocation (or grant) is being timed: the first
//   entry about a watched member at a controller is reported at once
//   (`{ op: 'got', m, c, at }`, `at` in ms on the wall clock).
// - `resume-prepare` / `resume-go`: one controller goes away, the benchmark
//   makes changes, the controller comes back with its cursor and catches up.
import { DoorController, type Decision, type Entry } from '../../examples/door-controller/controller.js';

export interface ControllerSpec {
  key: string;
  lockIds: string[];
}

type Request =
  | { id: number; op: 'connect'; url: string; controllers: ControllerSpec[]; batch: number }
  | { id: number; op: 'poll'; url: string; controllers: ControllerSpec[]; intervalMs: number }
  | { id: number; op: 'stop' }
  | { id: number; op: 'watch'; memberIds: string[] }
  | { id: number; op: 'count' }
  | { id: number; op: 'resume-prepare'; url: string; controller: ControllerSpec }
  | { id: number; op: 'resume-go'; expect: number };

export type Reply = { id: number } & Record<string, unknown>;

const now = () => performance.timeOrigin + performance.now();
const send = (m: object) => process.send!(m);

let controllers: DoorController[] = [];
let pollers: Poller[] = [];
/** Entries applied by every controller (subscribed or polling). */
let applied = 0;
let errors = 0;
let firstError = '';
const failed = (what: string) => {
  errors++;
  firstError ||= what;
};
let requests = 0;
const watched = new Set<string>();
const seen = new Set<string>();

function record(c: number, memberId: string): void {
  applied++;
  if (!watched.has(memberId)) return;
  const k = `${memberId}/${c}`;
  if (seen.has(k)) return;
  seen.add(k);
  send({ op: 'got', m: memberId, c, at: now() });
}

/** `fn`, again after 1 s, 2 s, 4 s... when it fails (a server that answers 503 under load), up to 6 tries. */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 5) throw e;
      failed(`retried: ${e instanceof Error ? e.message : String(e)}`);
      await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt));
    }
  }
}

async function inBatches<T>(items: T[], size: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map((x, k) => fn(x, i + k)));
}

const SNAPSHOT = `query($l: [ID!]) { lockSnapshot(lockIds: $l) { cursor } }`;
const CHANGES = `query($l: [ID!], $after: String) {
  lockAccessChanges(lockIds: $l, after: $after, first: 200) {
    entries { cursor memberId lockId placeId mayOpen windows { validFrom validUntil } }
    pageInfo { hasNextPage endCursor }
  }
}`;

async function gql<T>(url: string, key: string, query: string, variables: Record<string, unknown>): Promise<T> {
  requests++;
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (!body.data || body.errors?.length) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body.errors).slice(0, 300)}`);
  return body.data;
}

/** A controller that polls lockAccessChanges every interval (the alternative to the subscription). */
class Poller {
  private timer: NodeJS.Timeout | null = null;
  private cursor = '';
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly spec: ControllerSpec,
    private readonly index: number,
  ) {}

  async start(intervalMs: number, offsetMs: number): Promise<void> {
    this.cursor = (await retried(() => gql<{ lockSnapshot: { cursor: string } }>(this.url, this.spec.key, SNAPSHOT, { l: this.spec.lockIds }))).lockSnapshot.cursor;
    const tick = () => {
      void this.poll().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, offsetMs);
  }

  private async poll(): Promise<void> {
    try {
      for (;;) {
        const page = (await gql<{ lockAccessChanges: { entries: Entry[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(this.url, this.spec.key, CHANGES, { l: this.spec.lockIds, after: this.cursor }))
          .lockAccessChanges;
        for (const e of page.entries) record(this.index, e.memberId);
        if (page.pageInfo.endCursor) this.cursor = page.pageInfo.endCursor;
        if (!page.pageInfo.hasNextPage || this.stopped) break;
      }
    } catch (e) {
      failed(e instanceof Error ? e.message : String(e));
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

function controller(url: string, spec: ControllerSpec, index: number, onDecision?: (d: Decision) => void): DoorController {
  return new DoorController({
    url,
    key: spec.key,
    lockIds: spec.lockIds,
    onDecision: onDecision ?? ((d) => d.via === 'change' && record(index, d.memberId)),
    log: failed,
  });
}

let resuming: { c: DoorController; got: number; done: (() => void) | null; expect: number } | null = null;

async function handle(r: Request): Promise<Record<string, unknown>> {
  switch (r.op) {
    case 'connect': {
      const t0 = performance.now();
      const started = r.controllers.map((spec, i) => controller(r.url, spec, i));
      await inBatches(started, r.batch, (c) => retried(() => c.start()));
      controllers = started;
      return { ms: performance.now() - t0 };
    }
    case 'poll': {
      const n = r.controllers.length;
      pollers = r.controllers.map((spec, i) => new Poller(r.url, spec, i));
      await inBatches(pollers, 50, (p, i) => p.start(r.intervalMs, (i * r.intervalMs) / n));
      return {};
    }
    case 'stop': {
      await Promise.all(controllers.map((c) => c.stop()));
      for (const p of pollers) p.stop();
      controllers = [];
      pollers = [];
      return {};
    }
    case 'watch':
      for (const m of r.memberIds) watched.add(m);
      return {};
    case 'count':
      return { applied, errors, requests, firstError };
    case 'resume-prepare': {
      const state = { c: null as unknown as DoorController, got: 0, done: null as (() => void) | null, expect: Infinity };
      state.c = controller(r.url, r.controller, -1, (d) => {
        if (d.via !== 'change') return;
        state.got++;
        if (state.got >= state.expect) state.done?.();
      });
      await state.c.start();
      await state.c.stop();
      resuming = state;
      return { cursor: state.c.cursor };
    }
    case 'resume-go': {
      const s = resuming!;
      s.got = 0;
      s.expect = r.expect;
      const t0 = performance.now();
      const all = new Promise<void>((resolve) => (s.done = resolve));
      await s.c.resume();
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref());
      const outcome = await Promise.race([all, timeout]);
      const ms = performance.now() - t0;
      await s.c.stop();
      resuming = null;
      return { ms, got: s.got, timedOut: outcome === 'timeout' };
    }
  }
}

process.on('message', (m: Request) => {
  handle(m).then(
    (reply) => send({ id: m.id, ...reply }),
    (e: unknown) => send({ id: m.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));
