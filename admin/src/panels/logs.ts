// Logs to browse: every log of the organisation in one place (provisioning,
// sign-ins, admin activity, or all), with the filter kept in the route so a
// link (health advice, a member's page) opens it already filtered.
import type { ConsoleContext } from '../context';
import type { LogKind } from '../api';
import { currentRoute, replaceParams, type Route } from '../router';
import { h, replace } from '../ui';
import { filterFromRoute, logSection } from './log';

const KINDS: { id: LogKind; label: string; empty: string }[] = [
  { id: 'provisioning', label: 'Provisioning (SCIM)', empty: 'Nothing provisioned yet. Once Entra starts provisioning, every request it makes appears here.' },
  { id: 'sign-in', label: 'Sign-ins (SAML)', empty: 'No sign-in yet. Use Test sign-in in the SAML page to try one.' },
  { id: 'admin', label: 'Admin activity', empty: 'No admin activity yet.' },
  { id: 'all', label: 'Everything', empty: 'Nothing has happened yet.' },
];

export function renderLogs(panel: HTMLElement, _ctx: ConsoleContext, route: Route): void {
  const kind = KINDS.find((k) => k.id === route.params.get('log')) ?? KINDS[0]!;
  const select = h('select', { id: 'logs-kind' }, KINDS.map((k) => h('option', { value: k.id, selected: k.id === kind.id }, k.label)));
  select.addEventListener('change', () => {
    location.hash = `#logs?log=${encodeURIComponent(select.value)}`;
  });
  replace(
    panel,
    h('div', { class: 'card log-picker' }, h('div', { class: 'field' }, h('label', { for: 'logs-kind' }, 'Log'), select)),
    logSection({
      id: 'logs',
      title: kind.label,
      kind: kind.id,
      emptyText: kind.empty,
      initial: filterFromRoute(route),
      onFilter: (f) => {
        if (currentRoute().page !== 'logs') return;
        replaceParams({ log: kind.id, q: f.q, failures: f.failures ? '1' : undefined, since: f.since, until: f.until });
      },
    }),
  );
}
