// Group import (#import): the Entra group import as README's "Entra group import" section describes it.
// Connect with "Authorize with Microsoft" (admin consent for Gatehouse's own
// application: nothing to register in Entra) or with the organisation's own
// app registration; pick the group (a preview of a few, typing searches the
// rest); choose the user email property and "Import as users only" or the
// places and locks to share; then run now, pause, resume, delete, and read the
// last runs. Everything goes through GraphQL (an app with an admin key can do
// the same).
import { api, graphqlCall, type Lock, type Place } from '../api';
import type { ConsoleContext } from '../context';
import { replaceParams, type Route } from '../router';
import { announce, badge, empty, errorBox, fmtDate, h, loading, replace, whileBusy } from '../ui';

interface RunSummary {
  startedAt: string | null;
  finishedAt: string | null;
  status: string | null;
  errorCode: string | null;
  error: string | null;
  total: number | null;
  added: number | null;
  updated: number | null;
  removed: number | null;
  durationMs: number | null;
}

/** One of the recent runs: a summary with when it started and its status always set. */
type RunRecord = Omit<RunSummary, 'startedAt' | 'finishedAt' | 'status'> & { at: string; status: string };

interface Integration {
  id: string;
  name: string;
  tenantId: string;
  clientId: string;
  credentials: 'CLIENT_SECRET' | 'GATEHOUSE_APP';
  entraGroupId: string;
  entraGroupName: string | null;
  identifier: 'UPN' | 'MAIL';
  mode: 'USERS_ONLY' | 'GRANT_SHARES';
  paused: boolean;
  groupId: string;
  targets: { placeId: string | null; lockId: string | null; role: string }[];
  lastRun: RunSummary;
  recentRuns: RunRecord[];
}

interface Setup {
  gatehouseAppClientId: string | null;
  consentRedirectUri: string;
  consentedTenants: { tenantId: string; consentedAt: string; consentedBy: string | null }[];
}

interface EntraGroup {
  id: string;
  displayName: string;
  description: string | null;
  mail: string | null;
}

/** Where the group picker reads groups from: Gatehouse's application in a consented tenant, or an own registration. */
type Source = { kind: 'app'; tenantId: string } | { kind: 'own'; tenantId: string; clientId: string; clientSecret: string };

const INTEGRATION_FIELDS = `id name tenantId clientId credentials entraGroupId entraGroupName identifier mode paused groupId
  targets { placeId lockId role }
  lastRun { startedAt finishedAt status errorCode error total added updated removed durationMs }
  recentRuns(first: 5) { at status errorCode error total added updated removed durationMs }`;

const PAGE_QUERY = `query ConsoleGroupImport {
  importIntegrations { ${INTEGRATION_FIELDS} }
  entraImportSetup { gatehouseAppClientId consentRedirectUri consentedTenants { tenantId consentedAt consentedBy } }
}`;
const GROUPS_QUERY = `query ConsoleEntraGroups($input: EntraGroupSearchInput!) { entraGroups(input: $input) { id displayName description mail } }`;
const START_CONSENT = `mutation ConsoleStartConsent { startEntraAdminConsent { url expiresAt } }`;
const CREATE = `mutation ConsoleCreateImport($input: CreateImportIntegrationInput!) { createImportIntegration(input: $input) { id name } }`;
const RUN = `mutation ConsoleRunImport($id: ID!) { runImportIntegration(id: $id) { status skippedReason total added created updated removed skipped errorCode error } }`;
const PAUSE = `mutation ConsolePauseImport($id: ID!) { pauseImportIntegration(id: $id) { id paused } }`;
const RESUME = `mutation ConsoleResumeImport($id: ID!) { resumeImportIntegration(id: $id) { id paused } }`;
const DELETE = `mutation ConsoleDeleteImport($id: ID!) { deleteImportIntegration(id: $id) }`;

const PREVIEW_SIZE = 5;

