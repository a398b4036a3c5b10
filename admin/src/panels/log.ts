// A filterable audit log (the provisioning log and the login log): each entry
// says who, what, on whom, and opens to what was sent, what changed, or why it
// was refused.
import type { AuditEvent, LogFilter } from '../api';
import { badge, empty, fmtDate, h, load } from '../ui';

export interface LogOptions {
  readonly id: string;
  readonly title: string;
  readonly emptyText: string;
  readonly memberLabel: string;
  /** The filter to start with (from the route: `#scim?failures=1`). */
  readonly initial?: LogFilter;
  fetch(f: LogFilter): Promise<{ events: AuditEvent[] }>;
}

export function logSection(o: LogOptions): HTMLElement & { refresh(): void } {
  const list = h('div', { class: 'log', id: `${o.id}-entries` });
  const member = h('input', { id: `${o.id}-member`, type: 'search', placeholder: 'userName', autocomplete: 'off' });
  const failures = h('input', { id: `${o.id}-failures`, type: 'checkbox' });
  member.value = o.initial?.member ?? '';
  failures.checked = o.initial?.failures ?? false;
  const refresh = () => void load(list, 'Loading the log', () => o.fetch({ member: member.value.trim() || undefined, failures: failures.checked }), ({ events }) => render(events, o.emptyText));
  failures.addEventListener('change', refresh);
  const section = h(
    'section',
    { class: 'card', 'aria-labelledby': `${o.id}-title` },
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
      h('div', { class: 'field' }, h('label', { for: `${o.id}-member` }, o.memberLabel), member),
      h('label', { class: 'check' }, failures, ' Failures only'),
      h('button', { type: 'submit', class: 'btn' }, 'Filter'),
      h('button', { type: 'button', class: 'btn btn-quiet', onclick: refresh }, 'Refresh'),
    ),
    list,
  );
  refresh();
  return Object.assign(section, { refresh });
}

function render(events: AuditEvent[], emptyText: string): Node {
  if (events.length === 0) return empty(emptyText);
  return h('ol', { class: 'log-list' }, events.map(entry));
}

function entry(e: AuditEvent): HTMLElement {
  const detail = e.detail ?? {};
  const changes = detail.changes as Record<string, unknown> | undefined;
  const sent = detail.request ?? detail.sent ?? detail.body ?? detail.operations ?? detail.member;
  const message = typeof detail.message === 'string' ? detail.message : null;
  const rest = Object.fromEntries(Object.entries(detail).filter(([k]) => !['changes', 'request', 'sent', 'body', 'operations', 'member', 'message'].includes(k)));
  return h(
    'li',
    { class: `log-entry log-${e.outcome}`, 'data-action': e.action, 'data-outcome': e.outcome },
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
        h('span', { class: 'mono action' }, e.action),
        ' ',
        e.resourceLabel ? h('strong', { class: 'resource' }, e.resourceLabel) : null,
        e.reason ? h('span', { class: 'reason' }, ` — ${e.reason}`) : null,
      ),
      h(
        'div',
        { class: 'log-body' },
        h('p', {}, `By ${e.actorKind}${e.actorLabel ? ` (${e.actorLabel})` : ''}${e.resourceType ? ` on ${e.resourceType}` : ''}${e.resourceId ? ` ${e.resourceId}` : ''}.`),
        e.outcome === 'failure' ? h('p', { class: 'why' }, h('strong', {}, 'Why refused: '), message ?? e.reason ?? 'no reason recorded') : null,
        sent !== undefined ? h('div', {}, h('h3', {}, 'What was sent'), pre(sent)) : null,
        changes ? h('div', {}, h('h3', {}, 'What changed'), changeTable(changes)) : null,
        Object.keys(rest).length > 0 ? h('div', {}, h('h3', {}, 'Details'), pre(rest)) : null,
      ),
    ),
  );
}

function changeTable(changes: Record<string, unknown>): HTMLElement {
  const rows = Object.entries(changes).map(([field, v]) => {
    const c = v as { from?: unknown; to?: unknown } | null;
    const isPair = c !== null && typeof c === 'object' && ('from' in c || 'to' in c);
    return h('tr', {}, h('th', { scope: 'row', class: 'mono' }, field), h('td', {}, isPair ? short(c.from) : ''), h('td', {}, isPair ? short(c.to) : short(v)));
  });
  return h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After'))), h('tbody', {}, rows)));
}

function short(v: unknown): string {
  if (v === undefined || v === null) return '—';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function pre(v: unknown): HTMLElement {
  return h('pre', { class: 'json', tabindex: '0' }, JSON.stringify(v, null, 2));
}
