// A log to browse (the provisioning log, the login log, admin activity, or
// all): search by part of a userName, display name or group, failures only,
// a date range, paging back to the oldest entry, export to CSV or JSON lines,
// auto-refresh. Each entry opens to who did it, why it was refused, the
// membership changes and the changed fields (only those), with names for the
// ids it carries.
import { api, logExportUrl, type AuditEvent, type LogFilter, type LogKind, type LogPage, type Names } from '../api';
import { announce, badge, empty, fmtDate, h, load, replace } from '../ui';
import type { Route } from '../router';
import { memberHref } from './member';

export interface LogOptions {
  readonly id: string;
  readonly title: string;
  readonly kind: LogKind;
  /** What the log shows when there is nothing at all (no filter). */
  readonly emptyText: string;
  readonly memberLabel?: string;
  /** The filter to start with (from the route: `#scim?failures=1`). */
  readonly initial?: LogFilter;
  /** Called with the filter whenever it changes (the page keeps it in its route). */
  onFilter?(f: LogFilter): void;
}

const AUTO_REFRESH_MS = 10_000;

/** The log filter a route carries: `?q=` (or `member=`), `failures=1`, `since=`, `until=`. */
export function filterFromRoute(route?: Route): LogFilter {
  const p = route?.params;
  return { q: p?.get('q') ?? p?.get('member') ?? undefined, failures: p?.get('failures') === '1', since: p?.get('since') ?? undefined, until: p?.get('until') ?? undefined };
}