export async function renderImport(panel: HTMLElement, ctx: ConsoleContext, r: Route): Promise<void> {
  const listEl = h('section', { class: 'card', 'aria-labelledby': 'import-list-title', id: 'import-list' });
  const connectEl = h('section', { class: 'card', 'aria-labelledby': 'import-connect-title', id: 'import-connect' });
  replace(
    panel,
    h(
      'section',
      { class: 'card' },
      h('h2', { id: 'import-title', tabindex: '-1' }, 'Entra group import'),
      h(
        'p',
        { class: 'hint' },
        'For organisations that have not moved to SCIM: Gatehouse reads the members of one Entra group per integration from Microsoft Graph every 15 minutes and keeps a Gatehouse group in step. Every group needs its own integration; each imports up to 5,000 users.',
      ),
    ),
    listEl,
    connectEl,
  );
  replace(listEl, loading('Loading the group imports'));
  listEl.setAttribute('aria-busy', 'true');
  let data: { importIntegrations: Integration[]; entraImportSetup: Setup };
  try {
    data = await graphqlCall(PAGE_QUERY, {});
  } catch (e) {
    replace(listEl, errorBox(e, () => void renderImport(panel, ctx, r)));
    return;
  } finally {
    listEl.removeAttribute('aria-busy');
  }
  const reload = () => void renderImport(panel, ctx, r);
  drawList(listEl, data.importIntegrations, ctx, reload);
  drawConnect(connectEl, data.entraImportSetup, r, ctx, reload);
  if (r.params.get('tenant')) {
    announce('Authorized with Microsoft: now pick the group to import');
    connectEl.scrollIntoView();
    document.getElementById('import-group-search')?.focus();
  }
}

// ---- the integrations ------------------------------------------------------

function drawList(el: HTMLElement, list: Integration[], ctx: ConsoleContext, reload: () => void): void {
  replace(
    el,
    h('h2', { id: 'import-list-title' }, 'Connected groups ', h('span', { class: 'count' }, String(list.length))),
    list.length === 0 ? empty('No Entra group connected yet. Connect one below.') : h('div', { class: 'import-list' }, list.map((i) => integrationCard(i, ctx, reload))),
  );
}

function runText(r: { status: string | null; added: number | null; updated: number | null; removed: number | null; total: number | null }): string {
  if (r.status === 'running') return 'running now';
  const n = (v: number | null) => v ?? 0;
  return `${n(r.total)} user${r.total === 1 ? '' : 's'} in the group: ${n(r.added)} added, ${n(r.updated)} updated, ${n(r.removed)} removed`;
}

function statusBadge(status: string | null): HTMLElement {
  if (status === 'success') return badge('Succeeded', 'ok');
  if (status === 'failed') return badge('Failed', 'error');
  if (status === 'running') return badge('Running', 'warn');
  return badge('Not run yet', 'off');
}

