// "Who can open this lock?" at a chosen date and time (#lock?id=…&at=…&q=…&sort=…):
// the count, a search by name and a sort. The list and the count are GraphQL's
// whoCanOpen(lockId, at, text) with totalCount: an app reads the same.
import { api, type WhoAt } from '../api';
import type { ConsoleContext } from '../context';
import { replaceParams, route, type Route } from '../router';
import { empty, errorBox, fmtDate, h, loading, replace } from '../ui';
import { fromLocalInput, localInput, memberHref } from './member';

type Sort = 'name' | 'userName' | 'until';
const SORTS: { id: Sort; label: string }[] = [
  { id: 'name', label: 'Name' },
  { id: 'userName', label: 'userName' },
  { id: 'until', label: 'Access ends soonest' },
];

export async function renderLock(panel: HTMLElement, _ctx: ConsoleContext, r: Route): Promise<void> {
  const id = r.params.get('id') ?? '';
  const atParam = r.params.get('at');
  const at = atParam && !Number.isNaN(new Date(atParam).getTime()) ? new Date(atParam) : new Date();
  const sort: Sort = SORTS.find((s) => s.id === r.params.get('sort'))?.id ?? 'name';

  replace(panel, loading('Loading the lock'));
  let lockName = 'this lock';
  let placeName: string | null = null;
  try {
    const { places, locks } = await api.places();
    const lock = locks.find((l) => l.id === id);
    if (lock) {
      lockName = lock.name;
      placeName = places.find((p) => p.id === lock.placeId)?.name ?? null;
    }
  } catch (e) {
    replace(panel, errorBox(e, () => void renderLock(panel, _ctx, r)));
    return;
  }

  const atInput = h('input', { id: 'lock-at', type: 'datetime-local', step: '1' });
  atInput.value = localInput(at);
  const search = h('input', { id: 'lock-search', type: 'search', placeholder: 'Part of a name or userName', autocomplete: 'off' });
  search.value = r.params.get('q') ?? '';
  const sortSelect = h('select', { id: 'lock-sort' }, SORTS.map((s) => h('option', { value: s.id, selected: s.id === sort }, s.label)));
  const count = h('p', { class: 'count', id: 'lock-count', role: 'status' });
  const list = h('div', { id: 'lock-who' });
  let last: WhoAt | null = null;

  const params = () => ({ id, at: fromLocalInput(atInput.value), q: search.value.trim(), sort: sortSelect.value === 'name' ? null : sortSelect.value });

  const draw = () => {
    if (!last) return;
    const when = fmtDate(fromLocalInput(atInput.value) ?? new Date().toISOString());
    const q = search.value.trim();
    const n = last.totalCount;
    count.textContent = q
      ? `${n} ${n === 1 ? 'person matches' : 'people match'} “${q}” and can open ${lockName} at ${when}`
      : `${n} ${n === 1 ? 'person' : 'people'} can open ${lockName} at ${when}`;
    const rows = [...last.members];
    const key = sortSelect.value as Sort;
    const end = (m: WhoAt['members'][number]) => {
      // A member's access ends with its last open grant (null: no end).
      const ends = m.grants.map((g) => (g.validUntil ? new Date(g.validUntil).getTime() : Infinity));
      return Math.max(...ends);
    };
    rows.sort((a, b) =>
      key === 'userName'
        ? a.userName.localeCompare(b.userName)
        : key === 'until'
          ? end(a) - end(b) || a.userName.localeCompare(b.userName)
          : (a.displayName ?? a.userName).localeCompare(b.displayName ?? b.userName),
    );
    if (rows.length === 0) {
      replace(list, empty(q ? `Nobody matching “${q}” can open ${lockName} then.` : `Nobody can open ${lockName} at ${when}.`));
      return;
    }
    replace(
      list,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'stack-sm', id: 'lock-who-table' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Person'), h('th', { scope: 'col' }, 'Why'), h('th', { scope: 'col' }, 'Access ends'))),
          h(
            'tbody',
            {},
            rows.map((m) => {
              const e = end(m);
              return h(
                'tr',
                { 'data-user-name': m.userName },
                h('td', { 'data-label': 'Person' }, h('a', { href: memberHref(m.id), class: 'name' }, m.displayName ?? m.userName), h('div', { class: 'sub mono' }, m.userName)),
                h(
                  'td',
                  { 'data-label': 'Why' },
                  m.grants.map((g) => h('div', {}, `${g.role} via ${g.groupName ? `group ${g.groupName}` : 'a direct share'} on the ${g.scope}`)),
                ),
                h('td', { 'data-label': 'Access ends' }, e === Infinity ? 'no end' : fmtDate(new Date(e).toISOString())),
              );
            }),
          ),
        ),
      ),
      last.truncated ? h('p', { class: 'hint' }, 'The first 2,000 are listed: search to find the others.') : null,
    );
  };

  const fetchAndDraw = async () => {
    replaceParams(params());
    replace(list, loading('Checking access'));
    list.setAttribute('aria-busy', 'true');
    try {
      last = await api.whoCanOpenAt(id, fromLocalInput(atInput.value), search.value.trim());
      draw();
    } catch (e) {
      replace(list, errorBox(e, () => void fetchAndDraw()));
    } finally {
      list.removeAttribute('aria-busy');
    }
  };

  sortSelect.addEventListener('change', () => {
    replaceParams(params());
    draw();
  });

  replace(
    panel,
    h('p', { class: 'crumbs' }, h('a', { href: '#people' }, '← People & access')),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'lock-title' },
      h('h2', { id: 'lock-title', tabindex: '-1' }, `Who can open ${lockName}?`),
      placeName ? h('p', { class: 'hint' }, `At ${placeName}. Everyone active whose own share or a group’s share on this lock or its place is open at that time.`) : null,
      h(
        'form',
        {
          class: 'filters',
          role: 'search',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void fetchAndDraw();
          },
        },
        h('div', { class: 'field field-date' }, h('label', { for: 'lock-at' }, 'At (date and time)'), atInput),
        h('div', { class: 'field' }, h('label', { for: 'lock-search' }, 'Search'), search),
        h('div', { class: 'field' }, h('label', { for: 'lock-sort' }, 'Sort by'), sortSelect),
        h('button', { type: 'submit', class: 'btn btn-primary', id: 'lock-check' }, 'Check'),
        h('a', { class: 'btn btn-quiet', href: route('lock', { id }) }, 'Now'),
      ),
      count,
      list,
    ),
  );
  await fetchAndDraw();
}
