// Webhooks (#webhooks): the organisation's endpoints (URL, events, health),
// adding one (its signing secret shown once), rotating a secret (the new one
// shown once, the previous one signing beside it for a day), enabling and
// disabling, and each endpoint's delivery log with response codes and manual
// redelivery (#webhooks?endpoint=ID). Everything goes through GraphQL.
import { graphqlCall } from '../api';
import type { ConsoleContext } from '../context';
import { replaceParams, type Route } from '../router';
import { announce, badge, copyField, dataTable, empty, errorBox, fmtDate, ago, h, loading, replace, rowAction, whileBusy } from '../ui';

interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  failingSince: string | null;
  previousSecretExpiresAt: string | null;
  createdAt: string;
}

interface Delivery {
  id: string;
  eventType: string;
  messageId: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
}

const ENDPOINT_FIELDS = 'id url description eventTypes enabled disabledReason disabledAt failingSince previousSecretExpiresAt createdAt';
const DELIVERY_FIELDS = 'id eventType messageId status attempts lastStatus lastError lastAttemptAt nextAttemptAt createdAt';

const gql = {
  list: () =>
    graphqlCall<{ webhookEndpoints: Endpoint[]; webhookEventTypes: { type: string; description: string }[] }>(
      `query ConsoleWebhooks { webhookEndpoints { ${ENDPOINT_FIELDS} } webhookEventTypes { type description } }`,
      {},
    ),
  create: (input: { url: string; eventTypes: string[]; description: string | null }) =>
    graphqlCall<{ createWebhookEndpoint: { endpoint: Endpoint; secret: string } }>(
      `mutation ConsoleCreateWebhook($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { ${ENDPOINT_FIELDS} } } }`,
      { input },
    ),
  setEnabled: (id: string, enabled: boolean) =>
    graphqlCall<{ updateWebhookEndpoint: Endpoint }>(
      `mutation ConsoleEnableWebhook($id: ID!, $enabled: Boolean!) { updateWebhookEndpoint(id: $id, input: { enabled: $enabled }) { ${ENDPOINT_FIELDS} } }`,
      { id, enabled },
    ),
  rotate: (id: string) =>
    graphqlCall<{ rotateWebhookSecret: { secret: string; previousSecretExpiresAt: string | null } }>(
      `mutation ConsoleRotateWebhook($id: ID!) { rotateWebhookSecret(id: $id) { secret previousSecretExpiresAt } }`,
      { id },
    ),
  deliveries: (endpointId: string) =>
    graphqlCall<{ webhookDeliveries: Delivery[] }>(
      `query ConsoleWebhookDeliveries($endpointId: ID!) { webhookDeliveries(endpointId: $endpointId, first: 100) { ${DELIVERY_FIELDS} } }`,
      { endpointId },
    ),
  redeliver: (id: string) =>
    graphqlCall<{ redeliverWebhook: Delivery }>(`mutation ConsoleRedeliver($id: ID!) { redeliverWebhook(id: $id) { ${DELIVERY_FIELDS} } }`, { id }),
};

/** The endpoint's state in words: healthy, failing since, or disabled (and why). */
function health(e: Endpoint): HTMLElement {
  if (!e.enabled) {
    const auto = e.disabledReason !== null && e.disabledReason !== 'disabled by an administrator';
    return h(
      'div',
      { class: 'webhook-health', 'data-state': auto ? 'disabled-failing' : 'disabled' },
      badge(auto ? 'Disabled: failing for too long' : 'Disabled', 'error'),
      h('div', { class: 'hint' }, auto ? `Gatehouse stopped sending: ${e.disabledReason} (disabled ${fmtDate(e.disabledAt)}). Fix the receiver, then Enable and redeliver what failed.` : `Disabled ${fmtDate(e.disabledAt)} by an administrator.`),
    );
  }
  if (e.failingSince) {
    return h(
      'div',
      { class: 'webhook-health', 'data-state': 'failing' },
      badge(`Failing since ${ago(e.failingSince)}`, 'warn'),
      h('div', { class: 'hint' }, `Every attempt since ${fmtDate(e.failingSince)} failed; retried with back-off. After 3 days of failures the endpoint is disabled.`),
    );
  }
  return h('div', { class: 'webhook-health', 'data-state': 'ok' }, badge('Enabled', 'ok'));
}

/** A secret, shown once, with its Copy button. */
function secretBox(title: string, secret: string, note: string): HTMLElement {
  return h(
    'div',
    { class: 'card card-secret', id: 'webhook-secret', role: 'status' },
    h('h3', {}, title),
    copyField('Signing secret', secret, 'webhook-secret-value'),
    h('p', { class: 'warning' }, note),
  );
}