export function logSection(o: LogOptions): HTMLElement & { refresh(): void } {
  const list = h('div', { class: 'log', id: `${o.id}-entries`, 'aria-live': 'polite' });
  const search = h('input', { id: `${o.id}-member`, type: 'search', placeholder: 'Part of a userName, name or group', autocomplete: 'off' });
  const failures = h('input', { id: `${o.id}-failures`, type: 'checkbox' });
  const since = h('input', { id: `${o.id}-since`, type: 'datetime-local', step: '1' });
  const until = h('input', { id: `${o.id}-until`, type: 'datetime-local', step: '1' });
  const auto = h('input', { id: `${o.id}-auto`, type: 'checkbox' });
  const csv = h('a', { class: 'btn btn-small', id: `${o.id}-csv`, download: '' }, 'Export CSV');
  const jsonl = h('a', { class: 'btn btn-small', id: `${o.id}-jsonl`, download: '' }, 'Export JSON lines');
  search.value = o.initial?.q ?? '';
  failures.checked = o.initial?.failures ?? false;
  if (o.initial?.since) since.value = toLocalInput(o.initial.since);
  if (o.initial?.until) until.value = toLocalInput(o.initial.until);

  const filter = (): LogFilter => ({
    q: search.value.trim() || undefined,
    failures: failures.checked,
    since: since.value ? new Date(since.value).toISOString() : undefined,
    until: until.value ? new Date(until.value).toISOString() : undefined,
  });
  const filtered = (f: LogFilter) => Boolean(f.q || f.failures || f.since || f.until);

  let timer = 0;
  const refresh = () => {
    const f = filter();
    o.onFilter?.(f);
    csv.setAttribute('href', logExportUrl(o.kind, f, 'csv'));
    jsonl.setAttribute('href', logExportUrl(o.kind, f, 'jsonl'));
    void load(list, 'Loading the log', () => api.logs(o.kind, f), (page) => render(page, f));
  };

  function render(first: LogPage, f: LogFilter): Node[] {
    if (first.events.length === 0) {
      return [empty(filtered(f) ? 'No entries match these filters. Clear the search, the dates or “Failures only” to see more.' : o.emptyText)];
    }
    const ol = h('ol', { class: 'log-list' }, first.events.map((e) => entry(e, first.names)));
    const foot = h('div', { class: 'log-foot' });
    const more = (page: LogPage) => {
      if (page.hasMore) {
        const last = page.events.at(-1)!.id;
        replace(
          foot,
          h(
            'button',
            {
              type: 'button',
              class: 'btn',
              id: `${o.id}-older`,
              onclick: async (ev: Event) => {
                const b = ev.currentTarget as HTMLButtonElement;
                b.disabled = true;
                try {
                  const next = await api.logs(o.kind, { ...f, before: last });
                  for (const e of next.events) ol.appendChild(entry(e, next.names));
                  more(next);
                } catch (err) {
                  announce(err instanceof Error ? err.message : String(err), 'error');
                  b.disabled = false;
                }
              },
            },
            'Load older entries',
          ),
        );
      } else {
        replace(foot, h('p', { class: 'hint log-end', id: `${o.id}-end` }, 'This is the oldest entry.'));
      }
    };
    more(first);
    return [ol, foot];
  }

  failures.addEventListener('change', refresh);
  since.addEventListener('change', refresh);
  until.addEventListener('change', refresh);
  auto.addEventListener('change', () => {
    window.clearInterval(timer);
    // Only while the log is on screen: a new page's render drops the section.
    if (auto.checked)
      timer = window.setInterval(() => {
        if (!section.isConnected) window.clearInterval(timer);
        else if (!list.querySelector('details[open]')) refresh();
      }, AUTO_REFRESH_MS);
  });
  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': `${o.id}-title`, id: o.id },
    h('h2', { id: `${o.id}-title` }, o.title),
    h(
      'form',
      {
        class: 'filters',
        role: 'search',
        onsubmit: (e: Event) => {
          e.preventDefault();
          refresh();
        },
      },
      h('div', { class: 'field' }, h('label', { for: `${o.id}-member` }, o.memberLabel ?? 'Member or group'), search),
      h('div', { class: 'field field-date' }, h('label', { for: `${o.id}-since` }, 'From'), since),
      h('div', { class: 'field field-date' }, h('label', { for: `${o.id}-until` }, 'Until'), until),
      h('label', { class: 'check' }, failures, ' Failures only'),
      h('button', { type: 'submit', class: 'btn' }, 'Filter'),
      h('button', { type: 'button', class: 'btn btn-quiet', onclick: refresh }, 'Refresh'),
      h('label', { class: 'check' }, auto, ' Auto-refresh'),
    ),
    h('div', { class: 'actions log-export' }, csv, jsonl),
    list,
  );
  refresh();
  return Object.assign(section, { refresh });
}

/** A datetime-local value (local time, seconds) for an ISO time. */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A name for an id: the member's userName, the group's name; "a deleted …" when it no longer exists. */
function nameOf(id: string, names: Names): string {
  const n = names[id.toLowerCase()] ?? names[id];
  return n ? n.label : 'someone since deleted';
}

/** Ids in a JSON text replaced by their names (what was sent stays readable). */
function withNames(text: string, names: Names): string {
  return text.replace(UUID, (id) => {
    const n = names[id.toLowerCase()] ?? names[id];
    return n ? `${n.label}` : id;
  });
}

