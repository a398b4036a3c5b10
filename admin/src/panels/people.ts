// People and access: members (source badge, active, admin), groups, places
// and their locks with "who can open this lock", shares.
import { api, type MemberRow, type WhoCanOpen } from '../api';
import type { ConsoleContext } from '../context';
import { announce, badge, empty, fmtDate, h, load, replace } from '../ui';
import { route } from '../router';
import { memberHref } from './member';

const SOURCE_LABEL: Record<string, string> = { scim: 'SCIM', import: 'Import', admin: 'Admin' };

export async function renderPeople(panel: HTMLElement, ctx: ConsoleContext): Promise<void> {
  const members = h('div', { id: 'people-members' });
  const groups = h('div', { id: 'people-groups' });
  const places = h('div', { id: 'people-places' });
  const search = h('input', { id: 'people-search', type: 'search', placeholder: 'Name, userName or email', autocomplete: 'off' });
  let rows: MemberRow[] = [];

  const drawMembers = () =>
    load(
      members,
      'Loading members',
      () => api.members(search.value.trim()),
      (page) => {
        rows = page.members;
        return memberTable(page.totalCount, page.hasNextPage, page.endCursor);
      },
    );

  function memberTable(total: number, hasNext: boolean, cursor: string | null): Node[] {
    if (rows.length === 0) return [empty(search.value ? 'No member matches.' : 'No members yet. Members appear here once Entra provisions them (SCIM).')];
    const tbody = h('tbody', {}, rows.map(memberRow));
    const more = hasNext
      ? h(
          'button',
          {
            type: 'button',
            class: 'btn',
            onclick: async (e: Event) => {
              const b = e.currentTarget as HTMLButtonElement;
              b.disabled = true;
              try {
                const next = await api.members(search.value.trim(), cursor ?? undefined);
                rows = rows.concat(next.members);
                replace(members, ...memberTable(next.totalCount, next.hasNextPage, next.endCursor));
              } catch (err) {
                announce(err instanceof Error ? err.message : String(err), 'error');
                b.disabled = false;
              }
            },
          },
          'Load more',
        )
      : null;
    const out: (Node | null)[] = [
      h('p', { class: 'count' }, `${total} member${total === 1 ? '' : 's'}`),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'members' },
          h(
            'thead',
            {},
            h('tr', {}, h('th', { scope: 'col' }, 'Member'), h('th', { scope: 'col' }, 'Source'), h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Console access')),
          ),
          tbody,
        ),
      ),
      more,
    ];
    return out.filter((n): n is Node => n !== null);
  }

  function memberRow(m: MemberRow): HTMLElement {
    const self = m.id === ctx.session.admin.id;
    return h(
      'tr',
      { 'data-user-name': m.userName },
      h('td', {}, h('a', { class: 'name', href: memberHref(m.id) }, m.displayName ?? m.userName), h('div', { class: 'sub mono' }, m.userName), m.email && m.email !== m.userName ? h('div', { class: 'sub' }, m.email) : null),
      h('td', {}, badge(SOURCE_LABEL[m.source] ?? m.source, `source-${m.source}`)),
      h('td', {}, m.active ? badge('Active', 'ok') : badge('Inactive', 'off')),
      h(
        'td',
        {},
        m.admin ? badge('Console admin', 'admin') : null,
        ' ',
        self
          ? h('span', { class: 'sub' }, '(you)')
          : !m.active && !m.admin
            ? h('span', { class: 'sub' }, 'inactive: cannot be made admin')
            : h(
              'button',
              {
                type: 'button',
                class: 'btn btn-small',
                'aria-label': `${m.admin ? 'Remove admin role from' : 'Make admin'} ${m.userName}`,
                onclick: async (e: Event) => {
                  const b = e.currentTarget as HTMLButtonElement;
                  const question = m.admin
                    ? `Remove the admin role from ${m.userName}? They lose access to this console at once.`
                    : `Make ${m.userName} an admin? They can then change every SSO and SCIM setting of ${ctx.session.organization.name}, including other admins.`;
                  if (!confirm(question)) return;
                  b.disabled = true;
                  try {
                    await api.setAdmin(m.id, !m.admin);
                    announce(m.admin ? `${m.userName} is no longer an admin` : `${m.userName} is now an admin`);
                    await drawMembers();
                  } catch (err) {
                    announce(err instanceof Error ? err.message : String(err), 'error');
                    b.disabled = false;
                  }
                },
              },
              m.admin ? 'Remove admin' : 'Make admin',
            ),
      ),
    );
  }

  replace(
    panel,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'people-title' },
      h('h2', { id: 'people-title' }, 'Members'),
      h(
        'form',
        {
          class: 'filters',
          role: 'search',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void drawMembers();
          },
        },
        h('div', { class: 'field' }, h('label', { for: 'people-search' }, 'Search'), search),
        h('button', { type: 'submit', class: 'btn' }, 'Search'),
      ),
      members,
    ),
    h('section', { class: 'card', 'aria-labelledby': 'groups-title' }, h('h2', { id: 'groups-title' }, 'Groups'), groups),
    h('section', { class: 'card', 'aria-labelledby': 'places-title' }, h('h2', { id: 'places-title' }, 'Places, locks and shares'), places),
  );

  void load(groups, 'Loading groups', () => api.groups(), ({ groups: list }) =>
    list.length === 0
      ? empty('No groups yet.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Group'), h('th', { scope: 'col' }, 'Source'), h('th', { scope: 'col' }, 'Members'))),
            h(
              'tbody',
              {},
              list.map((g) => h('tr', {}, h('td', {}, g.displayName), h('td', {}, badge(SOURCE_LABEL[g.source] ?? g.source, `source-${g.source}`)), h('td', {}, String(g.memberCount)))),
            ),
          ),
        ),
  );

  void load(places, 'Loading places', () => Promise.all([api.places(), api.groups()]), ([{ places: ps, locks, shares }, { groups: gs }]) => {
    if (ps.length === 0) return empty('No places yet.');
    const lockName = new Map(locks.map((l) => [l.id, l.name]));
    const placeName = new Map(ps.map((p) => [p.id, p.name]));
    const groupName = new Map(gs.map((g) => [g.id, g.displayName]));
    return [
      h(
        'ul',
        { class: 'places' },
        ps.map((p) =>
          h(
            'li',
            { class: 'place' },
            h('h3', {}, p.name, p.address ? h('span', { class: 'sub' }, ` · ${p.address}`) : null),
            h(
              'ul',
              { class: 'locks' },
              locks.filter((l) => l.placeId === p.id).map((l) => lockItem(l.id, l.name)),
            ),
          ),
        ),
      ),
      h('h3', {}, 'Shares'),
      shares.length === 0
        ? empty('No shares yet.')
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              {},
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Granted to'), h('th', { scope: 'col' }, 'On'), h('th', { scope: 'col' }, 'Role'), h('th', { scope: 'col' }, 'Valid'))),
              h(
                'tbody',
                {},
                shares.map((s) =>
                  h(
                    'tr',
                    {},
                    h('td', { class: 'share-grantee' }, s.groupId ? `Group ${s.granteeLabel ?? groupName.get(s.groupId) ?? 'since deleted'}` : `Member ${s.granteeLabel ?? 'since deleted'}`),
                    h('td', {}, s.lockId ? `Lock ${lockName.get(s.lockId) ?? 'since deleted'}` : `Place ${placeName.get(s.placeId ?? '') ?? 'since deleted'}`),
                    h('td', {}, s.role),
                    h('td', {}, s.validFrom || s.validUntil ? `${fmtDate(s.validFrom)} → ${fmtDate(s.validUntil)}` : 'always'),
                  ),
                ),
              ),
            ),
          ),
    ];
  });

  function lockItem(id: string, name: string): HTMLElement {
    const out = h('div', { class: 'who', id: `who-${id}` });
    const button = h('button', { type: 'button', class: 'btn btn-small', 'aria-expanded': 'false', 'aria-controls': `who-${id}` }, 'Who can open this lock?');
    button.addEventListener('click', () => {
      const open = button.getAttribute('aria-expanded') === 'true';
      button.setAttribute('aria-expanded', String(!open));
      if (open) replace(out);
      else void load(out, 'Checking access', () => api.whoCanOpen(id), whoList);
    });
    const at = h('a', { class: 'btn btn-small btn-quiet', href: route('lock', { id }) }, 'At a date…');
    return h('li', { class: 'lock' }, h('span', { class: 'lock-name' }, name), ' ', button, ' ', at, out);
  }

  await drawMembers();
}

function whoList(w: WhoCanOpen): Node {
  if (w.members.length === 0) return empty('Nobody can open this lock now.');
  return h(
    'ul',
    { class: 'who-list' },
    w.members.map((m) =>
      h(
        'li',
        {},
        h('a', { href: memberHref(m.id), class: 'name' }, m.displayName ?? m.userName),
        ` (${m.userName}) — `,
        m.grants.map((g) => `${g.role} via ${g.groupName ? `group ${g.groupName}` : 'a direct share'} on the ${g.scope}`).join('; '),
      ),
    ),
  );
}
