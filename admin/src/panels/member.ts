// A member's page (#member?id=…): profile, who owns it (its source), groups,
// "what can this person open, and why" at a chosen time, every validity
// window, and the recent provisioning and sign-ins. All of it is one GraphQL
// read (MEMBER_PAGE_QUERY): an app with an admin key reads the same.
import { api, type AuditEvent, type MemberDetail, type MemberPageData, type ShareRef } from '../api';
import type { ConsoleContext } from '../context';
import { route, type Route } from '../router';
import { badge, empty, errorBox, fmtDate, h, loading, replace } from '../ui';

const SOURCE_TEXT: Record<string, { label: string; owner: string }> = {
  scim: { label: 'SCIM', owner: 'Owned by Microsoft Entra (SCIM provisioning): change the profile in Entra; Entra’s next cycle brings it here.' },
  import: { label: 'Import', owner: 'Owned by the Entra group import: change it in Entra; the next import run brings it here.' },
  admin: { label: 'Admin', owner: 'Created here (an admin or an app with an admin key): changed here, not by Entra.' },
};

/** A datetime-local value (local time, seconds) for a Date. */
export function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The ISO time of a datetime-local value (local time), or null when empty or not a date. */
export function fromLocalInput(v: string): string | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function memberHref(id: string): string {
  return route('member', { id });
}

/** "Open now", "Starts …", "Ended …" for a validity window at `at`. */
export function windowState(from: string | null, until: string | null, at = new Date()): { text: string; kind: string } {
  if (from && new Date(from) > at) return { text: `starts ${fmtDate(from)}`, kind: 'warn' };
  if (until && new Date(until) <= at) return { text: `ended ${fmtDate(until)}`, kind: 'off' };
  return { text: until ? `open until ${fmtDate(until)}` : 'open, no end', kind: 'ok' };
}

function windowText(from: string | null, until: string | null): string {
  if (!from && !until) return 'always';
  return `${from ? fmtDate(from) : 'any time'} → ${until ? fmtDate(until) : 'no end'}`;
}

export async function renderMember(panel: HTMLElement, _ctx: ConsoleContext, r: Route): Promise<void> {
  const id = r.params.get('id') ?? '';
  const atParam = r.params.get('at');
  replace(panel, loading('Loading the member'));
  panel.setAttribute('aria-busy', 'true');
  let data: MemberPageData;
  try {
    data = await api.member(id, atParam ?? undefined);
  } catch (e) {
    replace(panel, h('p', {}, h('a', { href: '#people' }, '← People & access')), errorBox(e, () => void renderMember(panel, _ctx, r)));
    return;
  } finally {
    panel.removeAttribute('aria-busy');
  }
  const m = data.member;
  const atDate = atParam ? new Date(atParam) : new Date();
  const title = h('h2', { id: 'member-title', tabindex: '-1' }, m.displayName ?? m.userName);
  replace(
    panel,
    h('p', { class: 'crumbs' }, h('a', { href: '#people' }, '← People & access')),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'member-title', id: 'member-profile' },
      title,
      h(
        'p',
        {},
        badge(SOURCE_TEXT[m.source]?.label ?? m.source, `source-${m.source}`),
        ' ',
        m.active ? badge('Active', 'ok') : badge(`Inactive${m.deactivatedBy ? ` (deactivated by ${SOURCE_TEXT[m.deactivatedBy]?.label ?? m.deactivatedBy})` : ''}`, 'off'),
      ),
      h('p', { class: 'hint', id: 'member-owner' }, SOURCE_TEXT[m.source]?.owner ?? ''),
      profile(m),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'member-groups-title' }, h('h2', { id: 'member-groups-title' }, 'Groups'), groups(m)),
    accessSection(m, atDate, id),
    h('section', { class: 'card', 'aria-labelledby': 'member-windows-title' }, h('h2', { id: 'member-windows-title' }, 'Validity windows'), windows(m, atDate)),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'member-history-title' },
      h('h2', { id: 'member-history-title' }, 'Recent provisioning and changes'),
      eventList(data.history.events, 'member-history', 'Nothing recorded for this member yet.', m.id),
      h('p', {}, h('a', { href: route('logs', { log: 'all', q: m.userName }), id: 'member-history-all' }, `All ${data.history.totalCount} entries in Logs`)),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'member-signins-title' },
      h('h2', { id: 'member-signins-title' }, 'Recent sign-ins'),
      eventList(data.signIns.events, 'member-signins', 'No sign-in yet.'),
      h('p', {}, h('a', { href: route('logs', { log: 'sign-in', q: m.userName }) }, `All ${data.signIns.totalCount} sign-ins in Logs`)),
    ),
  );
  document.title = `${m.displayName ?? m.userName} · Gatehouse`;
  if (!atParam) title.focus({ preventScroll: true });
}