function entry(e: AuditEvent, names: Names): HTMLElement {
  const detail = e.detail ?? {};
  const changes = detail.changes as Record<string, unknown> | undefined;
  const sent = detail.request ?? detail.sent ?? detail.body ?? detail.operations ?? detail.member;
  const message = typeof detail.message === 'string' ? detail.message : null;
  const membership = membershipOf(detail);
  const rest = Object.fromEntries(Object.entries(detail).filter(([k]) => !['changes', 'request', 'sent', 'body', 'operations', 'member', 'message', 'addedMemberIds', 'removedMemberIds'].includes(k)));
  const label = e.resourceLabel ?? (e.resourceId ? (names[e.resourceId]?.label ?? null) : null);
  return h(
    'li',
    { class: `log-entry log-${e.outcome}`, 'data-action': e.action, 'data-outcome': e.outcome, 'data-id': e.id },
    h(
      'details',
      {},
      h(
        'summary',
        {},
        h('time', { datetime: e.at }, fmtDate(e.at)),
        ' ',
        badge(e.outcome === 'failure' ? 'refused' : 'ok', e.outcome === 'failure' ? 'error' : 'ok'),
        ' ',
        ACTION_LABEL[e.action] ? h('span', { class: 'action-label' }, `${ACTION_LABEL[e.action]} `) : null,
        h('span', { class: 'mono action' }, e.action),
        ' ',
        label
          ? e.resourceType === 'member' && e.resourceId && names[e.resourceId.toLowerCase()]
            ? h('a', { class: 'resource', href: memberHref(e.resourceId) }, label)
            : h('strong', { class: 'resource' }, label)
          : null,
        e.reason ? h('span', { class: 'reason' }, ` — ${e.reason}`) : null,
        // Who did it, at a glance (the admin activity log's question); Entra's own requests need no name.
        e.actorKind !== 'scim' ? h('span', { class: 'sub actor' }, ` by ${actorText(e)}`) : null,
      ),
      h(
        'div',
        { class: 'log-body' },
        h('p', {}, `By ${actorText(e)}${e.resourceType ? ` on ${e.resourceType}` : ''}${label ? ` ${label}` : ''}.`),
        e.outcome === 'failure' ? h('p', { class: 'why' }, h('strong', {}, 'Why refused: '), message ?? e.reason ?? 'no reason recorded') : null,
        membership.length > 0
          ? h(
              'div',
              { class: 'membership' },
              h('h3', {}, 'Membership'),
              h(
                'ul',
                {},
                membership.map((m) => h('li', { 'data-membership': m.how }, `${m.how === 'added' ? 'Added' : m.how === 'removed' ? 'Removed' : 'Set to'}: `, m.ids.map((id) => nameOf(id, names)).join(', '))),
              ),
            )
          : null,
        changes ? h('div', {}, h('h3', {}, 'What changed'), changeTable(changes)) : null,
        sent !== undefined ? h('details', { class: 'sent' }, h('summary', {}, 'What was sent'), pre(sent, names)) : null,
        Object.keys(rest).length > 0 ? h('details', { class: 'sent' }, h('summary', {}, 'Details'), pre(rest, names)) : null,
      ),
    ),
  );
}

/** Plain words for the actions an admin reads most (the admin activity log). */
const ACTION_LABEL: Record<string, string> = {
  'admin.grant': 'Made admin',
  'admin.revoke': 'Admin role removed',
  'admin.bootstrap_link.create': 'One-time admin link created',
  'admin.bootstrap_link.use': 'One-time admin link used',
  'scim.enable': 'SCIM enabled',
  'scim.disable': 'SCIM disabled',
  'scim.token.rotate': 'SCIM token rotated',
  'scim.token.revoke_previous': 'Previous SCIM token ended',
  'saml.metadata.import': 'Entra metadata imported',
  'saml.metadata.refresh': 'Entra metadata refreshed',
  'saml.certificate.generate': 'Certificate generated',
  'saml.certificate.generate_next': 'Next certificate prepared',
  'saml.certificate.promote': 'Certificate now signs',
  'saml.certificate.remove': 'Certificate removed',
  'saml.idp_initiated': 'Sign-in from My Apps changed',
  'saml.require_encryption': 'Encrypted assertions setting changed',
  'apikey.create': 'API key created',
  'apikey.revoke': 'API key revoked',
};

function actorText(e: AuditEvent): string {
  switch (e.actorKind) {
    case 'scim':
      return 'Entra provisioning (SCIM)';
    case 'admin':
      return `admin ${e.actorLabel ?? ''}`.trim();
    case 'member':
      return `member ${e.actorLabel ?? ''}`.trim();
    case 'import':
      return `group import ${e.actorLabel ?? ''}`.trim();
    case 'system':
      return e.actorLabel === 'cli' ? 'an operator (command line)' : `Gatehouse (${e.actorLabel ?? 'system'})`;
    default:
      return `${e.actorKind}${e.actorLabel ? ` (${e.actorLabel})` : ''}`;
  }
}

