// The events Gatehouse tells others about (webhooks), and how each comes from
// the audit trail. The audit trail is written in the transaction of every
// change, so it is the outbox: the dispatcher reads it in commit-safe order
// and turns each event into the webhook events below (a pure function here).
import type { StreamEvent } from '../audit/audit-stream.js';
import { toExportJson } from '../audit/audit-export.js';

export const EVENT_TYPES = [
  'member.created',
  'member.updated',
  'member.deactivated',
  'member.reactivated',
  'member.deleted',
  'group.members_changed',
  'share.granted',
  'share.revoked',
  'access.changed',
  'signin.succeeded',
  'signin.refused',
  'import.finished',
  'import.failed',
  'deprovision.held',
  'audit.event',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** What each event type means (README, CLI help, GraphQL descriptions). */
export const EVENT_DESCRIPTIONS: Record<EventType, string> = {
  'member.created': 'a member was created (by Entra through SCIM, an import, an admin or an app)',
  'member.updated': 'a member changed; `changes` has before and after of each field',
  'member.deactivated': 'a member was deactivated (Entra unassigned or disabled the person): every door is closed to them',
  'member.reactivated': 'a deactivated member became active again',
  'member.deleted': 'a member was deleted',
  'group.members_changed': 'members joined or left a group (`added`, `removed`: member ids)',
  'share.granted': 'access to a place or lock was shared with a member or a group',
  'share.revoked': 'a share was revoked',
  'access.changed':
    'who may open a lock changed: one event per member and lock, as the per-lock access feed (lockAccess) gives it (`member`, `lock`, `mayOpen` now, `windows`, `cursor` of the feed); chosen explicitly, not part of "*"',
  'signin.succeeded': 'a member signed in with SAML',
  'signin.refused': 'a SAML sign-in was refused (`reason` says why)',
  'import.finished': 'an Entra group import run changed something and finished',
  'import.failed': 'an Entra group import run failed (`errorCode`, `error`)',
  'deprovision.held':
    'the mass-deprovision guard held revocations from SCIM or the import for an admin to approve or discard (`kind`, `member` or `group`, `held`, `memberIds`); sent when a change is first held, not when Entra asks for it again',
  'audit.event': 'every audit event, as the audit export gives it (chosen explicitly; not part of "*")',
};

/** The high-volume types an endpoint gets only when it names them: "*" leaves them out. */
export const EXPLICIT_ONLY_TYPES: readonly EventType[] = ['audit.event', 'access.changed'];

/** Types an endpoint subscribed to "*" receives: all but the firehoses (every audit event, every per-lock change). */
export function matchesSubscription(subscribed: readonly string[], type: EventType): boolean {
  if (subscribed.includes(type)) return true;
  return !EXPLICIT_ONLY_TYPES.includes(type) && subscribed.includes('*');
}

/** A membership change of a group in one transaction, from the access-change feed of that transaction. */
export interface MembershipDelta {
  readonly added: string[];
  readonly removed: string[];
}

export interface OutboundEvent {
  /** Stable across retries and redeliveries: the Standard Webhooks `webhook-id`. */
  readonly id: string;
  readonly type: EventType;
  readonly timestamp: Date;
  readonly data: Record<string, unknown>;
}

const MEMBER_CREATE = new Set(['member.create', 'scim.user.create']);
const MEMBER_UPDATE = new Set(['member.update', 'scim.user.replace', 'scim.user.patch']);
const MEMBER_DELETE = new Set(['member.delete', 'scim.user.delete']);
const GROUP_WRITE = new Set(['group.create', 'group.update', 'scim.group.create', 'scim.group.replace', 'scim.group.patch']);
/** Member ids listed per event at most; beyond, `truncated` says so and the receiver reads the group. */
export const MAX_LISTED_MEMBERS = 1000;

function actorOf(e: StreamEvent): Record<string, unknown> {
  return { kind: e.actorKind, id: e.actorId, label: e.actorLabel };
}

function changesOf(e: StreamEvent): Record<string, { from: unknown; to: unknown }> | null {
  const c = (e.detail as { changes?: unknown }).changes;
  return c && typeof c === 'object' ? (c as Record<string, { from: unknown; to: unknown }>) : null;
}

/**
 * The outbound events of one audit event. `membership` holds the members
 * added to and removed from groups in the event's transaction (keyed by group
 * id), read from the access-change feed of the same transaction.
 */
export function outboundEventsOf(e: StreamEvent, membership: ReadonlyMap<string, MembershipDelta>): OutboundEvent[] {
  const out: OutboundEvent[] = [];
  const add = (type: EventType, data: Record<string, unknown>) => out.push({ id: `evt_${e.id}_${type}`, type, timestamp: e.at, data });
  const ok = e.outcome === 'success';
  const member = { id: e.resourceId, userName: e.resourceLabel };
  const base = { auditEventId: e.id, actor: actorOf(e), requestId: e.requestId };

  if (ok && MEMBER_CREATE.has(e.action)) add('member.created', { ...base, member });
  else if (ok && MEMBER_UPDATE.has(e.action)) {
    const changes = changesOf(e) ?? {};
    add('member.updated', { ...base, member, changes });
    const active = changes.active;
    if (active && active.to === false) add('member.deactivated', { ...base, member });
    if (active && active.to === true) add('member.reactivated', { ...base, member });
  } else if (ok && MEMBER_DELETE.has(e.action)) add('member.deleted', { ...base, member });
  else if (ok && GROUP_WRITE.has(e.action) && e.resourceId) {
    const delta = membership.get(e.resourceId);
    if (delta && (delta.added.length > 0 || delta.removed.length > 0)) {
      add('group.members_changed', {
        ...base,
        group: { id: e.resourceId, displayName: e.resourceLabel },
        added: delta.added.slice(0, MAX_LISTED_MEMBERS),
        removed: delta.removed.slice(0, MAX_LISTED_MEMBERS),
        addedCount: delta.added.length,
        removedCount: delta.removed.length,
        truncated: delta.added.length > MAX_LISTED_MEMBERS || delta.removed.length > MAX_LISTED_MEMBERS,
      });
    }
  } else if (ok && (e.action === 'share.grant' || e.action === 'share.revoke')) {
    const share = (e.detail as { share?: Record<string, unknown> }).share ?? { id: e.resourceId };
    add(e.action === 'share.grant' ? 'share.granted' : 'share.revoked', { ...base, share });
  } else if (e.action === 'saml.login') {
    const d = e.detail as { flow?: unknown; nameId?: unknown; message?: unknown };
    if (ok) add('signin.succeeded', { ...base, member, flow: d.flow ?? null });
    else add('signin.refused', { ...base, nameId: e.resourceLabel ?? d.nameId ?? null, reason: e.reason, message: d.message ?? null });
  } else if (ok && e.action.startsWith('guard.hold.')) {
    // Held by the mass-deprovision guard. Entra retrying (or the next run) asks for the same change again: told once.
    const d = e.detail as { repeated?: unknown; held?: unknown; new?: unknown; memberIds?: unknown };
    const kind = e.action.slice('guard.hold.'.length);
    const groupRemove = kind === 'group_remove';
    const fresh = groupRemove ? Number(d.new ?? 0) > 0 : d.repeated !== true;
    if (fresh) {
      add('deprovision.held', {
        ...base,
        source: e.actorKind,
        kind,
        member: groupRemove ? null : member,
        group: groupRemove ? { id: e.resourceId } : null,
        held: groupRemove ? (d.held ?? null) : 1,
        memberIds: groupRemove ? (Array.isArray(d.memberIds) ? d.memberIds : []) : [e.resourceId],
      });
    }
  } else if (e.action === 'import.run') {
    const d = e.detail as Record<string, unknown>;
    const integration = { id: e.resourceId, name: e.resourceLabel };
    const counts = { total: d.total ?? null, added: d.added ?? null, updated: d.updated ?? null, removed: d.removed ?? null, durationMs: d.durationMs ?? null };
    if (ok) add('import.finished', { ...base, integration, ...counts });
    else add('import.failed', { ...base, integration, ...counts, errorCode: d.errorCode ?? null, error: e.reason });
  }
  add('audit.event', toExportJson(e));
  return out;
}

/** The JSON body sent: `{ type, timestamp, data }` (the Standard Webhooks payload shape). */
export function payloadOf(ev: OutboundEvent): string {
  return JSON.stringify({ type: ev.type, timestamp: ev.timestamp.toISOString(), data: ev.data });
}
