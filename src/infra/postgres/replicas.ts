// Read replicas (DATABASE_REPLICA_URLS): PostgreSQL hot standbys fed by
// streaming replication. Reads the domain marks as lag-tolerant
// (`Db.lagTolerant`), made inside a read scope that allows them
// (./read-scope.ts: GraphQL queries, the admin console's lists), go to a
// replica that is up; everything else goes to the primary.
//
// Health: every CHECK_EVERY_MS this process samples the primary's WAL
// position (pg_current_wal_lsn) and asks each replica how far it has replayed
// (pg_last_wal_replay_lsn). A replica's lag is the age of the newest primary
// sample it has replayed (0 when it has replayed the latest one). A replica
// that does not answer within CHECK_TIMEOUT_MS, fails a read, or lags by more
// than the bound (DATABASE_REPLICA_MAX_LAG_SECONDS) is skipped, and is used
// again as soon as a check finds it answering and within the bound.
//
// Read-your-writes: after a caller (read scope with a caller key) commits a
// write on the primary, the primary's WAL position after the commit is kept
// for that caller in this process; its lag-tolerant reads go to a replica
// only once the replica's last check saw it replayed past that position,
// else to the primary. The rule holds per process: a caller whose next
// request reaches another process may read from a replica that has not
// replayed its write yet (within the lag bound).
import { Unavailable } from '../../domain/errors.js';
import type { Sql } from '../../domain/db.js';
import type { PostgresDb } from './client.js';
import { currentReadScope } from './read-scope.js';

/** How often replicas (and the primary's WAL position) are checked. */
export const CHECK_EVERY_MS = 250;
/** A replica that does not answer its check within this is down. */
export const CHECK_TIMEOUT_MS = 1000;
/** Callers whose last write is remembered (the oldest are forgotten first; a forgotten caller reads from any replica within the lag bound). */
const MAX_CALLERS = 100_000;

export type ReplicaState = 'starting' | 'up' | 'lagging' | 'down' | 'not_a_replica';

export interface ReplicaStatus {
  /** "replica1", "replica2", … in the order of DATABASE_REPLICA_URLS (URLs carry passwords: never shown). */
  readonly name: string;
  readonly state: ReplicaState;
  /** Seconds behind the primary at the last check; null when unknown (down). */
  readonly lagSeconds: number | null;
  /** Statements this process has read from it. */
  readonly reads: number;
}

/** A WAL position ("16/B374D848") as a number. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

class Replica {
  state: ReplicaState = 'starting';
  lagMs: number | null = null;
  /** WAL position replayed at the last check. */
  replayed: bigint | undefined;
  reads = 0;
  constructor(
    readonly name: string,
    readonly db: PostgresDb,
  ) {}
}

/**
 * A read cancelled by a conflict with recovery (replay needed what it held):
 * the primary answers instead. Known by its SQLSTATE alone, never by the
 * message: a standby refuses serializable transactions outright, so a
 * serialization failure (40001) of a read there is always that conflict.
 */
function recoveryConflict(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === '40001';
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)))]).finally(() => clearTimeout(timer));
}

export class ReplicaSet {
  private readonly replicas: Replica[];
  /** Each caller's last write: the primary's WAL position after its commit. */
  private readonly written = new Map<string, bigint>();
  /** Recent samples of the primary's WAL position, oldest first. */
  private samples: { at: number; lsn: bigint }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private next = 0;
  /** Lag-tolerant reads that went to the primary (no replica up, or none had replayed the caller's write). */
  primaryReads = 0;

  constructor(
    private readonly primary: PostgresDb,
    replicas: readonly PostgresDb[],
    private readonly maxLagMs: number,
    private readonly checkEveryMs = CHECK_EVERY_MS,
  ) {
    this.replicas = replicas.map((db, i) => new Replica(`replica${i + 1}`, db));
  }

