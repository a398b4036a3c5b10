// Door controllers (#controllers): controller keys, each able to read only the
// allow-lists and changes of the locks and places it was given (lockSnapshot,
// lockAccessChanges, the lockAccess subscription), so one stolen controller
// leaks one site, not the directory. List, create (pick locks and places; the
// key shown once with Copy, as the SCIM token is) and revoke. Everything goes
// through GraphQL, as an app with an admin key would do it.
import { graphqlCall } from '../api';
import { announce, badge, copyText, empty, errorBox, fmtDate, ago, h, loading, replace, whileBusy } from '../ui';

interface ControllerKey {
  id: string;
  name: string;
  role: string;
  lockIds: string[];
  placeIds: string[];
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

interface PlaceWithLocks {
  id: string;
  name: string;
  locks: { id: string; name: string }[];
}

const KEY_FIELDS = 'id name role lockIds placeIds prefix createdAt lastUsedAt revokedAt';

const gql = {
  load: async () => {
    const d = await graphqlCall<{ apiKeys: ControllerKey[]; places: { edges: { node: PlaceWithLocks }[] } }>(
      `query ConsoleControllerKeys { apiKeys { ${KEY_FIELDS} } places(first: 500) { edges { node { id name locks { id name } } } } }`,
      {},
    );
    return { keys: d.apiKeys.filter((k) => k.role === 'controller'), places: d.places.edges.map((e) => e.node) };
  },
  create: (name: string, lockIds: string[], placeIds: string[]) =>
    graphqlCall<{ createApiKey: { key: string; apiKey: ControllerKey } }>(
      `mutation ConsoleCreateControllerKey($name: String!, $lockIds: [ID!], $placeIds: [ID!]) {
        createApiKey(name: $name, role: "controller", lockIds: $lockIds, placeIds: $placeIds) { key apiKey { ${KEY_FIELDS} } }
      }`,
      { name, lockIds, placeIds },
    ),
  revoke: (id: string) => graphqlCall<{ revokeApiKey: ControllerKey }>(`mutation ConsoleRevokeApiKey($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`, { id }),
};

export async function renderControllers(panel: HTMLElement): Promise<void> {
  const secretEl = h('div', { id: 'controller-key-slot' });
  const listEl = h('section', { class: 'card', 'aria-labelledby': 'controllers-title', id: 'controllers-keys' });
  const addEl = h('section', { class: 'card', 'aria-labelledby': 'controllers-add-title', id: 'controllers-add' });
  replace(panel, secretEl, listEl, addEl);
  let places: PlaceWithLocks[] = [];

  const draw = async () => {
    replace(listEl, loading('Loading controller keys'));
    try {
      const d = await gql.load();
      const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);
      places = d.places.map((p) => ({ ...p, locks: [...p.locks].sort(byName) })).sort(byName);
      drawList(d.keys);
      drawForm();
    } catch (e) {
      replace(listEl, errorBox(e, () => void draw()));
    }
  };

  /** "Depot (all locks)", "Gate (Depot)": what a key may read, by name. */
  function scopeText(k: ControllerKey): string[] {
    const placeName = new Map(places.map((p) => [p.id, p.name]));
    const lockName = new Map(places.flatMap((p) => p.locks.map((l) => [l.id, `${l.name} (${p.name})`] as const)));
    return [
      ...k.placeIds.map((id) => `${placeName.get(id) ?? 'a place since deleted'}: all locks`),
      ...k.lockIds.map((id) => lockName.get(id) ?? 'a lock since deleted'),
    ];
  }

