// The guided set-up for Microsoft Entra (#setup): numbered steps for SCIM and
// for SAML, each value with its Copy button, the claims and attribute
// mappings Gatehouse reads, and a checklist that ticks itself from what
// Gatehouse has seen (GraphQL setupProgress, read again every 15 s while the
// page is open).
import { api, type SetupProgress } from '../api';
import type { ConsoleContext } from '../context';
import { currentRoute, route } from '../router';
import { copyField, errorBox, fmtDate, h, loading, replace } from '../ui';

/** Entra admin center: Enterprise applications (a stable deep link). */
const ENTRA_ENTERPRISE_APPS = 'https://entra.microsoft.com/#view/Microsoft_AAD_IAM/StartboardApplicationsMenuBlade/~/AppAppsPreview';

const REFRESH_MS = 15_000;

interface Check {
  key: keyof SetupProgress;
  label: string;
  todo: string;
  href: string;
}

const CHECKS: Check[] = [
  { key: 'scimTokenCreatedAt', label: 'SCIM token generated', todo: 'SCIM step 2: generate the token', href: '#scim' },
  { key: 'scimConnectedAt', label: 'Test Connection from Entra', todo: 'SCIM step 4: select Test Connection in Entra', href: '#scim' },
  { key: 'firstProvisionedAt', label: 'First provisioning cycle', todo: 'SCIM step 7: start provisioning in Entra', href: route('logs', { log: 'provisioning' }) },
  { key: 'metadataImportedAt', label: 'Entra metadata imported', todo: 'SAML step 4: paste the App Federation Metadata URL', href: '#saml' },
  { key: 'spCertificateAt', label: 'Gatehouse certificate generated', todo: 'SAML step 5: Generate Certificate', href: '#saml' },
  { key: 'firstSignInAt', label: 'First successful sign-in', todo: 'SAML step 6: sign in from My Apps', href: route('logs', { log: 'sign-in' }) },
];

