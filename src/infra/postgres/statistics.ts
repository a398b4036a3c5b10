// Keeps the planner's statistics of growing tables current. During Entra's
// first cycle the directory grows fast; autovacuum analyses only every minute
// or so, and never on PGlite, and without statistics a plan can take a
// whole-table scan for a primary-key lookup. PostgreSQL replans prepared
// statements as soon as a table they read is analysed.
import type { Subscription } from '../../domain/db.js';
import type { PostgresDb } from './client.js';
import { uncounted } from './statement-count.js';

/** The tables whose growth the hot paths' plans depend on. */
export const GROWING_TABLES = ['members', 'groups', 'group_members', 'shares', 'sessions', 'access_changes', 'audit_events'] as const;

/**
 * Tables changed by more than a fifth of their rows (and at least 500), or
 * grown by a fifth of their pages (and at least 10), since their last
 * analysis. Changed rows where PostgreSQL counts them; grown pages everywhere
 * (PGlite keeps no such counters).
 */
export async function staleTables(db: PostgresDb, tables: readonly string[]): Promise<string[]> {
  const rows = await db.sql.all<{ relname: string }>(
    `select c.relname from pg_class c
     left join pg_stat_user_tables s on s.relid = c.oid
     where c.relnamespace = current_schema()::regnamespace and c.relname = any($1::text[])
       and (coalesce(s.n_mod_since_analyze, 0) > greatest(500, 0.2 * coalesce(s.n_live_tup, 0))
            or pg_relation_size(c.oid) / current_setting('block_size')::int > greatest(c.relpages * 1.2, c.relpages + 10))`,
    [tables],
  );
  return rows.map((r) => r.relname);
}

/** Analyses `table` unless another process is analysing it right now. */
export async function analyse(db: PostgresDb, table: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [mine] = await tx.all<{ ok: boolean }>(`select pg_try_advisory_xact_lock(hashtext('gatehouse.analyze.' || $1)) as ok`, [table]);
    if (mine?.ok) await tx.run(`analyze "${table.replace(/"/g, '""')}"`);
  });
}

/** One round: analyses the stale ones of `tables` (each by one process at a time); the tables analysed. */
export async function analyseStale(db: PostgresDb, tables: readonly string[] = GROWING_TABLES): Promise<string[]> {
  const stale = await staleTables(db, tables);
  for (const table of stale) await analyse(db, table);
  return stale;
}

/** Every `everyMs`, analyses the stale ones of `tables` (one process at a time). The server runs `analyseStale` as a scheduler job instead. */
export function keepStatistics(db: PostgresDb, tables: readonly string[] = GROWING_TABLES, everyMs = 5_000): Subscription {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const round = async () => {
    for (const table of await staleTables(db, tables)) {
      if (stopped) return;
      await analyse(db, table);
    }
  };
  const schedule = () => {
    if (stopped || !db.isOpen) return;
    timer = setTimeout(() => {
      round().then(schedule, schedule);
    }, everyMs);
    timer.unref();
  };
  uncounted(schedule);
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