function integrationCard(i: Integration, ctx: ConsoleContext, reload: () => void): HTMLElement {
  const slug = i.id.slice(0, 8);
  const result = h('div', { class: 'import-result', 'aria-live': 'polite' });
  const act = (button: HTMLButtonElement, busyText: string, fn: () => Promise<void>) =>
    whileBusy(button, fn, { busyText, failed: (message) => replace(result, h('p', { class: 'state state-error', role: 'alert' }, message)) });
  const last = i.lastRun;
  const access =
    i.mode === 'USERS_ONLY'
      ? 'Import as users only: members get no access and no invitation'
      : `${i.targets.length} place${i.targets.length === 1 ? '' : 's'} or lock${i.targets.length === 1 ? '' : 's'} shared through the group "Entra import: ${i.name}"`;
  return h(
    'article',
    { class: 'import-item', id: `import-${slug}`, 'data-integration': i.id, 'aria-labelledby': `import-${slug}-name` },
    h(
      'h3',
      { id: `import-${slug}-name` },
      i.name,
      ' ',
      i.paused ? badge('Paused', 'warn') : badge('Active', 'ok'),
      ' ',
      badge(i.credentials === 'GATEHOUSE_APP' ? 'Authorized with Microsoft' : 'Own app registration', 'off'),
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Entra group'),
      h('dd', {}, i.entraGroupName ? `${i.entraGroupName} ` : '', h('span', { class: 'mono sub' }, i.entraGroupId)),
      h('dt', {}, 'Tenant'),
      h('dd', { class: 'mono' }, i.tenantId),
      h('dt', {}, 'User email property'),
      h('dd', {}, i.identifier === 'MAIL' ? 'Mail' : 'User Principal Name'),
      h('dt', {}, 'Access'),
      h('dd', {}, access),
      h('dt', {}, 'Last run'),
      h(
        'dd',
        { class: 'import-last-run' },
        statusBadge(last.status),
        ' ',
        last.startedAt ? `${fmtDate(last.finishedAt ?? last.startedAt)}: ${runText(last)}` : 'The scheduler runs it within 15 minutes, or select Run now.',
        last.status === 'failed' && last.error ? h('p', { class: 'text-error' }, h('strong', {}, `${last.errorCode ?? 'failed'}: `), last.error) : null,
      ),
    ),
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-primary',
          'data-action': 'run',
          onclick: (e: Event) =>
            void act(e.currentTarget as HTMLButtonElement, 'Running…', async () => {
              const { runImportIntegration: run } = await graphqlCall<{ runImportIntegration: RunRecord & { skippedReason: string | null; created: number; skipped: number } }>(RUN, {
                id: i.id,
              });
              if (run.status === 'skipped') announce(run.skippedReason === 'already_running' ? 'Already running: try again in a moment' : 'Skipped', 'error');
              else if (run.status === 'failed') announce(`Run failed: ${run.error ?? run.errorCode}`, 'error');
              else announce(`Imported ${i.name}: ${run.added} added, ${run.updated} updated, ${run.removed} removed`);
              ctx.refreshHealth();
              reload();
            }),
        },
        'Run now',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn',
          'data-action': i.paused ? 'resume' : 'pause',
          onclick: (e: Event) =>
            void act(e.currentTarget as HTMLButtonElement, i.paused ? 'Resuming…' : 'Pausing…', async () => {
              await graphqlCall(i.paused ? RESUME : PAUSE, { id: i.id });
              announce(i.paused ? `${i.name}: scheduled runs resumed` : `${i.name}: paused (members and access stay as they are)`);
              reload();
            }),
        },
        i.paused ? 'Resume' : 'Pause',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-danger',
          'data-action': 'delete',
          onclick: (e: Event) =>
            void act(e.currentTarget as HTMLButtonElement, 'Deleting…', async () => {
              if (!confirm(`Delete the integration "${i.name}"? All its shares are deleted (its members lose the access it gave); the member profiles remain.`)) return;
              await graphqlCall(DELETE, { id: i.id });
              announce(`${i.name} deleted; member profiles remain`);
              ctx.refreshHealth();
              reload();
            }),
        },
        'Delete',
      ),
      h('a', { class: 'btn btn-quiet', href: '#people' }, 'See the members in People & access'),
    ),
    result,
    h('h4', {}, 'Last runs'),
    i.recentRuns.length === 0
      ? h('p', { class: 'hint' }, 'No run has changed anything or failed yet (a run that finds nothing changed is only the last run above).')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'import-runs' },
            h('caption', { class: 'visually-hidden' }, `Last runs of ${i.name}`),
            h('thead', {}, h('tr', {}, ['When', 'Result', 'Users', 'Added', 'Updated', 'Removed', 'Took'].map((c) => h('th', { scope: 'col' }, c)))),
            h(
              'tbody',
              {},
              i.recentRuns.map((run) =>
                h(
                  'tr',
                  {},
                  h('td', {}, fmtDate(run.at)),
                  h('td', {}, statusBadge(run.status), run.error ? h('div', { class: 'text-error' }, `${run.errorCode ?? ''} ${run.error}`) : null),
                  h('td', {}, String(run.total ?? '—')),
                  h('td', {}, String(run.added ?? '—')),
                  h('td', {}, String(run.updated ?? '—')),
                  h('td', {}, String(run.removed ?? '—')),
                  h('td', {}, run.durationMs === null ? '—' : `${(run.durationMs / 1000).toFixed(1)} s`),
                ),
              ),
            ),
          ),
        ),
  );
}

// ---- connecting a group ------------------------------------------------------

