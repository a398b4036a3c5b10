// Prometheus metrics: request durations by route and status, database pool use.
import client from 'prom-client';
import type { ReplicaStatus } from '../infra/postgres/replicas.js';

export interface Metrics {
  readonly registry: client.Registry;
  /** Records one answered request (called by the request context when the response is finished); `route` is a pattern, never a raw path. */
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createMetrics(
  pool: () => { used: number; free: number; pending: number; size: number },
  /** Changes the mass-deprovision guard holds, every organisation, by source (read at scrape time). */
  held?: () => Promise<{ source: string; n: number }[]>,
  /** Each read replica's state and lag (DATABASE_REPLICA_URLS). */
  replicas?: () => ReplicaStatus[],
): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const duration = new client.Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new client.Gauge({
    name: 'gatehouse_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const p = pool();
      this.set({ state: 'used' }, p.used);
      this.set({ state: 'free' }, p.free);
      this.set({ state: 'pending' }, p.pending);
      this.set({ state: 'size' }, p.size);
    },
  });
  if (held) {
    new client.Gauge({
      name: 'gatehouse_guard_held_changes',
      help: 'Deactivations, deletions and membership removals the mass-deprovision guard holds for an admin, by source',
      labelNames: ['source'] as const,
      registers: [registry],
      async collect() {
        const rows = await held().catch(() => undefined);
        if (!rows) return;
        this.set({ source: 'scim' }, 0);
        this.set({ source: 'import' }, 0);
        for (const r of rows) this.set({ source: r.source }, r.n);
      },
    });
  }
  if (replicas) {
    new client.Gauge({
      name: 'gatehouse_db_replica_up',
      help: 'Whether a read replica serves reads (1), or is skipped (0: down, lagging beyond DATABASE_REPLICA_MAX_LAG_SECONDS, or not a replica), by replica and state',
      labelNames: ['replica', 'state'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const r of replicas()) this.set({ replica: r.name, state: r.state }, r.state === 'up' ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'gatehouse_db_replica_lag_seconds',
      help: 'How far a read replica was behind the primary at its last check (absent while it does not answer)',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const r of replicas()) if (r.lagSeconds !== null) this.set({ replica: r.name }, r.lagSeconds);
      },
    });
    new client.Gauge({
      name: 'gatehouse_db_replica_reads',
      help: 'Statements this process has read from a read replica since it started',
      labelNames: ['replica'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const r of replicas()) this.set({ replica: r.name }, r.reads);
      },
    });
  }
  return {
    registry,
    observe(method, route, status, seconds) {
      duration.observe({ method, route, status: String(status) }, seconds);
    },
  };
}
