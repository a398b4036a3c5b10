// The audit stream (and so the export, webhooks and mail) shows an event once
// every transaction of this database older than it has ended (COMMIT_FENCE);
// tests that read at once after writing through other connections wait for that.
import type { Db } from '../../src/domain/db.js';
import { COMMIT_FENCE } from '../../src/domain/audit/audit-stream.js';

/** Resolves once every transaction that committed before this call is below the stream's fence. */
export async function waitForFence(db: Db, timeoutMs = 20_000): Promise<void> {
  const { txid } = await db.sql.one<{ txid: string }>(`select pg_current_xact_id()::text as txid`);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { ok } = await db.sql.one<{ ok: boolean }>(`select ${COMMIT_FENCE} > $1::xid8 as ok`, [txid]);
    if (ok) return;
    if (Date.now() > until) throw new Error(`the stream's fence did not pass transaction ${txid} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
