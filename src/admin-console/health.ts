// Integration health, the strip at the top of the console: each line green
// (ok), amber (warn), red (error) or grey (off), with what to do about it. The
// rules (what state each integration is in, how serious) are the domain's
// (src/domain/health/integration-health.ts); this file holds their words.
import type { Domain } from '../domain/index.js';
import type { AdminActor } from '../domain/admin/admin.service.js';
import { assertUnreachable } from '../domain/errors.js';
import { integrationHealth, type HealthFinding, type HealthKey, type HealthStatus } from '../domain/health/integration-health.js';

export type { HealthStatus } from '../domain/health/integration-health.js';

export interface HealthItem {
  readonly key: HealthKey;
  readonly title: string;
  readonly status: HealthStatus;
  /** What we see. */
  readonly summary: string;
  /** What to do; null when nothing. */
  readonly action: string | null;
  /** Where in the console to do it (a `#page?filter` route), with the filter applied; null when nothing. */
  readonly href: string | null;
}

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

const TITLES: Record<HealthKey, string> = {
  scim: 'SCIM provisioning',
  saml_metadata: 'SAML identity provider',
  certificates: 'Certificates',
  sign_in: 'Sign-in',
  import: 'Group import',
  guard: 'Mass-deprovision guard',
};

type Words = Pick<HealthItem, 'summary' | 'action'> & { href?: string | null };

/** What the console says about one finding. */
function words(f: HealthFinding, now: Date): Words {
  switch (f.state) {
    case 'disabled':
      return { summary: 'SCIM is disabled.', action: 'Generate a token in the SCIM panel and paste it with the Tenant URL into Entra.' };
    case 'token_never_used':
      return {
        summary: `Token ${f.tokenPrefix}… was never used.`,
        action: 'In Entra, paste the Tenant URL and the token, select Test Connection, then Start provisioning.',
        href: '#scim',
      };
    case 'previous_token_in_use':
      return {
        summary: `Entra still uses the previous token ${f.previousTokenPrefix}… (${f.previousLastUsedAt ? `last used ${ago(f.previousLastUsedAt, now)}` : 'not used yet'}); it stops working ${f.previousExpiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC. The new token ${f.tokenPrefix}… was never used.`,
        action: 'In Entra, paste the new token (Provisioning › Admin Credentials) and select Test Connection.',
        href: '#scim',
      };
    case 'refused':
      if (f.key === 'scim') {
        return {
          summary: `Token last used ${ago(f.lastUsedAt, now)}; a request was refused ${ago(f.refusedAt, now)}: ${clip(f.reason)}.`,
          action: 'Open the provisioning log (failures only) to see what Entra sent and why it was refused.',
          href: '#scim?failures=1',
        };
      }
      return {
        summary: `A sign-in was refused ${ago(f.refusedAt, now)}${f.who ? ` for ${clip(f.who, 60)}` : ''}: ${clip(f.reason ?? 'no reason')}.`,
        action: 'See the login log (failures only) for the reason and what to change in Entra.',
        href: '#saml?failures=1',
      };
    case 'used':
      return { summary: `Token ${f.tokenPrefix}… last used ${ago(f.lastUsedAt, now)}.`, action: null };
    case 'not_imported':
      return { summary: 'No identity provider metadata imported.', action: "Paste Entra's App Federation Metadata URL in the SAML panel.", href: '#saml' };
    case 'refresh_failed':
      return {
        summary: `The last metadata refresh failed: ${clip(f.error)}`,
        action: 'Check the metadata URL in Entra (SAML Signing Certificate) and paste it again.',
        href: '#saml',
      };
    case 'imported':
      return {
        summary: `${f.idpEntityId}; metadata ${f.fetchedAt ? `fetched ${ago(f.fetchedAt, now)}` : 'imported'}${f.fromUrl ? '' : ' from XML (no automatic refresh)'}.`,
        action: f.stale ? 'The daily refresh has not run for two days: select Refresh now in the SAML panel.' : null,
        href: f.stale ? '#saml' : null,
      };
    case 'no_sp_certificate':
      return { summary: 'No Gatehouse (SP) certificate yet.', action: 'Select Generate Certificate in the SAML panel.', href: '#saml' };
    case 'expiring':
      return {
        summary: f.certificates.map((c) => `${c.who === 'idp' ? 'Entra' : 'Gatehouse'} certificate ${c.warning}`).join('; '),
        action: 'Renew the certificate: for Entra, add a new SAML signing certificate and refresh the metadata; for Gatehouse, Generate Certificate.',
        href: '#saml',
      };
    case 'valid':
      return { summary: `All valid; the next expires in ${f.soonestDaysLeft} days.`, action: null };
    case 'not_set_up':
      return { summary: 'Not set up yet: single sign-on needs the identity provider metadata first.', action: null, href: '#saml' };
    case 'never_signed_in':
      return { summary: 'Nobody has signed in yet.', action: 'Select Test sign-in to try it without leaving the console.', href: '#saml' };
    case 'signing_in':
      return { summary: `Last sign-in ${ago(f.lastAt, now)}; none refused in the last 24 hours.`, action: null };
    case 'none':
      return { summary: 'No Entra group import set up.', action: null, href: null };
    case 'failing':
      return {
        summary: `${f.failing.length} of ${f.total} failing: ${f.failing.map((i) => `${i.name} (${clip(i.lastRun.error ?? i.lastRun.errorCode ?? 'failed', 60)})`).join('; ')}.`,
        action: 'Open the group imports to see each run and what to change.',
        href: '#import',
      };
    case 'not_run':
      return { summary: `${f.notRun.map((i) => i.name).join(', ')}: not run yet.`, action: 'Select Run now.', href: '#import' };
    case 'succeeded':
      return { summary: `${f.total === 1 ? 'The import' : `All ${f.total} imports`} succeeded; last run ${ago(f.lastRunAt, now)}.`, action: null };
    case 'holding': {
      const g = f.settings;
      return {
        summary: `${f.held} change${f.held === 1 ? '' : 's'} held: more members would lose access than the guard allows (${g.thresholdPercent} %, at least ${g.minCount}, per ${g.windowMinutes} min). They still have access.`,
        action: 'Review the held changes, then approve them (they apply at once) or discard them.',
        href: '#guard',
      };
    }
    case 'idle': {
      const g = f.settings;
      return {
        summary: g.enabled ? `On: holds more than ${g.thresholdPercent} % (at least ${g.minCount}) of members losing access within ${g.windowMinutes} min.` : 'Off: any number of deactivations apply at once.',
        action: null,
        href: '#guard',
      };
    }
    default:
      return assertUnreachable(f);
  }
}

export async function consoleHealth(domain: Domain, actor: AdminActor, now = new Date()): Promise<HealthItem[]> {
  return (await integrationHealth(domain, actor, now)).map((f) => {
    const w = words(f, now);
    return { key: f.key, title: TITLES[f.key], status: f.status, summary: w.summary, action: w.action, href: w.href ?? null };
  });
}