function profile(m: MemberDetail): HTMLElement {
  const facts: [string, string | null][] = [
    ['userName (NameID)', m.userName],
    ['Display name', m.displayName],
    ['Given name', m.name.givenName],
    ['Family name', m.name.familyName],
    ['Email', m.emails.map((e) => `${e.value}${e.type ? ` (${e.type})` : ''}`).join(', ') || null],
    ['Phone', m.phoneNumbers.map((p) => `${p.value}${p.type ? ` (${p.type})` : ''}`).join(', ') || null],
    ['Job title', m.title],
    ['Department', m.enterprise.department],
    ['Employee number', m.enterprise.employeeNumber],
    ['Entra id (externalId)', m.externalId],
    ['Created', fmtDate(m.createdAt)],
    ['Last changed', fmtDate(m.updatedAt)],
  ];
  return h(
    'dl',
    { class: 'facts' },
    facts.filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, k), h('dd', { class: k.startsWith('userName') || k.startsWith('Entra') ? 'mono' : '' }, v!)]),
  );
}

function groups(m: MemberDetail): HTMLElement {
  if (m.groups.length === 0) return empty('In no group.');
  return h(
    'ul',
    { class: 'chips', id: 'member-groups' },
    m.groups.map((g) => h('li', {}, g.displayName, ' ', badge(SOURCE_TEXT[g.source]?.label ?? g.source, `source-${g.source}`))),
  );
}

function accessSection(m: MemberDetail, at: Date, id: string): HTMLElement {
  const input = h('input', { id: 'member-at', type: 'datetime-local', step: '1', value: localInput(at) });
  input.value = localInput(at);
  const form = h(
    'form',
    {
      class: 'filters',
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = route('member', { id, at: fromLocalInput(input.value) });
      },
    },
    h('div', { class: 'field field-date' }, h('label', { for: 'member-at' }, 'At'), input),
    h('button', { type: 'submit', class: 'btn' }, 'Check'),
    h('a', { class: 'btn btn-quiet', href: route('member', { id }) }, 'Now'),
  );
  const body = !m.active
    ? empty('Inactive members can open nothing, whatever their shares.')
    : m.access.length === 0
      ? empty(`Nothing at ${fmtDate(at.toISOString())}: no share of this member or of its groups is open then.`)
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { id: 'member-access', class: 'stack-sm' },
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Lock'), h('th', { scope: 'col' }, 'Why'), h('th', { scope: 'col' }, 'Valid'))),
            h(
              'tbody',
              {},
              m.access.map((a) =>
                h(
                  'tr',
                  { 'data-lock': a.lockName },
                  h('td', { 'data-label': 'Lock' }, h('a', { href: route('lock', { id: a.lockId, at: at.toISOString() }) }, a.lockName), h('div', { class: 'sub' }, a.placeName)),
                  h(
                    'td',
                    { 'data-label': 'Why', class: 'why-cell' },
                    a.grants.map((g) =>
                      h('div', {}, `${g.role} via ${g.groupName ? `group ${g.groupName}` : 'a direct share'}, on the ${g.scope === 'place' ? `place ${a.placeName}` : `lock ${a.lockName}`}`),
                    ),
                  ),
                  h('td', { 'data-label': 'Valid' }, a.grants.map((g) => h('div', {}, windowText(g.validFrom, g.validUntil)))),
                ),
              ),
            ),
          ),
        );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'member-access-title' },
    h('h2', { id: 'member-access-title' }, 'What can this person open, and why'),
    form,
    h('p', { class: 'count', id: 'member-access-count' }, m.active ? `${m.access.length} lock${m.access.length === 1 ? '' : 's'} at ${fmtDate(at.toISOString())}` : ''),
    body,
  );
}

