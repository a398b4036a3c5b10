// SAML: the three URLs Entra asks for, the IdP metadata (URL pasted, or XML
// uploaded) and what was imported, certificates with their expiry, "Generate
// Certificate", SP metadata download, "Test sign-in" and the login log.
import { api, type Certificate, type SamlSettings, type SamlView } from '../api';
import type { ConsoleContext } from '../context';
import type { Route } from '../router';
import { announce, badge, copyField, empty, errorBox, fmtDate, ago, h, loading, replace, whileBusy } from '../ui';
import { filterFromRoute, logSection } from './log';

export async function renderSaml(panel: HTMLElement, ctx: ConsoleContext, route?: Route): Promise<void> {
  const top = h('div', {});
  const log = logSection({
    id: 'saml-log',
    title: 'Login log',
    kind: 'sign-in',
    emptyText: 'No sign-in yet. Use Test sign-in above to try one.',
    initial: filterFromRoute(route),
    memberLabel: 'userName (NameID)',
  });
  replace(panel, top, log);
  if (route?.params.size) log.scrollIntoView();

  const draw = async () => {
    replace(top, loading('Loading SAML settings'));
    try {
      const view = await api.saml();
      replace(top, ...sections(view));
    } catch (e) {
      replace(top, errorBox(e, () => void draw()));
    }
  };

  const act = (button: HTMLButtonElement, done: string, fn: () => Promise<unknown>) =>
    whileBusy(
      button,
      async () => {
        await fn();
        announce(done);
        ctx.refreshHealth();
        await draw();
      },
      {
        failed: (message) => {
          const status = document.getElementById('saml-import-status');
          if (status) replace(status, h('p', { class: 'state state-error', role: 'alert' }, message));
        },
      },
    );

  function sections(view: SamlView): Node[] {
    const s = view.settings;
    const domain = ctx.session.organization.domain;
    return [
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'saml-basic-title' },
        h('h2', { id: 'saml-basic-title' }, 'Basic SAML configuration'),
        h('p', { class: 'hint' }, 'In Entra: Single sign-on › SAML › Basic SAML Configuration › Edit. The Sign-on URL is under “Set additional URLs” (SP-initiated sign-in).'),
        copyField('Identifier (Entity ID)', view.urls.identifier, 'saml-identifier'),
        copyField('Reply URL (Assertion Consumer Service URL)', view.urls.replyUrl, 'saml-reply-url'),
        copyField('Sign-on URL', view.urls.signOnUrl, 'saml-sign-on-url'),
        copyField('Logout Url (optional: single logout)', view.urls.logoutUrl, 'saml-logout-url'),
      ),
      idpSection(view, s),
      spSection(view, s, domain),
      optionsSection(s),
    ];
  }

  function idpSection(view: SamlView, s: SamlSettings | null): HTMLElement {
    const url = h('input', { id: 'saml-metadata-url', type: 'url', placeholder: 'https://login.microsoftonline.com/…/federationmetadata/2007-06/federationmetadata.xml?appid=…', class: 'mono' });
    if (s?.metadataUrl) url.value = s.metadataUrl;
    const file = h('input', { id: 'saml-metadata-file', type: 'file', accept: '.xml,application/xml,text/xml,application/samlmetadata+xml' });
    const disabled = !view.available;
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'saml-idp-title' },
      h('h2', { id: 'saml-idp-title' }, 'Identity provider ', s?.configured ? badge('Configured', 'ok') : badge('Not configured', 'warn')),
      disabled ? h('p', { class: 'state state-error' }, 'SAML import is not available in this Gatehouse build.') : null,
      h(
        'form',
        {
          class: 'stack',
          id: 'saml-metadata-form',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const v = url.value.trim();
            if (!v) {
              announce('Paste the App Federation Metadata URL first', 'error');
              url.focus();
              return;
            }
            void act((e.currentTarget as HTMLFormElement).querySelector('button')!, 'Metadata imported', () => api.importMetadata({ url: v }));
          },
        },
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'saml-metadata-url' }, 'App Federation Metadata URL'),
          h('div', { class: 'copy-row' }, url, h('button', { type: 'submit', class: 'btn btn-primary', id: 'saml-metadata-save', disabled }, 'Save')),
          h('p', { class: 'hint' }, 'In Entra: SAML Signing Certificate › App Federation Metadata Url. Gatehouse fetches it again every day.'),
        ),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'saml-metadata-file' }, 'Or upload the Federation Metadata XML'),
        file,
      ),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn',
            disabled,
            onclick: (e: Event) => {
              const f = file.files?.[0];
              if (!f) {
                announce('Choose a metadata XML file first', 'error');
                file.focus();
                return;
              }
              void act(e.currentTarget as HTMLButtonElement, 'Metadata imported', async () => api.importMetadata({ xml: await f.text() }));
            },
          },
          'Upload XML',
        ),
        s?.metadataUrl ? h('button', { type: 'button', class: 'btn btn-quiet', onclick: (e: Event) => void act(e.currentTarget as HTMLButtonElement, 'Metadata refreshed', () => api.refreshMetadata()) }, 'Refresh now') : null,
      ),
      h('div', { id: 'saml-import-status' }),
      s?.configured ? imported(s) : empty('Nothing imported yet.'),
    );
  }

  function imported(s: SamlSettings): HTMLElement {
    return h(
      'div',
      { id: 'saml-imported' },
      h('h3', {}, 'What was imported'),
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'IdP entity ID'),
        h('dd', { class: 'mono', id: 'saml-idp-entity' }, s.idpEntityId ?? '—'),
        h('dt', {}, 'Sign-in URL'),
        h('dd', { class: 'mono' }, s.ssoUrls.join(', ') || '—'),
        h('dt', {}, 'Single logout'),
        h('dd', { id: 'saml-single-logout' }, singleLogout(s)),
        h('dt', {}, 'Metadata'),
        h('dd', {}, s.metadataUrl ? `fetched ${ago(s.metadataFetchedAt)} from the URL` : 'uploaded XML (no automatic refresh)'),
        h('dt', {}, 'Last refresh'),
        h('dd', {}, s.lastRefreshError ? h('span', { class: 'text-error' }, `failed: ${s.lastRefreshError}`) : s.lastRefreshAt ? `worked, ${fmtDate(s.lastRefreshAt)}` : '—'),
      ),
      h('h3', {}, 'Entra signing certificates'),
      certTable(s.idpCertificates, false),
      s.warnings.length ? h('ul', { class: 'warnings' }, s.warnings.map((w) => h('li', {}, w))) : null,
    );
  }

  function spSection(view: SamlView, s: SamlSettings | null, domain: string): HTMLElement {
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'saml-sp-title' },
      h('h2', { id: 'saml-sp-title' }, 'Gatehouse certificate and test'),
      s && s.spCertificates.length > 0 ? certTable(s.spCertificates, true, certActions) : empty('No certificate yet: select Generate Certificate (the last step of the set-up).'),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-primary',
            id: 'saml-generate-cert',
            disabled: !view.available,
            onclick: (e: Event) => void act(e.currentTarget as HTMLButtonElement, 'Certificate generated', () => api.generateCertificate()),
          },
          'Generate Certificate',
        ),
        s && s.spCertificates.some((c) => c.active)
          ? h(
              'button',
              {
                type: 'button',
                class: 'btn',
                id: 'saml-generate-next',
                disabled: !view.available,
                onclick: (e: Event) =>
                  void act(e.currentTarget as HTMLButtonElement, 'Next certificate published: update Entra, then make it the signing one', () => api.generateCertificate(true)),
              },
              'Prepare the next certificate',
            )
          : null,
        h('a', { class: 'btn', href: view.urls.spMetadataUrl, download: `gatehouse-${domain}-metadata.xml`, id: 'saml-sp-metadata' }, 'Download SP metadata'),
        h(
          'a',
          { class: 'btn', id: 'saml-test', href: `/saml/${encodeURIComponent(domain)}/test`, target: '_blank' },
          'Test sign-in',
        ),
      ),
      h(
        'p',
        { class: 'hint' },
        'Rollover without a failed sign-in: prepare the next certificate (published in the SP metadata, not yet signing), give Entra the new metadata, then select “Use for signing”; remove the old one once Entra no longer needs it.',
      ),
      h('p', { class: 'hint' }, 'Test sign-in opens a new window: sign in there with any Entra account of the organisation. The window shows what Entra sent, the member it matches and whether a sign-in would pass (and what to change if not). It signs nobody in: your console session stays as it is.'),
    );
  }

  function certActions(c: Certificate): (Node | string)[] {
    if (!c.id) return [];
    const id = c.id;
    const short = `${c.fingerprint.slice(0, 11)}…`;
    if (c.active) return [h('span', { class: 'sub' }, 'signs now')];
    return [
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          'aria-label': `Use certificate ${short} for signing`,
          onclick: (e: Event) => {
            if (!confirm(`Sign with certificate ${short} from now on? Entra must already know it (its metadata was updated).`)) return;
            void act(e.currentTarget as HTMLButtonElement, 'Certificate now signs', () => api.promoteCertificate(id));
          },
        },
        'Use for signing',
      ),
      ' ',
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-danger',
          'aria-label': `Remove certificate ${short}`,
          onclick: (e: Event) => {
            if (!confirm(`Remove certificate ${short}? It is no longer published in Gatehouse's SAML metadata.`)) return;
            void act(e.currentTarget as HTMLButtonElement, 'Certificate removed', () => api.removeCertificate(id));
          },
        },
        'Remove',
      ),
    ];
  }

  function optionsSection(s: SamlSettings | null): HTMLElement {
    const allowed = s?.allowIdpInitiated ?? true;
    const box = h('input', { type: 'checkbox', id: 'saml-idp-initiated', checked: allowed, 'aria-describedby': 'saml-idp-initiated-hint' });
    box.checked = allowed;
    box.addEventListener('change', () => {
      const want = box.checked;
      box.disabled = true;
      void (async () => {
        try {
          await api.setIdpInitiated(want);
          announce(want ? 'Sign-in from My Apps allowed' : 'Sign-in from My Apps turned off: only the Sign-on URL signs in');
          ctx.refreshHealth();
          await draw();
          document.getElementById('saml-idp-initiated')?.focus();
        } catch (e) {
          box.checked = !want;
          box.disabled = false;
          announce(e instanceof Error ? e.message : String(e), 'error');
        }
      })();
    });
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'saml-options-title' },
      h('h2', { id: 'saml-options-title' }, 'Sign-in options'),
      h('div', { class: 'toggle-row' }, h('label', { class: 'check', for: 'saml-idp-initiated' }, box, 'Allow sign-in from My Apps (IdP-initiated)')),
      h(
        'p',
        { class: 'hint', id: 'saml-idp-initiated-hint' },
        'When on, selecting the Gatehouse tile in My Apps signs people in. When off, they start at the Sign-on URL and Entra answers Gatehouse’s own request (safer against replayed responses).',
      ),
    );
  }

  await draw();
}