  function drawList(keys: ControllerKey[]): void {
    const live = keys.filter((k) => !k.revokedAt);
    replace(
      listEl,
      h('h2', { id: 'controllers-title', tabindex: '-1' }, 'Controller keys ', badge(String(live.length), 'off')),
      h(
        'p',
        { class: 'hint' },
        'A door controller uses its key (Authorization: Bearer) to load the allow-list of its locks (lockSnapshot) and to follow their changes ' +
          '(lockAccessChanges, or the lockAccess subscription). The key reads nothing else: one stolen controller leaks one site, not the directory.',
      ),
      keys.length === 0
        ? empty('No controller keys yet. Create one below for each door controller.')
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'controller-keys stack-sm', id: 'controller-keys-table' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  h('th', { scope: 'col' }, 'Controller'),
                  h('th', { scope: 'col' }, 'May read'),
                  h('th', { scope: 'col' }, 'Key'),
                  h('th', { scope: 'col' }, 'Last used'),
                  h('th', { scope: 'col' }, 'Actions'),
                ),
              ),
              h('tbody', {}, keys.map(keyRow)),
            ),
          ),
    );
  }

  function keyRow(k: ControllerKey): HTMLElement {
    return h(
      'tr',
      { 'data-key-id': k.id, 'data-key-name': k.name, class: k.revokedAt ? 'revoked' : '' },
      h('th', { scope: 'row', 'data-label': 'Controller' }, k.name, h('div', { class: 'sub' }, `created ${fmtDate(k.createdAt)}`)),
      h('td', { 'data-label': 'May read', class: 'controller-scope' }, h('ul', { class: 'plain' }, scopeText(k).map((t) => h('li', {}, t)))),
      h('td', { 'data-label': 'Key', class: 'mono' }, `${k.prefix}…`),
      h('td', { 'data-label': 'Last used' }, k.lastUsedAt ? `${fmtDate(k.lastUsedAt)} (${ago(k.lastUsedAt)})` : 'never'),
      h(
        'td',
        { 'data-label': 'Actions' },
        k.revokedAt
          ? badge(`Revoked ${fmtDate(k.revokedAt)}`, 'off')
          : h(
              'button',
              {
                type: 'button',
                class: 'btn btn-small btn-danger',
                'aria-label': `Revoke key ${k.name}`,
                onclick: (e: Event) =>
                  void whileBusy(e.currentTarget as HTMLButtonElement, async () => {
                    if (!confirm(`Revoke the key of “${k.name}”? That controller stops receiving changes at once.`)) return;
                    await gql.revoke(k.id);
                    announce(`Key of ${k.name} revoked`);
                    await draw();
                    document.getElementById('controllers-title')?.focus();
                  }),
              },
              'Revoke',
            ),
      ),
    );
  }

  function drawForm(): void {
    const name = h('input', { id: 'controller-name', type: 'text', required: true, maxlength: 200, autocomplete: 'off', placeholder: 'Depot front door controller' });
    const error = h('div', { id: 'controller-form-error' });
    const picker =
      places.length === 0
        ? empty('No places yet: create places and locks first (GraphQL createPlace and createLock, or the CLI).')
        : h(
            'ul',
            { class: 'plain controller-picker', id: 'controller-picker' },
            places.map((p) =>
              h(
                'li',
                { class: 'picker-place' },
                h(
                  'label',
                  { class: 'check' },
                  h('input', {
                    type: 'checkbox',
                    name: 'place',
                    value: p.id,
                    'data-place': p.id,
                    'aria-describedby': `controller-place-hint-${p.id}`,
                    onchange: (e: Event) => placeToggled(e.currentTarget as HTMLInputElement, p),
                  }),
                  h('strong', {}, p.name),
                ),
                h('p', { class: 'sub', id: `controller-place-hint-${p.id}` }, 'All its locks, also those added later'),
                p.locks.length > 0
                  ? h(
                      'ul',
                      { class: 'plain picker-locks' },
                      p.locks.map((l) =>
                        h('li', {}, h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'lock', value: l.id, 'data-lock-of': p.id }), l.name)),
                      ),
                    )
                  : h('p', { class: 'sub' }, 'No locks yet.'),
              ),
            ),
          );
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'controller-create', disabled: places.length === 0 }, 'Create controller key');
    replace(
      addEl,
      h('h2', { id: 'controllers-add-title' }, 'New controller key'),
      h(
        'form',
        {
          id: 'controller-form',
          onsubmit: (e: Event) => {
            e.preventDefault();
            void whileBusy(submit, async () => {
              const checked = (n: string) => [...addEl.querySelectorAll<HTMLInputElement>(`input[name="${n}"]:checked:not(:disabled)`)].map((i) => i.value);
              const placeIds = checked('place');
              const lockIds = checked('lock');
              replace(error);
              if (placeIds.length + lockIds.length === 0) {
                replace(error, h('p', { class: 'state state-error', role: 'alert' }, 'Pick at least one lock or place this controller may read.'));
                return;
              }
              const created = await gql.create(name.value.trim(), lockIds, placeIds);
              await draw();
              showKey(created.createApiKey.key, created.createApiKey.apiKey.name);
            });
          },
        },
        h('div', { class: 'field' }, h('label', { for: 'controller-name' }, 'Name'), name, h('p', { class: 'hint' }, 'Which controller uses it (the site or the door), to recognise it later.')),
        h('fieldset', { class: 'field' }, h('legend', {}, 'May read the allow-lists and changes of'), picker),
        error,
        h('div', { class: 'actions' }, submit),
      ),
    );
  }

  /** A place picked covers its locks: their own boxes are checked and locked, so the key names the place only. */
  function placeToggled(box: HTMLInputElement, p: PlaceWithLocks): void {
    for (const l of addEl.querySelectorAll<HTMLInputElement>(`input[data-lock-of="${p.id}"]`)) {
      l.disabled = box.checked;
      if (box.checked) l.checked = true;
    }
  }

  function showKey(key: string, keyName: string): void {
    const input = h('input', { id: 'controller-key', type: 'text', readonly: true, class: 'mono', 'aria-label': 'Controller key' });
    input.value = key;
    replace(
      secretEl,
      h(
        'section',
        { class: 'card token-card', role: 'alert', 'aria-labelledby': 'controller-key-title' },
        h('h2', { id: 'controller-key-title' }, `Key for ${keyName}`),
        h(
          'p',
          { class: 'warning' },
          h('strong', {}, 'Copy it now: it will not be shown again. '),
          'Give it to the controller as its bearer token. Gatehouse keeps only a hash of it; if it is lost, revoke it and create another.',
        ),
        h(
          'div',
          { class: 'copy-row' },
          input,
          h(
            'button',
            { type: 'button', class: 'btn btn-primary', 'aria-label': 'Copy controller key', onclick: async () => announce((await copyText(key)) ? 'Key copied' : 'Copy failed: select the text and copy it') },
            'Copy',
          ),
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-quiet',
            id: 'controller-key-done',
            onclick: () => {
              replace(secretEl);
              // Focus would fall to the page's start with the removed button: put it on the list of keys.
              document.getElementById('controllers-title')?.focus();
            },
          },
          'I have copied it — hide the key',
        ),
      ),
    );
    input.focus();
    input.select();
  }

  await draw();
}