function windows(m: MemberDetail, at: Date): HTMLElement {
  const rows: { via: string; share: ShareRef }[] = [
    ...m.shares.map((share) => ({ via: 'Direct share', share })),
    ...m.groups.flatMap((g) => g.shares.map((share) => ({ via: `Group ${g.displayName}`, share }))),
  ];
  if (rows.length === 0) return empty('No share reaches this member, directly or through a group.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id: 'member-windows', class: 'stack-sm' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Through'), h('th', { scope: 'col' }, 'On'), h('th', { scope: 'col' }, 'Window'), h('th', { scope: 'col' }, 'Then'))),
      h(
        'tbody',
        {},
        rows.map(({ via, share }) => {
          const state = windowState(share.validFrom, share.validUntil, at);
          return h(
            'tr',
            {},
            h('td', { 'data-label': 'Through' }, via),
            h('td', { 'data-label': 'On' }, share.lock ? `Lock ${share.lock.name}` : share.place ? `Place ${share.place.name}` : '—', h('div', { class: 'sub' }, share.role)),
            h('td', { 'data-label': 'Window' }, windowText(share.validFrom, share.validUntil)),
            h('td', { 'data-label': 'Then' }, badge(state.text, state.kind)),
          );
        }),
      ),
    ),
  );
}

const ACTION_TEXT: Record<string, string> = {
  'scim.user.create': 'Provisioned by Entra',
  'scim.user.replace': 'Updated by Entra',
  'scim.user.patch': 'Updated by Entra',
  'scim.user.delete': 'Deleted by Entra',
  'scim.group.patch': 'Group membership changed by Entra',
  'scim.group.replace': 'Group membership changed by Entra',
  'scim.group.create': 'Group created by Entra',
  'member.create': 'Created',
  'member.update': 'Changed',
  'group.update': 'Group membership changed',
  'share.grant': 'Share granted',
  'share.revoke': 'Share revoked',
  'saml.login': 'Sign-in',
  'admin.grant': 'Made a console admin',
  'admin.revoke': 'Console admin role removed',
};

/** What a group change did to this member: joined or left (the ids every membership change records). */
function membershipText(e: AuditEvent, memberId: string | undefined): string | null {
  if (!memberId || e.resourceType !== 'group') return null;
  const has = (k: string) => Array.isArray(e.detail?.[k]) && (e.detail[k] as unknown[]).includes(memberId);
  return has('addedMemberIds') ? 'Added to group' : has('removedMemberIds') ? 'Removed from group' : null;
}

function eventList(events: AuditEvent[], id: string, emptyText: string, memberId?: string): HTMLElement {
  if (events.length === 0) return empty(emptyText);
  return h(
    'ul',
    { class: 'event-list', id },
    events.map((e) =>
      h(
        'li',
        { 'data-action': e.action, 'data-outcome': e.outcome },
        h('time', { datetime: e.at }, fmtDate(e.at)),
        ' ',
        badge(e.outcome === 'failure' ? 'refused' : 'ok', e.outcome === 'failure' ? 'error' : 'ok'),
        ' ',
        h('span', {}, membershipText(e, memberId) ?? ACTION_TEXT[e.action] ?? e.action),
        e.resourceType === 'group' && e.resourceLabel ? h('span', {}, ` (${e.resourceLabel})`) : null,
        e.actorLabel && e.actorKind !== 'scim' ? h('span', { class: 'sub' }, ` by ${e.actorLabel}`) : null,
        e.reason ? h('span', { class: 'reason text-error' }, ` — ${e.reason}`) : null,
      ),
    ),
  );
}
