// The integration health rules: for each integration (SCIM, the IdP metadata,
// certificates, sign-in, the group import, the mass-deprovision guard) what
// state it is in and how serious that is, with the facts behind it. The words
// (title, summary, what to do, where) are the console's
// (src/admin-console/health.ts).
import { requireAdmin, type Actor } from '../actor.js';
import type { Domain } from '../index.js';
import type { CertificateView } from '../saml-config/saml.service.js';
import type { ImportIntegration } from '../import/import.model.js';
import type { GuardSettings } from '../guard/guard.model.js';

export type HealthStatus = 'ok' | 'warn' | 'error' | 'off';

export type HealthFinding =
  | { readonly key: 'scim'; readonly status: 'off'; readonly state: 'disabled' }
  | { readonly key: 'scim'; readonly status: 'warn'; readonly state: 'token_never_used'; readonly tokenPrefix: string | null }
  /** A rotation's overlap: Entra still has only the previous token, which ends at previousExpiresAt. */
  | {
      readonly key: 'scim';
      readonly status: 'warn';
      readonly state: 'previous_token_in_use';
      readonly tokenPrefix: string | null;
      readonly previousTokenPrefix: string;
      readonly previousLastUsedAt: Date | null;
      readonly previousExpiresAt: Date;
    }
  /** A request was refused in the last day: error while it is the latest, warn once later ones went through. */
  | { readonly key: 'scim'; readonly status: 'error' | 'warn'; readonly state: 'refused'; readonly lastUsedAt: Date; readonly refusedAt: Date; readonly reason: string }
  | { readonly key: 'scim'; readonly status: 'ok'; readonly state: 'used'; readonly tokenPrefix: string | null; readonly lastUsedAt: Date }
  | { readonly key: 'saml_metadata'; readonly status: 'warn'; readonly state: 'not_imported' }
  | { readonly key: 'saml_metadata'; readonly status: 'error'; readonly state: 'refresh_failed'; readonly error: string }
  /** `stale`: a metadata URL whose daily refresh has not run for two days. */
  | {
      readonly key: 'saml_metadata';
      readonly status: 'ok' | 'warn';
      readonly state: 'imported';
      readonly idpEntityId: string | null;
      readonly fetchedAt: Date | null;
      readonly fromUrl: boolean;
      readonly stale: boolean;
    }
  | { readonly key: 'certificates'; readonly status: 'warn'; readonly state: 'no_sp_certificate' }
  /** Certificates with a warning (error once one has expired). */
  | { readonly key: 'certificates'; readonly status: 'error' | 'warn'; readonly state: 'expiring'; readonly certificates: readonly { readonly who: 'idp' | 'sp'; readonly warning: string }[] }
  | { readonly key: 'certificates'; readonly status: 'ok'; readonly state: 'valid'; readonly soonestDaysLeft: number | undefined }
  | { readonly key: 'sign_in'; readonly status: 'off'; readonly state: 'not_set_up' }
  | { readonly key: 'sign_in'; readonly status: 'warn'; readonly state: 'refused'; readonly refusedAt: Date; readonly who: string | null; readonly reason: string | null }
  | { readonly key: 'sign_in'; readonly status: 'warn'; readonly state: 'never_signed_in' }
  | { readonly key: 'sign_in'; readonly status: 'ok'; readonly state: 'signing_in'; readonly lastAt: Date }
  | { readonly key: 'import'; readonly status: 'off'; readonly state: 'none' }
  | { readonly key: 'import'; readonly status: 'error'; readonly state: 'failing'; readonly failing: readonly ImportIntegration[]; readonly total: number }
  | { readonly key: 'import'; readonly status: 'warn'; readonly state: 'not_run'; readonly notRun: readonly ImportIntegration[] }
  | { readonly key: 'import'; readonly status: 'ok'; readonly state: 'succeeded'; readonly total: number; readonly lastRunAt: Date }
  | { readonly key: 'guard'; readonly status: 'error'; readonly state: 'holding'; readonly held: number; readonly settings: GuardSettings }
  | { readonly key: 'guard'; readonly status: 'ok' | 'off'; readonly state: 'idle'; readonly settings: GuardSettings };

export type HealthKey = HealthFinding['key'];

const DAY_MS = 86_400_000;

