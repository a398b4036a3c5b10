// The webhooks' consumer of the audit stream: audit events → outbound events →
// one delivery per subscribed endpoint.
import type { Sql } from '../db.js';
import type { StreamEvent } from '../audit/audit-stream.js';
import type { StreamConsumer } from '../events/event-dispatcher.js';
import { outboundEventsOf, type MembershipDelta } from '../events/event-types.js';
import { WEBHOOK_CONSUMER, type WebhookService } from './webhook.service.js';

const MEMBERSHIP_ACTIONS = new Set(['group.create', 'group.update', 'scim.group.create', 'scim.group.replace', 'scim.group.patch']);

/**
 * Who joined and left which group in the transactions of these events, from
 * the access-change feed rows those transactions wrote (same txid): one
 * statement for the batch, and only when it holds a membership change.
 */
async function membershipOf(tx: Sql, organizationId: string, events: readonly StreamEvent[]): Promise<Map<string, Map<string, MembershipDelta>>> {
  const txids = [...new Set(events.filter((e) => e.outcome === 'success' && MEMBERSHIP_ACTIONS.has(e.action)).map((e) => e.position.txid))];
  const out = new Map<string, Map<string, MembershipDelta>>();
  if (txids.length === 0) return out;
  const rows = await tx.all<{ txid: string; group_id: string; kind: string; member_id: string }>(
    `select txid::text as txid, group_id, kind, member_id from access_changes
     where organization_id = $1 and txid = any($2::xid8[]) and kind in ('group_member_added', 'group_member_removed') order by id`,
    [organizationId, txids],
  );
  for (const r of rows) {
    let byGroup = out.get(r.txid);
    if (!byGroup) out.set(r.txid, (byGroup = new Map()));
    let delta = byGroup.get(r.group_id);
    if (!delta) byGroup.set(r.group_id, (delta = { added: [], removed: [] }));
    (r.kind === 'group_member_added' ? delta.added : delta.removed).push(r.member_id);
  }
  return out;
}

export function webhookConsumer(webhooks: WebhookService): StreamConsumer {
  return {
    name: WEBHOOK_CONSUMER,
    async handle(tx, organizationId, events) {
      const membership = await membershipOf(tx, organizationId, events);
      const none = new Map<string, MembershipDelta>();
      const outbound = events.flatMap((e) => {
        const ofTx = membership.get(e.position.txid) ?? none;
        const out = outboundEventsOf(e, ofTx).map((o) => ({ ...o, position: e.position }));
        // A transaction's membership rows of a group belong to its first event about that group.
        if (e.resourceId && out.some((o) => o.type === 'group.members_changed')) ofTx.delete(e.resourceId);
        return out;
      });
      await webhooks.fanOut(tx, organizationId, outbound);
    },
  };
}