/** Whether signing out of Gatehouse ends the Entra session too, and where the browser goes for it. */
function singleLogout(s: SamlSettings): (Node | string)[] {
  if (!s.idpLogout) return [badge('Off', 'warn'), ' The metadata lists no SingleLogoutService: signing out ends only the Gatehouse session.'];
  const binding = s.idpLogout.binding.endsWith(':HTTP-POST') ? 'HTTP-POST' : 'HTTP-Redirect';
  const where = h('span', { class: 'mono', id: 'saml-idp-logout-url' }, s.idpLogout.location);
  if (!s.singleLogoutActive) return [badge('Off', 'warn'), ' Generate Certificate to sign the LogoutRequest to ', where, ` (${binding}).`];
  return [badge('On', 'ok'), ' Signing out also ends the Entra session: a signed LogoutRequest goes to ', where, ` (${binding}).`];
}

/** What each of Gatehouse's certificates is for; every one is published in the SP metadata until removed. */
const USE_TEXT: Record<NonNullable<Certificate['use']>, string> = {
  signing: 'signing',
  next: 'next (published, not yet in use)',
  retired: 'retired (signed before)',
};

function certTable(certs: Certificate[], sp: boolean, actions?: (c: Certificate) => (Node | string)[]): HTMLElement {
  if (certs.length === 0) return empty('None.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'certs stack-sm' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Fingerprint (SHA-256)'),
          sp ? h('th', { scope: 'col' }, 'Use') : null,
          h('th', { scope: 'col' }, 'Valid until'),
          h('th', { scope: 'col' }, 'Status'),
          actions ? h('th', { scope: 'col' }, 'Actions') : null,
        ),
      ),
      h(
        'tbody',
        {},
        certs.map((c) =>
          h(
            'tr',
            {},
            h('td', { class: 'mono fingerprint', title: c.fingerprint, 'data-label': 'Fingerprint' }, `${c.fingerprint.slice(0, 23)}…`),
            sp ? h('td', { 'data-label': 'Use', class: 'cert-use' }, USE_TEXT[c.use ?? (c.active ? 'signing' : 'next')]) : null,
            h('td', { class: 'cert-expiry', 'data-label': 'Valid until' }, fmtDate(c.notAfter)),
            h('td', { 'data-label': 'Status' }, c.warning ? badge(c.warning, c.daysLeft < 0 ? 'error' : 'warn') : badge(`${c.daysLeft} days left`, 'ok')),
            actions ? h('td', { 'data-label': 'Actions', class: 'cert-actions' }, actions(c)) : null,
          ),
        ),
      ),
    ),
  );
}
