// Integration health, the strip at the top of the console: each line green
// (ok), amber (warn), red (error) or grey (off), with what to do about it.
import type { Domain } from '../domain/index.js';
import type { AdminActor } from '../domain/admin/admin.service.js';
import type { SamlService } from '../domain/saml-config/saml.service.js';

export type HealthStatus = 'ok' | 'warn' | 'error' | 'off';

export interface HealthItem {
  readonly key: 'scim' | 'saml_metadata' | 'certificates' | 'sign_in' | 'import' | 'guard';
  readonly title: string;
  readonly status: HealthStatus;
  /** What we see. */
  readonly summary: string;
  /** What to do; null when nothing. */
  readonly action: string | null;
  /** Where in the console to do it (a `#page?filter` route), with the filter applied; null when nothing. */
  readonly href: string | null;
}

const DAY_MS = 86_400_000;

/** The strip stays a summary: the log has the whole reason. */
function clip(s: string, max = 90): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function ago(d: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - d.getTime()) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

type Draft = Omit<HealthItem, 'href'> & { href?: string | null };

export async function consoleHealth(domain: Domain, saml: SamlService, actor: AdminActor, now = new Date()): Promise<HealthItem[]> {
  const [scim, lastRefused, lastProvisioning, lastLoginFailure, lastLoginSuccess, integrations] = await Promise.all([
    domain.organizations.scimStatus(actor),
    domain.audit.list(actor, { provisioning: true, outcome: 'failure', limit: 1 }),
    domain.audit.list(actor, { provisioning: true, limit: 1 }),
    domain.audit.list(actor, { actionPrefix: 'saml.login', outcome: 'failure', limit: 1 }),
    domain.audit.list(actor, { actionPrefix: 'saml.login', outcome: 'success', limit: 1 }),
    domain.imports.list(actor),
  ]);
  const drafts: Draft[] = [];
  const items = { push: (d: Draft) => drafts.push(d) };

  // SCIM: token used, and no refusal since.
  const refused = lastRefused[0];
  if (!scim.enabled) {
    items.push({ key: 'scim', title: 'SCIM provisioning', status: 'off', summary: 'SCIM is disabled.', action: 'Generate a token in the SCIM panel and paste it with the Tenant URL into Entra.' });
  } else if (!scim.tokenLastUsedAt && scim.previousTokenPrefix && scim.previousTokenExpiresAt) {
    // A rotation's overlap: provisioning goes on with the previous token, which ends soon.
    items.push({
      key: 'scim',
      title: 'SCIM provisioning',
      status: 'warn',
      summary: `Entra still uses the previous token ${scim.previousTokenPrefix}… (${scim.previousTokenLastUsedAt ? `last used ${ago(scim.previousTokenLastUsedAt, now)}` : 'not used yet'}); it stops working ${scim.previousTokenExpiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC. The new token ${scim.tokenPrefix}… was never used.`,
      action: 'In Entra, paste the new token (Provisioning › Admin Credentials) and select Test Connection.',
      href: '#scim',
    });
  } else if (!scim.tokenLastUsedAt) {
    items.push({
      key: 'scim',
      title: 'SCIM provisioning',
      status: 'warn',
      summary: `Token ${scim.tokenPrefix}… was never used.`,
      action: 'In Entra, paste the Tenant URL and the token, select Test Connection, then Start provisioning.',
      href: '#scim',
    });
  } else if (refused && refused.at.getTime() > now.getTime() - DAY_MS) {
    // Red while the latest request was refused; amber once later ones went through.
    items.push({
      key: 'scim',
      title: 'SCIM provisioning',
      status: lastProvisioning[0]?.id === refused.id ? 'error' : 'warn',
      summary: `Token last used ${ago(scim.tokenLastUsedAt, now)}; a request was refused ${ago(refused.at, now)}: ${clip(refused.reason ?? refused.action)}.`,
      action: 'Open the provisioning log (failures only) to see what Entra sent and why it was refused.',
      href: '#scim?failures=1',
    });
  } else {
    items.push({ key: 'scim', title: 'SCIM provisioning', status: 'ok', summary: `Token ${scim.tokenPrefix}… last used ${ago(scim.tokenLastUsedAt, now)}.`, action: null });
  }

  const s = await saml.settings(actor);
  if (!s.configured) {
    items.push({
      key: 'saml_metadata',
      title: 'SAML identity provider',
      status: 'warn',
      summary: 'No identity provider metadata imported.',
      action: "Paste Entra's App Federation Metadata URL in the SAML panel.",
      href: '#saml',
    });
  } else if (s.lastRefreshError) {
    items.push({
      key: 'saml_metadata',
      title: 'SAML identity provider',
      status: 'error',
      summary: `The last metadata refresh failed: ${clip(s.lastRefreshError)}`,
      action: 'Check the metadata URL in Entra (SAML Signing Certificate) and paste it again.',
      href: '#saml',
    });
  } else {
    const fetched = s.metadataFetchedAt;
    const stale = fetched !== null && s.metadataUrl !== null && now.getTime() - fetched.getTime() > 2 * DAY_MS;
    items.push({
      key: 'saml_metadata',
      title: 'SAML identity provider',
      status: stale ? 'warn' : 'ok',
      summary: `${s.idpEntityId}; metadata ${fetched ? `fetched ${ago(fetched, now)}` : 'imported'}${s.metadataUrl ? '' : ' from XML (no automatic refresh)'}.`,
      action: stale ? 'The daily refresh has not run for two days: select Refresh now in the SAML panel.' : null,
      href: stale ? '#saml' : null,
    });
  }
  const certWarnings = [...s.idpCertificates.map((c) => ({ who: 'Entra', c })), ...s.spCertificates.filter((c) => c.active).map((c) => ({ who: 'Gatehouse', c }))].filter(
    (x) => x.c.warning,
  );
  const expired = certWarnings.some((x) => x.c.daysLeft < 0);
  if (s.spCertificates.length === 0) {
    items.push({ key: 'certificates', title: 'Certificates', status: 'warn', summary: 'No Gatehouse (SP) certificate yet.', action: 'Select Generate Certificate in the SAML panel.', href: '#saml' });
  } else if (certWarnings.length > 0) {
    items.push({
      key: 'certificates',
      title: 'Certificates',
      status: expired ? 'error' : 'warn',
      summary: certWarnings.map((x) => `${x.who} certificate ${x.c.warning}`).join('; '),
      action: 'Renew the certificate: for Entra, add a new SAML signing certificate and refresh the metadata; for Gatehouse, Generate Certificate.',
      href: '#saml',
    });
  } else {
    const soonest = [...s.idpCertificates, ...s.spCertificates].map((c) => c.daysLeft).sort((a, b) => a - b)[0];
    items.push({ key: 'certificates', title: 'Certificates', status: 'ok', summary: `All valid; the next expires in ${soonest} days.`, action: null });
  }

  const failure = lastLoginFailure[0];
  if (!s.configured) {
    // Nothing to judge before the identity provider is known: never "OK" here.
    items.push({ key: 'sign_in', title: 'Sign-in', status: 'off', summary: 'Not set up yet: single sign-on needs the identity provider metadata first.', action: null, href: '#saml' });
  } else if (failure && failure.at.getTime() > now.getTime() - DAY_MS) {
    items.push({
      key: 'sign_in',
      title: 'Sign-in',
      status: 'warn',
      summary: `A sign-in was refused ${ago(failure.at, now)}${failure.resourceLabel ? ` for ${clip(failure.resourceLabel, 60)}` : ''}: ${clip(failure.reason ?? 'no reason')}.`,
      action: 'See the login log (failures only) for the reason and what to change in Entra.',
      href: '#saml?failures=1',
    });
  } else if (!lastLoginSuccess[0]) {
    items.push({ key: 'sign_in', title: 'Sign-in', status: 'warn', summary: 'Nobody has signed in yet.', action: 'Select Test sign-in to try it without leaving the console.', href: '#saml' });
  } else {
    items.push({ key: 'sign_in', title: 'Sign-in', status: 'ok', summary: `Last sign-in ${ago(lastLoginSuccess[0].at, now)}; none refused in the last 24 hours.`, action: null });
  }

  // Each integration judged on its own last run: a deleted one no longer counts, a healthy one hides no other's failure.
  const failing = integrations.filter((i) => i.lastRun.status === 'failed');
  const neverRan = integrations.filter((i) => i.lastRun.status === null);
  if (integrations.length === 0) {
    items.push({ key: 'import', title: 'Group import', status: 'off', summary: 'No Entra group import set up.', action: null, href: null });
  } else if (failing.length > 0) {
    items.push({
      key: 'import',
      title: 'Group import',
      status: 'error',
      summary: `${failing.length} of ${integrations.length} failing: ${failing.map((i) => `${i.name} (${clip(i.lastRun.error ?? i.lastRun.errorCode ?? 'failed', 60)})`).join('; ')}.`,
      action: 'Open the group imports to see each run and what to change.',
      href: null,
    });
  } else if (neverRan.length > 0) {
    items.push({ key: 'import', title: 'Group import', status: 'warn', summary: `${neverRan.map((i) => i.name).join(', ')}: not run yet.`, action: 'Select Run now.', href: null });
  } else {
    const latest = integrations.map((i) => i.lastRun.finishedAt?.getTime() ?? 0).sort((a, b) => b - a)[0] ?? 0;
    items.push({
      key: 'import',
      title: 'Group import',
      status: 'ok',
      summary: `${integrations.length === 1 ? 'The import' : `All ${integrations.length} imports`} succeeded; last run ${ago(new Date(latest), now)}.`,
      action: null,
    });
  }
  // The mass-deprovision guard: red while it holds anything, with the count.
  const held = await domain.guard.heldCount(actor);
  const guard = await domain.guard.settings(actor);
  if (held > 0) {
    items.push({
      key: 'guard',
      title: 'Mass-deprovision guard',
      status: 'error',
      summary: `${held} change${held === 1 ? '' : 's'} held: more members would lose access than the guard allows (${guard.thresholdPercent} %, at least ${guard.minCount}, per ${guard.windowMinutes} min). They still have access.`,
      action: 'Review the held changes, then approve them (they apply at once) or discard them.',
      href: '#guard',
    });
  } else {
    items.push({
      key: 'guard',
      title: 'Mass-deprovision guard',
      status: guard.enabled ? 'ok' : 'off',
      summary: guard.enabled ? `On: holds more than ${guard.thresholdPercent} % (at least ${guard.minCount}) of members losing access within ${guard.windowMinutes} min.` : 'Off: any number of deactivations apply at once.',
      action: null,
      href: '#guard',
    });
  }
  return drafts.map((d) => ({ ...d, href: d.href ?? null }));
}