export async function renderWebhooks(panel: HTMLElement, ctx: ConsoleContext, r: Route): Promise<void> {
  const listEl = h('section', { class: 'card', 'aria-labelledby': 'webhooks-title', id: 'webhooks-endpoints' });
  const secretEl = h('div', { id: 'webhook-secret-slot' });
  const addEl = h('section', { class: 'card', 'aria-labelledby': 'webhooks-add-title', id: 'webhooks-add' });
  const logEl = h('section', { class: 'card', 'aria-labelledby': 'webhooks-log-title', id: 'webhooks-log', hidden: true });
  replace(panel, secretEl, listEl, logEl, addEl);
  let selected = r.params.get('endpoint');

  const act = whileBusy;

  const drawList = (endpoints: Endpoint[]) => {
    const title = h('h2', { id: 'webhooks-title' }, 'Webhook endpoints ', badge(String(endpoints.length), 'off'));
    const intro = h(
      'p',
      { class: 'hint' },
      'Gatehouse tells these URLs what changed (members, groups, shares, door access, sign-ins, imports), signed per the Standard Webhooks specification with the endpoint’s secret.',
    );
    if (endpoints.length === 0) {
      replace(listEl, title, intro, empty('No endpoint yet. Add one below: a URL and the events it wants.'));
      return;
    }
    replace(
      listEl,
      title,
      intro,
      h(
        'ul',
        { class: 'webhook-list', id: 'webhook-list' },
        endpoints.map((e) =>
          h(
            'li',
            { class: `webhook${e.id === selected ? ' selected' : ''}`, 'data-endpoint': e.id },
            h('div', { class: 'webhook-url mono' }, e.url),
            e.description ? h('div', { class: 'hint' }, e.description) : null,
            h('div', { class: 'webhook-events' }, e.eventTypes.map((t) => h('code', {}, t === '*' ? '* (all but access.changed, audit.event)' : t))),
            health(e),
            e.previousSecretExpiresAt ? h('div', { class: 'hint' }, `The previous secret also signs until ${fmtDate(e.previousSecretExpiresAt)}.`) : null,
            h(
              'div',
              { class: 'actions' },
              h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'log', onclick: () => showLog(e) }, 'Delivery log'),
              h(
                'button',
                {
                  type: 'button',
                  class: 'btn btn-small',
                  'data-action': 'rotate',
                  onclick: (ev: Event) =>
                    void act(ev.currentTarget as HTMLButtonElement, async () => {
                      if (!confirm('Rotate the signing secret? The new one is shown once; the current one keeps signing beside it for 24 hours so the receiver can switch.')) return;
                      const { rotateWebhookSecret: rot } = await gql.rotate(e.id);
                      replace(
                        secretEl,
                        secretBox('New signing secret', rot.secret, `Copy it now: it is not shown again. The previous secret also signs until ${fmtDate(rot.previousSecretExpiresAt)}.`),
                      );
                      announce('Secret rotated');
                      await refresh();
                    }),
                },
                'Rotate secret',
              ),
              h(
                'button',
                {
                  type: 'button',
                  class: e.enabled ? 'btn btn-small btn-danger' : 'btn btn-small btn-primary',
                  'data-action': e.enabled ? 'disable' : 'enable',
                  onclick: (ev: Event) =>
                    void act(ev.currentTarget as HTMLButtonElement, async () => {
                      if (e.enabled && !confirm('Disable this endpoint? Its waiting deliveries fail and nothing more is queued for it until you enable it again.')) return;
                      await gql.setEnabled(e.id, !e.enabled);
                      announce(e.enabled ? 'Endpoint disabled' : 'Endpoint enabled');
                      await refresh();
                      ctx.refreshHealth();
                    }),
                },
                e.enabled ? 'Disable' : 'Enable',
              ),
            ),
          ),
        ),
      ),
    );
  };

  const showLog = (e: Endpoint) => {
    selected = e.id;
    replaceParams({ endpoint: e.id });
    for (const li of listEl.querySelectorAll('li.webhook')) li.classList.toggle('selected', (li as HTMLElement).dataset.endpoint === e.id);
    void drawLog(e);
  };

  const drawLog = async (e: Endpoint) => {
    logEl.hidden = false;
    const title = h('h2', { id: 'webhooks-log-title', tabindex: '-1' }, 'Delivery log');
    replace(logEl, title, loading('Loading deliveries'));
    let rows: Delivery[];
    try {
      rows = (await gql.deliveries(e.id)).webhookDeliveries;
    } catch (err) {
      replace(logEl, title, errorBox(err, () => void drawLog(e)));
      return;
    }
    const statusBadge = (d: Delivery) =>
      d.status === 'SUCCEEDED' ? badge('Delivered', 'ok') : d.status === 'FAILED' ? badge('Failed', 'error') : badge(d.attempts > 0 ? 'Retrying' : 'Pending', 'warn');
    replace(
      logEl,
      title,
      h('p', { class: 'hint' }, 'Newest first. ', h('span', { class: 'mono' }, e.url)),
      rows.length === 0
        ? empty('Nothing sent to this endpoint yet: deliveries appear here once an event it subscribes to happens.')
        : dataTable(
            { class: 'deliveries stack', id: 'webhook-deliveries' },
            ['Event', 'Status', 'Response', 'Attempts', 'Last attempt', ''],
            rows.map((d) =>
              h(
                'tr',
                { 'data-delivery': d.id, 'data-status': d.status },
                h('td', {}, h('code', {}, d.eventType), h('div', { class: 'hint mono' }, d.messageId)),
                h('td', {}, statusBadge(d), d.status === 'PENDING' && d.nextAttemptAt ? h('div', { class: 'hint' }, `next ${fmtDate(d.nextAttemptAt)}`) : null),
                h('td', { class: 'response' }, d.lastStatus !== null ? h('strong', {}, `HTTP ${d.lastStatus}`) : '—', d.lastError ? h('div', { class: 'hint' }, d.lastError) : null),
                h('td', {}, `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`),
                h('td', {}, fmtDate(d.lastAttemptAt)),
                h(
                  'td',
                  {},
                  rowAction(
                    'Redeliver',
                    'redeliver',
                    async () => {
                      await gql.redeliver(d.id);
                      announce('Queued for redelivery');
                      await drawLog(e);
                    },
                    { disabled: !e.enabled, title: e.enabled ? 'Send this message again (same webhook-id)' : 'Enable the endpoint first' },
                  ),
                ),
              ),
            ),
          ),
    );
  };

  const drawAdd = (types: { type: string; description: string }[]) => {
    const url = h('input', { id: 'webhook-url', type: 'url', required: true, placeholder: 'https://hr.example.com/gatehouse', autocomplete: 'off', class: 'mono' });
    const description = h('input', { id: 'webhook-description', type: 'text', maxlength: 500, autocomplete: 'off' });
    const boxes = [{ type: '*', description: 'every type but access.changed and audit.event (name those to get them)' }, ...types].map((t) =>
      h(
        'label',
        { class: 'event-choice' },
        h('input', { type: 'checkbox', name: 'webhook-event', value: t.type }),
        ' ',
        h('code', {}, t.type),
        h('span', { class: 'hint' }, ` ${t.description}`),
      ),
    );
    const form = h(
      'form',
      {
        id: 'webhook-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          const button = document.getElementById('webhook-add') as HTMLButtonElement;
          const eventTypes = [...form.querySelectorAll<HTMLInputElement>('input[name="webhook-event"]:checked')].map((i) => i.value);
          void act(button, async () => {
            if (eventTypes.length === 0) {
              announce('Choose at least one event', 'error');
              return;
            }
            const { createWebhookEndpoint: made } = await gql.create({ url: url.value.trim(), eventTypes, description: description.value.trim() || null });
            replace(secretEl, secretBox('Endpoint added: its signing secret', made.secret, 'Copy it now: it is not shown again. The receiver verifies every request with it (webhook-signature).'));
            form.reset();
            announce('Endpoint added');
            await refresh();
            document.getElementById('webhook-secret-value')?.focus();
          });
        },
      },
      h('div', { class: 'field' }, h('label', { for: 'webhook-url' }, 'URL'), url, h('p', { class: 'hint' }, 'An https URL reachable from Gatehouse; private and loopback addresses are refused unless the operator allows them.')),
      h('div', { class: 'field' }, h('label', { for: 'webhook-description' }, 'Description (optional)'), description),
      h('fieldset', { class: 'field events' }, h('legend', {}, 'Events'), boxes),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'webhook-add' }, 'Add endpoint')),
    );
    replace(addEl, h('h2', { id: 'webhooks-add-title' }, 'Add an endpoint'), form);
  };

  let endpoints: Endpoint[] = [];
  const refresh = async () => {
    const v = await gql.list();
    endpoints = v.webhookEndpoints;
    drawList(endpoints);
    return v;
  };

  replace(listEl, loading('Loading webhooks'));
  try {
    const v = await refresh();
    drawAdd(v.webhookEventTypes);
    const pick = endpoints.find((e) => e.id === selected);
    if (pick) void drawLog(pick);
  } catch (e) {
    replace(listEl, errorBox(e, () => void renderWebhooks(panel, ctx, r)));
  }
}
