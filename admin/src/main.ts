// The admin console: one page, three panels under a health strip.
import './styles.css';
import { api, ApiError, type Session } from './api';
import { errorBox, h, loading, replace } from './ui';
import { renderHealth } from './panels/health';
import { renderScim } from './panels/scim';
import { renderSaml } from './panels/saml';
import { renderPeople } from './panels/people';

const TABS = [
  { id: 'scim', label: 'SCIM provisioning', render: renderScim },
  { id: 'saml', label: 'SAML single sign-on', render: renderSaml },
  { id: 'people', label: 'People & access', render: renderPeople },
] as const;

export interface ConsoleContext {
  readonly session: Session;
  /** Reloads the health strip (after a change that affects it). */
  refreshHealth(): void;
}

async function start(): Promise<void> {
  const root = document.getElementById('app')!;
  replace(root, loading('Checking your session'));
  let session: Session;
  try {
    session = await api.session();
  } catch (e) {
    root.removeAttribute('aria-busy');
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) replace(root, signIn(e));
    else replace(root, h('main', { id: 'main', class: 'page' }, errorBox(e, () => void start())));
    return;
  }
  root.removeAttribute('aria-busy');

  const healthEl = h('section', { class: 'health', 'aria-labelledby': 'health-title' });
  const panelEl = h('section', { class: 'panel', id: 'panel', tabindex: '-1' });
  const ctx: ConsoleContext = { session, refreshHealth: () => void renderHealth(healthEl) };
  const tabButtons = TABS.map((t) =>
    h(
      'a',
      { href: `#${t.id}`, id: `tab-${t.id}`, class: 'tab', 'aria-controls': 'panel' },
      t.label,
    ),
  );
  let first = true;
  const show = () => {
    // The health strip follows what happened meanwhile (a sign-in, a provisioning run).
    if (!first) ctx.refreshHealth();
    first = false;
    const id = location.hash.slice(1) || 'scim';
    const tab = TABS.find((t) => t.id === id) ?? TABS[0];
    for (const b of tabButtons) {
      const selected = b.id === `tab-${tab.id}`;
      if (selected) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
      b.classList.toggle('active', selected);
    }
    panelEl.setAttribute('aria-labelledby', `tab-${tab.id}`);
    void tab.render(panelEl, ctx);
  };
  window.addEventListener('hashchange', show);

  replace(
    root,
    h(
      'header',
      { class: 'topbar' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '⌂'), h('span', {}, 'Gatehouse'), h('span', { class: 'crumb' }, 'SSO & SCIM')),
      h(
        'div',
        { class: 'who' },
        h('span', { class: 'org', title: `Organisation domain: ${session.organization.domain}` }, session.organization.name),
        h('span', { class: 'user' }, session.admin.userName),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-quiet',
            onclick: async () => {
              await api.logout().catch(() => undefined);
              location.reload();
            },
          },
          'Sign out',
        ),
      ),
    ),
    h('main', { id: 'main', class: 'page' }, healthEl, h('nav', { class: 'tabs', 'aria-label': 'Settings' }, tabButtons), panelEl),
    h('div', { id: 'toast', class: 'toast', role: 'status', 'aria-live': 'polite' }),
  );
  void renderHealth(healthEl);
  show();
}

function signIn(e: ApiError): HTMLElement {
  const notAdmin = e.status === 403;
  const domainInput = h('input', { id: 'signin-domain', type: 'text', autocomplete: 'organization', placeholder: 'your-org', required: true, pattern: '[a-z0-9-]+' });
  return h(
    'main',
    { id: 'main', class: 'page signin' },
    h('h1', {}, 'Gatehouse admin console'),
    notAdmin
      ? h('p', { class: 'state state-error', role: 'alert' }, e.message)
      : h('p', {}, 'Sign in with your organisation’s single sign-on. Administrators of the organisation can open this console.'),
    h(
      'form',
      {
        class: 'card',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const d = domainInput.value.trim().toLowerCase();
          if (d) location.href = `/saml/${encodeURIComponent(d)}/login?RelayState=${encodeURIComponent('/admin')}`;
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'signin-domain' }, 'Organisation domain'), domainInput),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in with SSO'),
    ),
    h(
      'p',
      { class: 'hint' },
      'First time, before single sign-on is set up? An operator prints a one-time link with ',
      h('code', {}, 'npm run cli -- admin link --org DOMAIN'),
      '.',
    ),
  );
}

void start();