function drawConnect(el: HTMLElement, setup: Setup, r: Route, ctx: ConsoleContext, reload: () => void): void {
  const tenantParam = (r.params.get('tenant') ?? '').toLowerCase();
  let source: Source | null = null;
  let picked: EntraGroup | null = null;
  const pickerEl = h('div', { id: 'import-picker' });
  const optionsEl = h('div', { id: 'import-options' });

  const choose = (s: Source) => {
    source = s;
    picked = null;
    replace(optionsEl);
    drawPicker();
  };

  // Step 1: how Gatehouse reads the directory.
  const authorize = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-primary',
      id: 'import-authorize',
      onclick: async (e: Event) => {
        const b = e.currentTarget as HTMLButtonElement;
        b.disabled = true;
        try {
          const { startEntraAdminConsent } = await graphqlCall<{ startEntraAdminConsent: { url: string } }>(START_CONSENT, {});
          location.assign(startEntraAdminConsent.url);
        } catch (err) {
          announce(err instanceof Error ? err.message : String(err), 'error');
          b.disabled = false;
        }
      },
    },
    'Authorize with Microsoft',
  );
  const tenants = setup.consentedTenants.map((t) =>
    h(
      'label',
      { class: 'check' },
      h('input', {
        type: 'radio',
        name: 'import-tenant',
        value: t.tenantId,
        'data-tenant': t.tenantId,
        checked: t.tenantId.toLowerCase() === tenantParam,
        onchange: () => choose({ kind: 'app', tenantId: t.tenantId }),
      }),
      h('span', { class: 'mono' }, t.tenantId),
      h('span', { class: 'sub' }, ` authorized ${fmtDate(t.consentedAt)}${t.consentedBy ? ` by ${t.consentedBy}` : ''}`),
    ),
  );

  const ownTenant = h('input', { id: 'import-own-tenant', type: 'text', autocomplete: 'off', placeholder: 'contoso.onmicrosoft.com or the tenant id', required: true });
  const ownClient = h('input', { id: 'import-own-client', type: 'text', autocomplete: 'off', placeholder: '11111111-2222-3333-4444-555555555555', class: 'mono', required: true });
  const ownSecret = h('input', { id: 'import-own-secret', type: 'password', autocomplete: 'off', required: true });
  const ownForm = h(
    'form',
    {
      id: 'import-own-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        choose({ kind: 'own', tenantId: ownTenant.value.trim(), clientId: ownClient.value.trim(), clientSecret: ownSecret.value });
        document.getElementById('import-group-search')?.focus();
      },
    },
    h(
      'p',
      { class: 'hint' },
      'In Entra: App registrations › New registration; add a client secret; under API permissions add the application permissions GroupMember.Read.All and User.Read.All and grant admin consent.',
    ),
    h('div', { class: 'field' }, h('label', { for: 'import-own-tenant' }, 'Directory (tenant) id or verified domain'), ownTenant),
    h('div', { class: 'field' }, h('label', { for: 'import-own-client' }, 'Application (client) id'), ownClient),
    h('div', { class: 'field' }, h('label', { for: 'import-own-secret' }, 'Client secret (value)'), ownSecret, h('p', { class: 'hint' }, 'Stored encrypted; never shown again.')),
    h('button', { type: 'submit', class: 'btn', id: 'import-own-use' }, 'Use this registration'),
  );

  replace(
    el,
    h('h2', { id: 'import-connect-title' }, 'Connect an Entra group'),
    h(
      'ol',
      { class: 'steps' },
      h(
        'li',
        {},
        h('h3', {}, 'Let Gatehouse read your directory'),
        setup.gatehouseAppClientId
          ? [
              h(
                'p',
                {},
                'Select Authorize with Microsoft and sign in as a Global Administrator of your Entra tenant, then Accept. Gatehouse asks to read all group memberships (GroupMember.Read.All) and all users’ full profiles (User.Read.All). Nothing to register in Entra.',
              ),
              h('div', { class: 'actions' }, authorize),
              tenants.length
                ? h('fieldset', { class: 'import-tenants' }, h('legend', {}, 'Tenants already authorized: use one'), tenants)
                : null,
            ]
          : h('p', { class: 'hint' }, 'This Gatehouse has no Microsoft application of its own (its operator has not set ENTRA_APP_CLIENT_ID): connect with your own app registration.'),
        h('details', { id: 'import-own', open: !setup.gatehouseAppClientId }, h('summary', {}, 'Or use your own app registration (client secret)'), ownForm),
      ),
      h('li', {}, h('h3', {}, 'Pick the group'), pickerEl),
      h('li', {}, h('h3', {}, 'Choose how its members are imported'), optionsEl),
    ),
  );

  const initial = setup.consentedTenants.find((t) => t.tenantId.toLowerCase() === tenantParam);
  if (initial) {
    choose({ kind: 'app', tenantId: initial.tenantId });
    // The route's tenant has done its job: a reload shows the page as usual.
    replaceParams({});
  } else {
    replace(pickerEl, h('p', { class: 'hint' }, 'First let Gatehouse read your directory (step 1).'));
    replace(optionsEl);
  }

  function drawPicker(): void {
    if (!source) return;
    const s = source;
    const search = h('input', {
      id: 'import-group-search',
      type: 'search',
      autocomplete: 'off',
      placeholder: 'Type a group name, or paste its object id',
      'aria-describedby': 'import-group-hint',
      'aria-controls': 'import-group-results',
    });
    const results = h('fieldset', { id: 'import-group-results', class: 'import-groups', 'aria-live': 'polite' });
    const hint = h('p', { class: 'hint', id: 'import-group-hint' }, `The first ${PREVIEW_SIZE} groups by name are shown; type to search the rest.`);
    let timer = 0;
    let seq = 0;
    const fetchGroups = async (term: string) => {
      const mine = ++seq;
      replace(results, h('legend', { class: 'visually-hidden' }, 'Entra groups'), loading(term ? `Searching “${term}”` : 'Loading groups'));
      results.setAttribute('aria-busy', 'true');
      try {
        const input =
          s.kind === 'app'
            ? { tenantId: s.tenantId, search: term || null, first: term ? 25 : PREVIEW_SIZE }
            : { tenantId: s.tenantId, clientId: s.clientId, clientSecret: s.clientSecret, search: term || null, first: term ? 25 : PREVIEW_SIZE };
        const { entraGroups } = await graphqlCall<{ entraGroups: EntraGroup[] }>(GROUPS_QUERY, { input });
        if (mine !== seq) return;
        replace(
          results,
          h('legend', { class: 'visually-hidden' }, 'Entra groups'),
          entraGroups.length === 0
            ? empty(term ? `No group’s name starts with “${term}”.` : 'This tenant has no groups Gatehouse can read.')
            : entraGroups.map((g) =>
                h(
                  'label',
                  { class: 'check import-group' },
                  h('input', {
                    type: 'radio',
                    name: 'import-group',
                    value: g.id,
                    checked: picked?.id === g.id,
                    onchange: () => {
                      picked = g;
                      drawOptions();
                    },
                  }),
                  h('span', {}, h('strong', {}, g.displayName), g.description ? h('span', { class: 'sub' }, ` ${g.description}`) : null),
                ),
              ),
        );
      } catch (e) {
        if (mine !== seq) return;
        replace(results, h('legend', { class: 'visually-hidden' }, 'Entra groups'), errorBox(e, () => void fetchGroups(term)));
      } finally {
        if (mine === seq) results.removeAttribute('aria-busy');
      }
    };
    search.addEventListener('input', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void fetchGroups(search.value.trim()), 300);
    });
    replace(
      pickerEl,
      h(
        'p',
        {},
        s.kind === 'app' ? ['Reading tenant ', h('span', { class: 'mono' }, s.tenantId), ' with Gatehouse’s application.'] : ['Reading tenant ', h('span', { class: 'mono' }, s.tenantId), ' with your app registration.'],
      ),
      h('div', { class: 'field' }, h('label', { for: 'import-group-search' }, 'Search groups'), search, hint),
      results,
    );
    void fetchGroups('');
  }

  function drawOptions(): void {
    const s = source;
    const g = picked;
    if (!s || !g) return;
    const name = h('input', { id: 'import-name', type: 'text', required: true, maxlength: 200 });
    name.value = g.displayName;
    const usersOnly = h('input', { id: 'import-users-only', type: 'checkbox' });
    const role = h(
      'select',
      { id: 'import-role' },
      h('option', { value: 'USER' }, 'User (opens doors)'),
      h('option', { value: 'MANAGER' }, 'Manager'),
      h('option', { value: 'ADMINISTRATOR' }, 'Administrator'),
    );
    const targetsEl = h('div', { id: 'import-targets' }, loading('Loading places and locks'));
    const status = h('div', { id: 'import-add-status', 'aria-live': 'polite' });
    void api
      .places()
      .then(({ places, locks }) => drawTargets(targetsEl, places, locks))
      .catch((e: unknown) => replace(targetsEl, errorBox(e)));
    usersOnly.addEventListener('change', () => {
      targetsEl.hidden = usersOnly.checked;
      role.disabled = usersOnly.checked;
    });
    const form = h(
      'form',
      {
        id: 'import-add-form',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const submit = document.getElementById('import-add') as HTMLButtonElement;
          const checked = [...targetsEl.querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')];
          if (!usersOnly.checked && checked.length === 0) {
            replace(status, h('p', { class: 'state state-error', role: 'alert' }, 'Choose at least one place or lock to share, or select Import as users only.'));
            return;
          }
          const identifier = (form.querySelector<HTMLInputElement>('input[name=import-identifier]:checked')?.value ?? 'UPN') as 'UPN' | 'MAIL';
          const input = {
            name: name.value.trim(),
            tenantId: s.tenantId,
            ...(s.kind === 'app' ? { credentials: 'GATEHOUSE_APP' } : { credentials: 'CLIENT_SECRET', clientId: s.clientId, clientSecret: s.clientSecret }),
            entraGroupId: g.id,
            entraGroupName: g.displayName,
            identifier,
            mode: usersOnly.checked ? 'USERS_ONLY' : 'GRANT_SHARES',
            ...(usersOnly.checked
              ? {}
              : { targets: checked.map((c) => (c.dataset.kind === 'place' ? { placeId: c.value, role: role.value } : { lockId: c.value, role: role.value })) }),
          };
          submit.disabled = true;
          try {
            const { createImportIntegration } = await graphqlCall<{ createImportIntegration: { id: string; name: string } }>(CREATE, { input });
            announce(`${createImportIntegration.name} connected: select Run now to import its members at once`);
            ctx.refreshHealth();
            reload();
          } catch (err) {
            replace(status, h('p', { class: 'state state-error', role: 'alert' }, err instanceof Error ? err.message : String(err)));
            submit.disabled = false;
          }
        },
      },
      h('p', {}, 'Group: ', h('strong', { id: 'import-picked' }, g.displayName), ' ', h('span', { class: 'mono sub' }, g.id)),
      h('div', { class: 'field' }, h('label', { for: 'import-name' }, 'Integration name'), name),
      h(
        'fieldset',
        {},
        h('legend', {}, 'User email property'),
        h('p', { class: 'hint' }, 'The Entra attribute that holds the user’s email address; it becomes the member’s userName.'),
        h('label', { class: 'check' }, h('input', { type: 'radio', name: 'import-identifier', value: 'UPN', checked: true }), 'User Principal Name (default)'),
        h('label', { class: 'check' }, h('input', { type: 'radio', name: 'import-identifier', value: 'MAIL' }), 'Mail'),
      ),
      h(
        'fieldset',
        {},
        h('legend', {}, 'Access'),
        h(
          'label',
          { class: 'check' },
          usersOnly,
          'Import as users only',
        ),
        h('p', { class: 'hint' }, 'Users only: members are imported without any access and get no invitation email. Otherwise they get the places and locks below through the group, and an email that access was shared.'),
        h('div', { class: 'field' }, h('label', { for: 'import-role' }, 'Role on the places and locks'), role),
        targetsEl,
      ),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'import-add' }, 'Add')),
      status,
    );
    replace(optionsEl, form);
  }
}

function drawTargets(el: HTMLElement, places: Place[], locks: Lock[]): void {
  if (places.length === 0) {
    replace(el, empty('No places yet: add places with the API, or select Import as users only.'));
    return;
  }
  replace(
    el,
    h(
      'fieldset',
      { class: 'import-targets' },
      h('legend', {}, 'Places and locks to share'),
      places.map((p) =>
        h(
          'div',
          { class: 'import-place' },
          h('label', { class: 'check' }, h('input', { type: 'checkbox', value: p.id, 'data-kind': 'place' }), h('strong', {}, p.name), h('span', { class: 'sub' }, ' (every lock)')),
          locks
            .filter((l) => l.placeId === p.id)
            .map((l) => h('label', { class: 'check import-lock' }, h('input', { type: 'checkbox', value: l.id, 'data-kind': 'lock' }), l.name)),
        ),
      ),
    ),
  );
}
