// The audit stream (and so the export, webhooks and mail) shows an event once
// every transaction older than it has ended on the whole server; the test
// server is shared by other test files that create databases and run
// transactions, so tests wait for that instead of reading at once.
import type { Db } from '../../src/domain/db.js';

/** Resolves once every transaction that committed before this call is below the stream's fence. */
export async function waitForFence(db: Db, timeoutMs = 20_000): Promise<void> {
  const { txid } = await db.sql.one<{ txid: string }>(`select pg_current_xact_id()::text as txid`);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { ok } = await db.sql.one<{ ok: boolean }>(`select pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 as ok`, [txid]);
    if (ok) return;
    if (Date.now() > until) throw new Error(`the stream's fence did not pass transaction ${txid} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
