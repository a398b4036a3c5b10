import { api } from '../api';
import { h, load } from '../ui';

const LABEL = { ok: 'OK', warn: 'Check', error: 'Failing', off: 'Off' } as const;

export async function renderHealth(el: HTMLElement): Promise<void> {
  await load(
    el,
    'Checking the integration',
    () => api.health(),
    ({ items }) => [
      h('h2', { id: 'health-title', class: 'visually-hidden' }, 'Integration health'),
      h(
        'ul',
        { class: 'health-list' },
        items.map((i) =>
          h(
            'li',
            { class: `health-item health-${i.status}`, 'data-health': i.key, 'data-status': i.status },
            h('span', { class: 'dot', 'aria-hidden': 'true' }),
            h(
              'div',
              {},
              h('div', { class: 'health-title' }, i.title, ' ', h('span', { class: 'health-label' }, `· ${LABEL[i.status]}`)),
              h('div', { class: 'health-summary' }, i.summary),
              i.action ? h('div', { class: 'health-action' }, i.href ? h('a', { href: i.href }, i.action) : i.action) : null,
              !i.action && i.href ? h('div', { class: 'health-action' }, h('a', { href: i.href }, 'Open')) : null,
            ),
          ),
        ),
      ),
    ],
  );
}