/** Judges every integration of the actor's organisation, in the strip's order (admins: console and admin keys). */
export async function integrationHealth(domain: Domain, actor: Actor, now = new Date()): Promise<HealthFinding[]> {
  requireAdmin(actor);
  const [scim, lastRefused, lastProvisioning, lastLoginFailure, lastLoginSuccess, integrations, s, held, guard] = await Promise.all([
    domain.organizations.scimStatus(actor),
    domain.audit.list(actor, { provisioning: true, outcome: 'failure', limit: 1 }),
    domain.audit.list(actor, { provisioning: true, limit: 1 }),
    domain.audit.list(actor, { actionPrefix: 'saml.login', outcome: 'failure', limit: 1 }),
    domain.audit.list(actor, { actionPrefix: 'saml.login', outcome: 'success', limit: 1 }),
    domain.imports.list(actor),
    domain.saml.settings(actor),
    domain.guard.heldCount(actor),
    domain.guard.settings(actor),
  ]);
  const findings: HealthFinding[] = [];
  const withinDay = (d: Date) => d.getTime() > now.getTime() - DAY_MS;

  // SCIM: token used, and no refusal since.
  const refused = lastRefused[0];
  if (!scim.enabled) findings.push({ key: 'scim', status: 'off', state: 'disabled' });
  else if (!scim.tokenLastUsedAt && scim.previousTokenPrefix !== null && scim.previousTokenExpiresAt !== null) {
    findings.push({
      key: 'scim',
      status: 'warn',
      state: 'previous_token_in_use',
      tokenPrefix: scim.tokenPrefix,
      previousTokenPrefix: scim.previousTokenPrefix,
      previousLastUsedAt: scim.previousTokenLastUsedAt,
      previousExpiresAt: scim.previousTokenExpiresAt,
    });
  } else if (!scim.tokenLastUsedAt) findings.push({ key: 'scim', status: 'warn', state: 'token_never_used', tokenPrefix: scim.tokenPrefix });
  else if (refused && withinDay(refused.at)) {
    findings.push({
      key: 'scim',
      status: lastProvisioning[0]?.id === refused.id ? 'error' : 'warn',
      state: 'refused',
      lastUsedAt: scim.tokenLastUsedAt,
      refusedAt: refused.at,
      reason: refused.reason ?? refused.action,
    });
  } else findings.push({ key: 'scim', status: 'ok', state: 'used', tokenPrefix: scim.tokenPrefix, lastUsedAt: scim.tokenLastUsedAt });

  if (!s.configured) findings.push({ key: 'saml_metadata', status: 'warn', state: 'not_imported' });
  else if (s.lastRefreshError) findings.push({ key: 'saml_metadata', status: 'error', state: 'refresh_failed', error: s.lastRefreshError });
  else {
    const fetched = s.metadataFetchedAt;
    const stale = fetched !== null && s.metadataUrl !== null && now.getTime() - fetched.getTime() > 2 * DAY_MS;
    findings.push({ key: 'saml_metadata', status: stale ? 'warn' : 'ok', state: 'imported', idpEntityId: s.idpEntityId, fetchedAt: fetched, fromUrl: s.metadataUrl !== null, stale });
  }

  const warned = (who: 'idp' | 'sp', cs: readonly CertificateView[]) => cs.filter((c) => c.warning).map((c) => ({ who, warning: c.warning!, daysLeft: c.daysLeft }));
  const certWarnings = [...warned('idp', s.idpCertificates), ...warned('sp', s.spCertificates.filter((c) => c.active))];
  if (s.spCertificates.length === 0) findings.push({ key: 'certificates', status: 'warn', state: 'no_sp_certificate' });
  else if (certWarnings.length > 0) {
    findings.push({
      key: 'certificates',
      status: certWarnings.some((x) => x.daysLeft < 0) ? 'error' : 'warn',
      state: 'expiring',
      certificates: certWarnings.map(({ who, warning }) => ({ who, warning })),
    });
  } else {
    const soonest = [...s.idpCertificates, ...s.spCertificates].map((c) => c.daysLeft).sort((a, b) => a - b)[0];
    findings.push({ key: 'certificates', status: 'ok', state: 'valid', soonestDaysLeft: soonest });
  }

  // Nothing to judge before the identity provider is known: never "OK" here.
  const failure = lastLoginFailure[0];
  if (!s.configured) findings.push({ key: 'sign_in', status: 'off', state: 'not_set_up' });
  else if (failure && withinDay(failure.at)) findings.push({ key: 'sign_in', status: 'warn', state: 'refused', refusedAt: failure.at, who: failure.resourceLabel, reason: failure.reason });
  else if (!lastLoginSuccess[0]) findings.push({ key: 'sign_in', status: 'warn', state: 'never_signed_in' });
  else findings.push({ key: 'sign_in', status: 'ok', state: 'signing_in', lastAt: lastLoginSuccess[0].at });

  // Each integration judged on its own last run: a deleted one no longer counts, a healthy one hides no other's failure.
  const failing = integrations.filter((i) => i.lastRun.status === 'failed');
  const notRun = integrations.filter((i) => i.lastRun.status === null);
  if (integrations.length === 0) findings.push({ key: 'import', status: 'off', state: 'none' });
  else if (failing.length > 0) findings.push({ key: 'import', status: 'error', state: 'failing', failing, total: integrations.length });
  else if (notRun.length > 0) findings.push({ key: 'import', status: 'warn', state: 'not_run', notRun });
  else {
    const latest = integrations.map((i) => i.lastRun.finishedAt?.getTime() ?? 0).sort((a, b) => b - a)[0] ?? 0;
    findings.push({ key: 'import', status: 'ok', state: 'succeeded', total: integrations.length, lastRunAt: new Date(latest) });
  }

  // The mass-deprovision guard: red while it holds anything.
  if (held > 0) findings.push({ key: 'guard', status: 'error', state: 'holding', held, settings: guard });
  else findings.push({ key: 'guard', status: guard.enabled ? 'ok' : 'off', state: 'idle', settings: guard });
  return findings;
}
