// Mail (#mail): the notification-mail outbox (sent, pending, "not sent: no
// SMTP configured", failed, blocked) with Resend, and the blocked addresses
// (hard bounces) with Clear. Everything goes through GraphQL.
import { graphqlCall } from '../api';
import type { ConsoleContext } from '../context';
import { replaceParams, type Route } from '../router';
import { announce, badge, dataTable, empty, errorBox, fmtDate, h, loading, replace, rowAction } from '../ui';

type Status = 'PENDING' | 'SENT' | 'FAILED' | 'BLOCKED' | 'UNSENT';

interface Mail {
  id: string;
  to: string;
  template: string;
  status: Status;
  statusText: string;
  attempts: number;
  lastError: string | null;
  lastSmtpCode: number | null;
  createdAt: string;
  sentAt: string | null;
  nextAttemptAt: string | null;
}

interface Blocked {
  address: string;
  reason: string;
  smtpCode: number | null;
  createdAt: string;
}

const MAIL_FIELDS = 'id to template status statusText attempts lastError lastSmtpCode createdAt sentAt nextAttemptAt';

const gql = {
  load: (status: Status | null) =>
    graphqlCall<{ mailOutbox: Mail[]; blockedMailAddresses: Blocked[] }>(
      `query ConsoleMail($status: MailStatus) { mailOutbox(first: 100, status: $status) { ${MAIL_FIELDS} } blockedMailAddresses { address reason smtpCode createdAt } }`,
      { status },
    ),
  resend: (id: string) => graphqlCall<{ resendMail: Mail }>(`mutation ConsoleResendMail($id: ID!) { resendMail(id: $id) { ${MAIL_FIELDS} } }`, { id }),
  unblock: (address: string) => graphqlCall<{ unblockMailAddress: boolean }>(`mutation ConsoleUnblock($address: String!) { unblockMailAddress(address: $address) }`, { address }),
};

const TEMPLATE: Record<string, string> = { access_shared: 'Access shared', admin_granted: 'Made administrator', welcome: 'Welcome' };
const STATUS_FILTERS: { id: Status | ''; label: string }[] = [
  { id: '', label: 'All' },
  { id: 'SENT', label: 'Sent' },
  { id: 'PENDING', label: 'Pending' },
  { id: 'UNSENT', label: 'Not sent: no SMTP' },
  { id: 'FAILED', label: 'Failed' },
  { id: 'BLOCKED', label: 'Blocked' },
];

function statusBadge(m: Mail): HTMLElement {
  const kind = m.status === 'SENT' ? 'ok' : m.status === 'PENDING' ? 'warn' : m.status === 'UNSENT' ? 'off' : 'error';
  return badge(m.statusText, kind);
}

export async function renderMail(panel: HTMLElement, ctx: ConsoleContext, r: Route): Promise<void> {
  const outboxEl = h('section', { class: 'card', 'aria-labelledby': 'mail-outbox-title', id: 'mail-outbox' });
  const blockedEl = h('section', { class: 'card', 'aria-labelledby': 'mail-blocked-title', id: 'mail-blocked' });
  replace(panel, outboxEl, blockedEl);
  const wanted = r.params.get('status') ?? '';
  let status: Status | null = STATUS_FILTERS.some((f) => f.id === wanted && f.id !== '') ? (wanted as Status) : null;


  const draw = (mails: Mail[], blocked: Blocked[]) => {
    const filter = h(
      'select',
      {
        id: 'mail-status',
        onchange: (ev: Event) => {
          const v = (ev.currentTarget as HTMLSelectElement).value;
          status = v === '' ? null : (v as Status);
          replaceParams({ status: status });
          void refresh();
        },
      },
      STATUS_FILTERS.map((f) => h('option', { value: f.id, selected: (status ?? '') === f.id }, f.label)),
    );
    const unsent = mails.filter((m) => m.status === 'UNSENT').length;
    replace(
      outboxEl,
      h('h2', { id: 'mail-outbox-title' }, 'Mail outbox'),
      h('p', { class: 'hint' }, 'Invitation and notification mail, newest first: written with the change that causes it and sent by Gatehouse’s delivery worker through SMTP_URL.'),
      unsent > 0
        ? h('p', { class: 'warning', id: 'mail-no-smtp' }, `${unsent} mail${unsent === 1 ? ' was' : 's were'} not sent: no SMTP server is configured (SMTP_URL). Nothing is dropped: once the operator sets it, Resend sends them.`)
        : null,
      h('div', { class: 'field field-inline' }, h('label', { for: 'mail-status' }, 'Show'), filter),
      mails.length === 0
        ? empty(status ? 'No mail with this status.' : 'No mail yet. Gatehouse writes one when an import shares access with a member, or a member is made administrator.')
        : dataTable(
            { id: 'mail-table', class: 'stack' },
            ['To', 'Mail', 'Status', 'Attempts', 'When', ''],
            mails.map((m) =>
              h(
                'tr',
                { 'data-mail': m.id, 'data-status': m.status },
                h('td', { class: 'mono' }, m.to),
                h('td', {}, TEMPLATE[m.template] ?? m.template),
                h('td', {}, statusBadge(m)),
                h('td', {}, `${m.attempts} attempt${m.attempts === 1 ? '' : 's'}`),
                h('td', {}, fmtDate(m.sentAt ?? m.createdAt)),
                h(
                  'td',
                  {},
                  m.status === 'SENT' || m.status === 'PENDING'
                    ? null
                    : rowAction('Resend', 'resend', async () => {
                        await gql.resend(m.id);
                        announce(`Mail to ${m.to} queued again`);
                        await refresh();
                      }),
                ),
              ),
            ),
          ),
    );
    replace(
      blockedEl,
      h('h2', { id: 'mail-blocked-title' }, 'Blocked addresses ', blocked.length > 0 ? badge(String(blocked.length), 'error') : badge('None', 'ok')),
      h('p', { class: 'hint' }, 'An address the mail server refused for good (a hard bounce, e.g. 550 user unknown) gets no more mail until you clear it.'),
      blocked.length === 0
        ? empty('No address is blocked.')
        : dataTable(
            { id: 'mail-blocked-table', class: 'stack' },
            ['Address', 'Why', 'Since', ''],
            blocked.map((b) =>
              h(
                'tr',
                { 'data-address': b.address },
                h('td', { class: 'mono' }, b.address),
                h('td', {}, b.smtpCode !== null ? h('strong', {}, `${b.smtpCode} `) : null, b.reason),
                h('td', {}, fmtDate(b.createdAt)),
                h(
                  'td',
                  {},
                  rowAction('Clear', 'clear', async () => {
                    if (!confirm(`Clear ${b.address}? Mail to it is sent again; resend what was blocked.`)) return;
                    await gql.unblock(b.address);
                    announce(`${b.address} cleared`);
                    await refresh();
                  }),
                ),
              ),
            ),
          ),
    );
  };

  const refresh = async () => {
    const v = await gql.load(status);
    draw(v.mailOutbox, v.blockedMailAddresses);
  };

  replace(outboxEl, loading('Loading the outbox'));
  try {
    await refresh();
  } catch (e) {
    replace(outboxEl, errorBox(e, () => void renderMail(panel, ctx, r)));
  }
}
