// Integration health, the strip at the top of the console: each line green
// (ok), amber (warn), red (error) or grey (off), with what to do about it.
import type { Domain } from '../domain/index.js';
import type { AdminActor } from '../domain/admin/admin.service.js';
import type { SamlService } from '../domain/saml-config/saml.service.js';

export type HealthStatus = 'ok' | 'warn' | 'error' | 'off';

export interface HealthItem {
  readonly key: 'scim' | 'saml_metadata' | 'certificates' | 'sign_in' | 'import';
  readonly title: string;
  readonly status: HealthStatus;
  /** What we see. */
  readonly summary: string;
  /** What to do; null when nothing. */
  readonly action: string | null;
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

export async function consoleHealth(domain: Domain, saml: SamlService, actor: AdminActor, now = new Date()): Promise<HealthItem[]> {
  const [scim, lastRefused, lastProvisioning, lastLoginFailure, lastImport] = await Promise.all([
    domain.organizations.scimStatus(actor),
    domain.audit.list(actor, { provisioning: true, outcome: 'failure', limit: 1 }),
    domain.audit.list(actor, { provisioning: true, limit: 1 }),
    domain.audit.list(actor, { actionPrefix: 'saml.login', outcome: 'failure', limit: 1 }),
    domain.audit.list(actor, { actionPrefix: 'import.run', limit: 1 }),
  ]);
  const items: HealthItem[] = [];

  // SCIM: token used, and no refusal since.
  const refused = lastRefused[0];
  if (!scim.enabled) {
    items.push({ key: 'scim', title: 'SCIM provisioning', status: 'off', summary: 'SCIM is disabled.', action: 'Generate a token in the SCIM panel and paste it with the Tenant URL into Entra.' });
  } else if (!scim.tokenLastUsedAt) {
    items.push({
      key: 'scim',
      title: 'SCIM provisioning',
      status: 'warn',
      summary: `Token ${scim.tokenPrefix}… was never used.`,
      action: 'In Entra, paste the Tenant URL and the token, select Test Connection, then Start provisioning.',
    });
  } else if (refused && refused.at.getTime() > now.getTime() - DAY_MS) {
    // Red while the latest request was refused; amber once later ones went through.
    items.push({
      key: 'scim',
      title: 'SCIM provisioning',
      status: lastProvisioning[0]?.id === refused.id ? 'error' : 'warn',
      summary: `Token last used ${ago(scim.tokenLastUsedAt, now)}; a request was refused ${ago(refused.at, now)}: ${clip(refused.reason ?? refused.action)}.`,
      action: 'Open the provisioning log (failures only) to see what Entra sent and why it was refused.',
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
    });
  } else if (s.lastRefreshError) {
    items.push({
      key: 'saml_metadata',
      title: 'SAML identity provider',
      status: 'error',
      summary: `The last metadata refresh failed: ${clip(s.lastRefreshError)}`,
      action: 'Check the metadata URL in Entra (SAML Signing Certificate) and paste it again.',
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
    });
  }
  const certWarnings = [...s.idpCertificates.map((c) => ({ who: 'Entra', c })), ...s.spCertificates.filter((c) => c.active).map((c) => ({ who: 'Gatehouse', c }))].filter(
    (x) => x.c.warning,
  );
  const expired = certWarnings.some((x) => x.c.daysLeft < 0);
  if (s.spCertificates.length === 0) {
    items.push({ key: 'certificates', title: 'Certificates', status: 'warn', summary: 'No Gatehouse (SP) certificate yet.', action: 'Select Generate Certificate in the SAML panel.' });
  } else if (certWarnings.length > 0) {
    items.push({
      key: 'certificates',
      title: 'Certificates',
      status: expired ? 'error' : 'warn',
      summary: certWarnings.map((x) => `${x.who} certificate ${x.c.warning}`).join('; '),
      action: 'Renew the certificate: for Entra, add a new SAML signing certificate and refresh the metadata; for Gatehouse, Generate Certificate.',
    });
  } else {
    const soonest = [...s.idpCertificates, ...s.spCertificates].map((c) => c.daysLeft).sort((a, b) => a - b)[0];
    items.push({ key: 'certificates', title: 'Certificates', status: 'ok', summary: `All valid; the next expires in ${soonest} days.`, action: null });
  }

  const failure = lastLoginFailure[0];
  if (failure && failure.at.getTime() > now.getTime() - DAY_MS) {
    items.push({
      key: 'sign_in',
      title: 'Sign-in',
      status: 'warn',
      summary: `A sign-in was refused ${ago(failure.at, now)}${failure.resourceLabel ? ` for ${clip(failure.resourceLabel, 60)}` : ''}: ${clip(failure.reason ?? 'no reason')}.`,
      action: 'See the login log in the SAML panel for the reason.',
    });
  } else {
    items.push({ key: 'sign_in', title: 'Sign-in', status: 'ok', summary: 'No refused sign-in in the last 24 hours.', action: null });
  }

  const imp = lastImport[0];
  if (!imp) {
    items.push({ key: 'import', title: 'Group import', status: 'off', summary: 'No Graph import has run.', action: null });
  } else {
    items.push({
      key: 'import',
      title: 'Group import',
      status: imp.outcome === 'failure' ? 'error' : 'ok',
      summary: `Last run ${ago(imp.at, now)}: ${imp.outcome === 'failure' ? clip(imp.reason ?? 'failed') : 'succeeded'}.`,
      action: imp.outcome === 'failure' ? 'Check the import credentials and the group ids configured for it.' : null,
    });
  }
  return items;
}