export async function renderSetup(panel: HTMLElement, _ctx: ConsoleContext): Promise<void> {
  replace(panel, loading('Loading the set-up guide'));
  let scim: { tenantUrl: string };
  let saml: Awaited<ReturnType<typeof api.saml>>;
  try {
    [scim, saml] = await Promise.all([api.scim(), api.saml()]);
  } catch (e) {
    replace(panel, errorBox(e, () => void renderSetup(panel, _ctx)));
    return;
  }
  const checklist = h('div', { id: 'setup-checklist', 'aria-live': 'polite' });
  const drawChecklist = async (): Promise<void> => {
    try {
      const p = await api.setupProgress();
      const done = CHECKS.filter((c) => p[c.key]).length;
      replace(
        checklist,
        h('p', { class: 'count', id: 'setup-count' }, `${done} of ${CHECKS.length} done`),
        h(
          'ul',
          { class: 'checklist' },
          CHECKS.map((c) => {
            const at = p[c.key];
            return h(
              'li',
              { 'data-check': c.key, 'data-done': String(Boolean(at)) },
              h('span', { class: 'tick', 'aria-hidden': 'true' }, at ? '✓' : '○'),
              h(
                'span',
                {},
                h('strong', {}, c.label),
                h('span', { class: 'visually-hidden' }, at ? ': done' : ': not yet'),
                ' ',
                at ? h('span', { class: 'sub' }, `seen ${fmtDate(at)}`) : h('a', { href: c.href }, c.todo),
              ),
            );
          }),
        ),
      );
    } catch (e) {
      replace(checklist, errorBox(e, () => void drawChecklist()));
    }
  };

  const u = saml.urls;
  replace(
    panel,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'setup-title' },
      h('h2', { id: 'setup-title' }, 'Set up Microsoft Entra'),
      h(
        'p',
        { class: 'hint' },
        'One Entra enterprise application does both: SCIM provisioning brings people and groups to Gatehouse, SAML signs them in. The checklist ticks itself as Gatehouse sees each step.',
      ),
      checklist,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'setup-scim' },
      h('h2', { id: 'setup-scim', tabindex: '-1' }, 'SCIM provisioning'),
      h(
        'ol',
        { class: 'steps' },
        h(
          'li',
          {},
          'In the Microsoft Entra admin center, open ',
          h('a', { href: ENTRA_ENTERPRISE_APPS, target: '_blank', rel: 'noopener' }, 'Enterprise applications'),
          ' → ',
          h('strong', {}, 'New application'),
          ' → ',
          h('strong', {}, 'Create your own application'),
          '. Name it “Gatehouse”, choose “Integrate any other application you don’t find in the gallery (Non-gallery)”, and select Create.',
        ),
        h('li', {}, 'In Gatehouse, ', h('a', { href: '#scim' }, 'generate the SCIM token'), ' (SCIM provisioning page). It is shown once: keep the page open for step 3.'),
        h(
          'li',
          {},
          'In the application: ',
          h('strong', {}, 'Provisioning'),
          ' → Get started (or New configuration). Provisioning Mode: ',
          h('strong', {}, 'Automatic'),
          '. Under Admin Credentials paste:',
          copyField('Tenant URL', scim.tenantUrl, 'setup-tenant-url'),
          h('p', { class: 'hint' }, 'Secret Token: the token from step 2.'),
        ),
        h('li', {}, 'Select ', h('strong', {}, 'Test Connection'), '. Entra asks Gatehouse for a user that does not exist; the checklist ticks when Gatehouse sees it.'),
        h(
          'li',
          {},
          h('strong', {}, 'Mappings'),
          ': keep Entra’s defaults. Gatehouse reads these user attributes (the matching attribute is userName):',
          mappings(),
          h('p', { class: 'hint' }, 'Any other attribute named metadata.<name> in Entra (for example metadata.city) is kept as custom metadata. Groups: displayName (matching), externalId and members.'),
        ),
        h('li', {}, h('strong', {}, 'Users and groups'), ' → Add user/group: assign the people and groups who should reach Gatehouse.'),
        h('li', {}, 'Back in Provisioning, set Provisioning Status to ', h('strong', {}, 'On'), ' and Save (Start provisioning). The first cycle runs within minutes; its entries appear in ', h('a', { href: route('logs', { log: 'provisioning' }) }, 'Logs'), '.'),
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'setup-saml' },
      h('h2', { id: 'setup-saml' }, 'SAML single sign-on'),
      h(
        'ol',
        { class: 'steps' },
        h('li', {}, 'In the same application: ', h('strong', {}, 'Single sign-on'), ' → ', h('strong', {}, 'SAML'), '.'),
        h(
          'li',
          {},
          h('strong', {}, 'Basic SAML Configuration'),
          ' → Edit, and paste (the Sign-on URL is under “Set additional URLs”):',
          copyField('Identifier (Entity ID)', u.identifier, 'setup-identifier'),
          copyField('Reply URL (Assertion Consumer Service URL)', u.replyUrl, 'setup-reply-url'),
          copyField('Sign-on URL', u.signOnUrl, 'setup-sign-on-url'),
        ),
        h(
          'li',
          {},
          h('strong', {}, 'Attributes & Claims'),
          ' → Edit → Unique User Identifier (Name ID): set the source attribute to',
          copyField('Unique User Identifier', 'user.userprincipalname', 'setup-nameid'),
          h('p', { class: 'hint' }, 'Gatehouse matches the Name ID with the member’s userName (the UPN, as SCIM provisions it). Other claims are ignored: the profile comes from provisioning.'),
        ),
        h(
          'li',
          {},
          h('strong', {}, 'SAML Certificates'),
          ' → copy the ',
          h('strong', {}, 'App Federation Metadata Url'),
          ' and paste it in Gatehouse’s ',
          h('a', { href: '#saml' }, 'SAML page'),
          ' (or upload the Federation Metadata XML).',
        ),
        h('li', {}, 'In Gatehouse’s ', h('a', { href: '#saml' }, 'SAML page'), ', select ', h('strong', {}, 'Generate Certificate'), '.'),
        h(
          'li',
          {},
          'Try it: ',
          h('strong', {}, 'Test sign-in'),
          ' in the SAML page shows what Entra sends without signing anyone in. Then sign in from My Apps (or the Sign-on URL) as an assigned user: the checklist ticks.',
        ),
      ),
    ),
  );
  await drawChecklist();
  const timer = window.setInterval(() => {
    if (currentRoute().page !== 'setup' || !document.body.contains(checklist)) {
      window.clearInterval(timer);
      return;
    }
    void drawChecklist();
  }, REFRESH_MS);
}

function mappings(): HTMLElement {
  const rows: [string, string][] = [
    ['userName (matching)', 'userPrincipalName'],
    ['active', 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'],
    ['displayName', 'displayName'],
    ['name.givenName / name.familyName', 'givenName / surname'],
    ['emails[type eq "work"].value', 'mail'],
    ['phoneNumbers[type eq "work"].value', 'telephoneNumber'],
    ['title', 'jobTitle'],
    ['externalId', 'mailNickname (or objectId)'],
    ['enterprise department, employeeNumber, manager', 'department, employeeId, manager'],
  ];
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'claims stack-sm', id: 'setup-mappings' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Gatehouse (SCIM) attribute'), h('th', { scope: 'col' }, 'Entra source attribute'))),
      h(
        'tbody',
        {},
        rows.map(([g, e]) => h('tr', {}, h('td', { class: 'mono', 'data-label': 'Gatehouse' }, g), h('td', { class: 'mono', 'data-label': 'Entra' }, e))),
      ),
    ),
  );
}
