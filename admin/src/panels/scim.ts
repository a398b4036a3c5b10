// SCIM: the Tenant URL, enable/disable, a token shown once, and the
// provisioning log, as README's SCIM section describes it: enable SCIM, copy
// the token (shown once); disabling and enabling again rotates it.
// Rotate issues a new token while the old one keeps working for an overlap;
// the last use of each says which one Entra still has.
import { api, type ScimStatus } from '../api';
import type { ConsoleContext } from '../context';
import type { Route } from '../router';
import { announce, badge, copyField, errorBox, fmtDate, ago, h, loading, replace, copyText, whileBusy } from '../ui';
import { filterFromRoute, logSection } from './log';

export async function renderScim(panel: HTMLElement, ctx: ConsoleContext, route?: Route): Promise<void> {
  const settings = h('section', { class: 'card', 'aria-labelledby': 'scim-title' });
  const reveal = h('div', { id: 'scim-token-reveal' });
  const log = logSection({
    id: 'scim-log',
    title: 'Provisioning log',
    kind: 'provisioning',
    emptyText: 'Nothing provisioned yet. Once Entra starts provisioning, every request it makes appears here.',
    initial: filterFromRoute(route),
  });
  replace(panel, settings, reveal, log);
  if (route?.params.size) log.scrollIntoView();
  const draw = async () => {
    replace(settings, loading('Loading SCIM settings'));
    try {
      const { status, tenantUrl } = await api.scim();
      replace(settings, ...settingsView(status, tenantUrl));
    } catch (e) {
      replace(settings, errorBox(e, () => void draw()));
    }
  };

  const act = whileBusy;

  const generate = (ev: Event, rotating: boolean) =>
    act(ev.currentTarget as HTMLButtonElement, async () => {
      if (rotating && !confirm('Generate a new token? The current token stops working at once: paste the new one into Entra.')) return;
      const { token, status, tenantUrl } = await api.generateScimToken();
      replace(settings, ...settingsView(status, tenantUrl));
      showToken(token);
      ctx.refreshHealth();
      log.refresh();
    });

  const rotate = (ev: Event) =>
    act(ev.currentTarget as HTMLButtonElement, async () => {
      const overlap = (document.getElementById('scim-overlap') as HTMLSelectElement | null)?.value ?? '24h';
      const { token, status, tenantUrl } = await api.rotateScimToken(overlap);
      replace(settings, ...settingsView(status, tenantUrl));
      showToken(token, `The previous token keeps working until ${fmtDate(status.previousTokenExpiresAt)}: paste this one into Entra before then.`);
      ctx.refreshHealth();
      log.refresh();
    });

  const revokePrevious = (ev: Event) =>
    act(ev.currentTarget as HTMLButtonElement, async () => {
      if (!confirm('End the previous token now? If Entra still uses it, provisioning stops until Entra has the new token.')) return;
      const { status, tenantUrl } = await api.revokePreviousScimToken();
      replace(settings, ...settingsView(status, tenantUrl));
      announce('The previous token no longer works');
      log.refresh();
    });

  const disable = (ev: Event) =>
    act(ev.currentTarget as HTMLButtonElement, async () => {
      if (!confirm('Disable SCIM? Entra’s requests will be refused until you enable it again with a new token.')) return;
      const { status, tenantUrl } = await api.disableScim();
      replace(reveal);
      replace(settings, ...settingsView(status, tenantUrl));
      announce('SCIM disabled: the token no longer works');
      ctx.refreshHealth();
      log.refresh();
    });

  function settingsView(status: ScimStatus, tenantUrl: string): Node[] {
    return [
      h('h2', { id: 'scim-title', tabindex: '-1' }, 'SCIM provisioning ', status.enabled ? badge('Enabled', 'ok') : badge('Disabled', 'off')),
      h('p', { class: 'hint' }, 'In Entra: Enterprise applications › your app › Provisioning › Admin Credentials. Paste the Tenant URL and the Secret Token, then select Test Connection.'),
      copyField('Tenant URL', tenantUrl, 'scim-tenant-url'),
      status.enabled
        ? h(
            'dl',
            { class: 'facts', id: 'scim-token-facts' },
            h('dt', {}, 'Token'),
            h('dd', { class: 'mono' }, `${status.tokenPrefix}…`),
            h('dt', {}, 'Created'),
            h('dd', {}, fmtDate(status.tokenCreatedAt)),
            h('dt', {}, 'Last used'),
            h('dd', { id: 'scim-last-used' }, lastUsed(status.tokenLastUsedAt)),
          )
        : h('p', {}, 'SCIM is disabled: Entra cannot provision members. Enable it to get a token.'),
      status.enabled && status.previousTokenPrefix
        ? h(
            'div',
            { id: 'scim-previous' },
            h(
              'dl',
              { class: 'facts', id: 'scim-previous-facts' },
              h('dt', {}, 'Previous token'),
              h('dd', { class: 'mono' }, `${status.previousTokenPrefix}…`),
              h('dt', {}, 'Works until'),
              h('dd', { id: 'scim-previous-expires' }, fmtDate(status.previousTokenExpiresAt)),
              h('dt', {}, 'Last used'),
              h('dd', { id: 'scim-previous-last-used' }, lastUsed(status.previousTokenLastUsedAt)),
            ),
            h('p', { id: 'scim-token-in-use', role: 'status', class: inUse(status).warn ? 'warning' : 'hint' }, inUse(status).text),
            h('button', { type: 'button', class: 'btn btn-danger', id: 'scim-revoke-previous', onclick: (e: Event) => void revokePrevious(e) }, 'Revoke previous token'),
          )
        : h('div', { id: 'scim-previous', hidden: true }),
      h(
        'div',
        { class: 'actions' },
        status.enabled
          ? [
              h(
                'label',
                { class: 'inline' },
                'Overlap ',
                h(
                  'select',
                  { id: 'scim-overlap', 'aria-label': 'How long the current token keeps working after Rotate' },
                  h('option', { value: '1h' }, '1 hour'),
                  h('option', { value: '24h', selected: true }, '24 hours'),
                  h('option', { value: '3d' }, '3 days'),
                  h('option', { value: '7d' }, '7 days'),
                ),
              ),
              h('button', { type: 'button', class: 'btn btn-primary', id: 'scim-rotate', onclick: (e: Event) => void rotate(e) }, 'Rotate token'),
              h('button', { type: 'button', class: 'btn', id: 'scim-generate', onclick: (e: Event) => void generate(e, true) }, 'Generate new token (old stops now)'),
              h('button', { type: 'button', class: 'btn btn-danger', id: 'scim-disable', onclick: (e: Event) => void disable(e) }, 'Disable SCIM'),
            ]
          : h('button', { type: 'button', class: 'btn btn-primary', id: 'scim-enable', onclick: (e: Event) => void generate(e, false) }, 'Enable SCIM and generate token'),
      ),
    ];
  }

  function lastUsed(at: string | null): string {
    return at ? `${fmtDate(at)} (${ago(at)})` : 'never';
  }

  /** Which token Entra is still using, from the last use of each (recorded at most once a minute). */
  function inUse(s: ScimStatus): { text: string; warn: boolean } {
    const current = s.tokenLastUsedAt ? Date.parse(s.tokenLastUsedAt) : -1;
    const previous = s.previousTokenLastUsedAt ? Date.parse(s.previousTokenLastUsedAt) : -1;
    if (current < 0) return { text: 'Entra is still using the previous token: paste the new token into Entra before the overlap ends.', warn: true };
    if (previous > current) return { text: 'Entra used the previous token after the new one: check that every Entra configuration has the new token.', warn: true };
    return { text: 'Entra is using the new token: you can revoke the previous one.', warn: false };
  }

  function showToken(token: string, note?: string): void {
    const input = h('input', { id: 'scim-token', type: 'text', readonly: true, class: 'mono', 'aria-label': 'Secret Token' });
    input.value = token;
    const box = h(
      'section',
      { class: 'card token-card', role: 'alert', 'aria-labelledby': 'scim-token-title' },
      h('h2', { id: 'scim-token-title' }, 'Your new Secret Token'),
      h('p', { class: 'warning' }, h('strong', {}, 'Copy it now: it will not be shown again. '), note ?? 'Gatehouse keeps only a hash of it. If you lose it, generate a new one (the old one then stops working).'),
      h(
        'div',
        { class: 'copy-row' },
        input,
        h('button', { type: 'button', class: 'btn btn-primary', 'aria-label': 'Copy Secret Token', onclick: async () => announce((await copyText(token)) ? 'Token copied' : 'Copy failed: select the text and copy it') }, 'Copy'),
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-quiet',
          id: 'scim-token-done',
          onclick: () => {
            replace(reveal);
            // Focus would fall to the page's start with the removed button: put it back on the token's settings.
            (document.getElementById('scim-generate') ?? document.getElementById('scim-title'))?.focus();
          },
        },
        'I have copied it — hide the token',
      ),
    );
    replace(reveal, box);
    input.focus();
    input.select();
  }

  await draw();
}