/**
 * Membership changes of a group: the ids that joined or left as the domain
 * records them (SCIM, GraphQL, the CLI, the import alike), or, for entries
 * older than that, the ids in a SCIM PATCH's values or paths.
 */
function membershipOf(detail: Record<string, unknown>): { how: 'added' | 'removed' | 'replaced'; ids: string[] }[] {
  const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null);
  const added = ids(detail.addedMemberIds);
  const removed = ids(detail.removedMemberIds);
  if (added || removed) {
    return [
      ...(added?.length ? [{ how: 'added' as const, ids: added }] : []),
      ...(removed?.length ? [{ how: 'removed' as const, ids: removed }] : []),
    ];
  }
  const ops = Array.isArray(detail.operations) ? (detail.operations as { op?: string; path?: string; value?: unknown }[]) : [];
  const out: { how: 'added' | 'removed' | 'replaced'; ids: string[] }[] = [];
  for (const o of ops) {
    const path = String(o.path ?? '');
    const op = String(o.op ?? '').toLowerCase();
    const fromValue = JSON.stringify(o.value ?? null).match(UUID) ?? [];
    const fromPath = path.match(UUID) ?? [];
    const isMembers = /^members/i.test(path) || (!path && typeof o.value === 'object' && o.value !== null && 'members' in (o.value as object));
    if (!isMembers) continue;
    const ids = [...new Set([...fromPath, ...fromValue])];
    if (ids.length === 0) continue;
    out.push({ how: op === 'add' ? 'added' : op === 'remove' ? 'removed' : 'replaced', ids });
  }
  return out;
}

/** Leaves of a value by path (`emails[0].value`), for comparing two states field by field. */
function leaves(v: unknown, path: string, out: Map<string, unknown>): Map<string, unknown> {
  if (Array.isArray(v)) {
    if (v.length === 0) out.set(path, '(none)');
    v.forEach((x, i) => leaves(x, `${path}[${i}]`, out));
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) leaves(x, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, v);
  }
  return out;
}

/** Only what differs: an object change is shown by its changed leaves, not as two whole objects. */
export function changedRows(changes: Record<string, unknown>): { field: string; from: unknown; to: unknown }[] {
  const rows: { field: string; from: unknown; to: unknown }[] = [];
  for (const [field, v] of Object.entries(changes)) {
    const c = v as { from?: unknown; to?: unknown } | null;
    const isPair = c !== null && typeof c === 'object' && ('from' in c || 'to' in c);
    if (!isPair) {
      rows.push({ field, from: undefined, to: v });
      continue;
    }
    const before = leaves(c.from, field, new Map());
    const after = leaves(c.to, field, new Map());
    for (const key of new Set([...before.keys(), ...after.keys()])) {
      const a = before.get(key);
      const b = after.get(key);
      if (JSON.stringify(a) !== JSON.stringify(b)) rows.push({ field: key, from: a, to: b });
    }
  }
  return rows;
}

function changeTable(changes: Record<string, unknown>): HTMLElement {
  const rows = changedRows(changes).map((r) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row', class: 'mono' }, r.field),
      h('td', { 'data-label': 'Before', class: 'change-before' }, short(r.from)),
      h('td', { 'data-label': 'After', class: 'change-after' }, short(r.to)),
    ),
  );
  return h(
    'table',
    { class: 'changes stack-sm' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After'))),
    h('tbody', {}, rows),
  );
}

function short(v: unknown): string {
  if (v === undefined || v === null) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function pre(v: unknown, names: Names): HTMLElement {
  return h('pre', { class: 'json', tabindex: '0' }, withNames(JSON.stringify(v, null, 2), names));
}
