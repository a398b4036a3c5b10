// The admin console: a health strip over pages picked by the hash route
// (router.ts). To add a page, add an entry to PAGES: `tab` pages appear in
// the navigation, the others are reached by links (a member's page).
import './styles.css';
import { api, ApiError, type Session } from './api';
import { errorBox, h, loading, replace } from './ui';
import { currentRoute } from './router';
import { renderHealth } from './panels/health';
import { renderScim } from './panels/scim';
import { renderSaml } from './panels/saml';
import { renderPeople } from './panels/people';
import { renderLogs } from './panels/logs';
import { renderGuard } from './panels/guard';
import type { ConsoleContext, ConsolePage } from './context';
import { renderMember } from './panels/member';
import { renderLock } from './panels/lock';
import { renderSetup } from './panels/setup';
import { renderWebhooks } from './panels/webhooks';
import { renderMail } from './panels/mail';
import { renderImport } from './panels/import';
import { renderControllers } from './panels/controllers';

export const PAGES: ConsolePage[] = [
  { id: 'scim', tab: 'SCIM provisioning', render: renderScim },
  { id: 'saml', tab: 'SAML single sign-on', render: renderSaml },
  { id: 'people', tab: 'People & access', render: renderPeople },
  { id: 'guard', tab: 'Deprovision guard', render: renderGuard },
  { id: 'logs', tab: 'Logs', render: renderLogs },
  { id: 'webhooks', tab: 'Webhooks', render: renderWebhooks },
  { id: 'mail', tab: 'Mail', render: renderMail },
  { id: 'setup', tab: 'Entra set-up guide', render: renderSetup },
  { id: 'import', tab: 'Group import', render: renderImport },
  { id: 'controllers', tab: 'Door controllers', render: renderControllers },
  { id: 'member', render: renderMember },
  { id: 'lock', render: renderLock },
];
const DEFAULT_PAGE = 'scim';

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
  const tabButtons = PAGES.filter((p) => p.tab).map((p) => h('a', { href: `#${p.id}`, id: `tab-${p.id}`, class: 'tab', 'aria-controls': 'panel' }, p.tab!));
  let first = true;
  const show = () => {
    // The health strip follows what happened meanwhile (a sign-in, a provisioning run).
    if (!first) ctx.refreshHealth();
    first = false;
    const r = currentRoute();
    const page = PAGES.find((p) => p.id === r.page) ?? PAGES.find((p) => p.id === DEFAULT_PAGE)!;
    for (const b of tabButtons) {
      const selected = b.id === `tab-${page.id}`;
      if (selected) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
      b.classList.toggle('active', selected);
    }
    if (page.tab) panelEl.setAttribute('aria-labelledby', `tab-${page.id}`);
    else panelEl.removeAttribute('aria-labelledby');
    void page.render(panelEl, ctx, r);
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
              const out = await api.logout().catch(() => null);
              // Single logout: on to the IdP (Entra's HTTP-Redirect endpoint) with the signed LogoutRequest;
              // its LogoutResponse comes back to the organisation's Logout URL. The console page may post
              // forms to its own origin only, so an IdP with an HTTP-POST endpoint only is not followed here.
              if (out?.next?.binding === 'redirect') location.assign(out.next.url);
              else location.reload();
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
  // What an admin knows is an email address (or its domain), not Gatehouse's slug; /admin/sign-in finds the organisation.
  const orgInput = h('input', {
    id: 'signin-org',
    name: 'org',
    type: 'text',
    autocomplete: 'email',
    inputmode: 'email',
    placeholder: 'alice@contoso.com',
    required: true,
    pattern: '[^\\s@]+(@[^\\s@]+)?',
    title: 'Your work email address, or its domain',
    'aria-describedby': 'signin-org-hint',
  });
  return h(
    'main',
    { id: 'main', class: 'page signin' },
    h('h1', {}, 'Gatehouse admin console'),
    notAdmin
      ? h('p', { class: 'state state-error', role: 'alert' }, e.message)
      : h('p', {}, 'Sign in with your organisation’s single sign-on (Microsoft Entra). Administrators of the organisation can open this console.'),
    h(
      'form',
      {
        class: 'card',
        method: 'get',
        action: '/admin/sign-in',
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          const out = document.getElementById('signin-result')!;
          try {
            const r = await fetch(`/admin/sign-in?org=${encodeURIComponent(orgInput.value.trim())}`, { headers: { Accept: 'application/json' } });
            const body = (await r.json()) as { url?: string; message?: string };
            if (r.ok && body.url) location.href = body.url;
            else replace(out, h('p', { class: 'state state-error', role: 'alert' }, body.message ?? 'No organisation found.'));
          } catch {
            replace(out, h('p', { class: 'state state-error', role: 'alert' }, 'Gatehouse is not reachable. Check your connection and try again.'));
          }
        },
      },
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'signin-org' }, 'Work email or organisation domain'),
        orgInput,
        h('p', { class: 'hint', id: 'signin-org-hint' }, 'For example alice@contoso.com or contoso.com.'),
      ),
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in with SSO'),
      h('div', { id: 'signin-result' }),
    ),
    h('p', { class: 'hint' }, 'First time, before single sign-on is set up? Ask whoever runs Gatehouse for a one-time admin link.'),
  );
}

void start();