  /** Checks now, then every checkEveryMs (the timer does not keep the process alive). */
  start(): Promise<void> {
    this.timer ??= setInterval(() => void this.check(), this.checkEveryMs).unref();
    return this.check();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
    await Promise.all(this.replicas.map((r) => r.db.close()));
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({ name: r.name, state: r.state, lagSeconds: r.lagMs === null ? null : r.lagMs / 1000, reads: r.reads }));
  }

  /** One round of checks (concurrent callers share it). */
  check(): Promise<void> {
    this.checking ??= this.checkAll().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkAll(): Promise<void> {
    const now = Date.now();
    try {
      const row = await withTimeout(this.primary.sql.one<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn'), CHECK_TIMEOUT_MS);
      this.samples.push({ at: now, lsn: parseLsn(row.lsn) });
    } catch {
      // The primary is away: the replicas are judged against the samples there are.
    }
    // Samples old enough to say "beyond the bound" are all that is needed.
    const keepAfter = now - 2 * this.maxLagMs - 5000;
    while (this.samples.length > 1 && this.samples[0]!.at < keepAfter) this.samples.shift();
    await Promise.all(this.replicas.map((r) => this.checkReplica(r, now)));
    // A write every replica that is up has replayed needs no remembering.
    const up = this.replicas.filter((r) => r.state === 'up' && r.replayed !== undefined);
    if (up.length === this.replicas.length && up.length > 0) {
      const least = up.reduce((m, r) => (r.replayed! < m ? r.replayed! : m), up[0]!.replayed!);
      for (const [caller, lsn] of this.written) if (lsn <= least) this.written.delete(caller);
    }
  }

  private async checkReplica(r: Replica, now: number): Promise<void> {
    let row: { recovery: boolean; replayed: string | null };
    try {
      row = await withTimeout(
        r.db.sql.one<{ recovery: boolean; replayed: string | null }>('select pg_is_in_recovery() as recovery, pg_last_wal_replay_lsn()::text as replayed'),
        CHECK_TIMEOUT_MS,
      );
    } catch {
      r.state = 'down';
      r.lagMs = null;
      return;
    }
    if (!row.recovery || row.replayed === null) {
      // Promoted, or a primary named as a replica: not fed by this primary's WAL.
      r.state = 'not_a_replica';
      r.lagMs = null;
      r.replayed = undefined;
      return;
    }
    const replayed = parseLsn(row.replayed);
    r.replayed = replayed;
    r.lagMs = this.lagOf(replayed, now);
    r.state = r.lagMs > this.maxLagMs ? 'lagging' : 'up';
  }

  /** How old the newest primary sample is that `replayed` covers (0: the latest). */
  private lagOf(replayed: bigint, now: number): number {
    for (let i = this.samples.length - 1; i >= 0; i--) {
      const s = this.samples[i]!;
      if (s.lsn <= replayed) return i === this.samples.length - 1 ? 0 : now - this.samples[i + 1]!.at;
    }
    // Behind every sample kept: at least as old as the oldest.
    return this.samples.length > 0 ? now - this.samples[0]!.at : 0;
  }

  /** Remembers `caller`'s write at `lsn` (the primary's WAL position after it committed). */
  noteWrite(caller: string, lsn: bigint): void {
    const before = this.written.get(caller);
    this.written.delete(caller);
    this.written.set(caller, before !== undefined && before > lsn ? before : lsn);
    if (this.written.size > MAX_CALLERS) this.written.delete(this.written.keys().next().value!);
  }

  /** A replica that may serve `caller`'s reads now, taking turns; undefined: the primary. */
  private pick(caller: string | undefined): Replica | undefined {
    const need = caller === undefined ? undefined : this.written.get(caller);
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(this.next + i) % n]!;
      if (r.state !== 'up') continue;
      if (need !== undefined && (r.replayed === undefined || r.replayed < need)) continue;
      this.next = (this.next + i + 1) % n;
      return r;
    }
    return undefined;
  }

  /** Runs a lag-tolerant read where the current read scope allows: a replica, or the primary. */
  read<T>(run: (sql: Sql) => Promise<T>): Promise<T> {
    const scope = currentReadScope();
    if (!scope?.lagTolerant) return run(this.primary.sql);
    const r = this.pick(scope.caller);
    if (!r) {
      this.primaryReads++;
      return run(this.primary.sql);
    }
    r.reads++;
    return run(r.db.sql).catch((e: unknown) => {
      if (e instanceof Unavailable) {
        // Skipped from now until a check finds it again.
        r.state = 'down';
        r.lagMs = null;
      } else if (!recoveryConflict(e)) {
        throw e;
      }
      this.primaryReads++;
      return run(this.primary.sql);
    });
  }
}
