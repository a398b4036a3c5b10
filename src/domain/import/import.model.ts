// The Entra group import: an organisation connects an Entra
// tenant, picks one Entra group per integration, and Gatehouse pulls that
// group's members from Microsoft Graph on a schedule. This file holds the
// shapes, the port to Microsoft Graph and the row mapping.
import { toDate } from '../rows.js';
import type { ShareRole } from '../share/share.model.js';

/** Which Entra attribute holds the user's email address and becomes the userName (default UPN). */
export type ImportIdentifier = 'upn' | 'mail';
export const IMPORT_IDENTIFIERS: readonly ImportIdentifier[] = ['upn', 'mail'];

/**
 * How an integration gets its Graph tokens: its organisation's own app
 * registration (client id and secret), or Gatehouse's own multi-tenant
 * application after an Entra admin's consent ("Authorize with Microsoft").
 */
export type ImportCredentials = 'client_secret' | 'gatehouse_app';
export const IMPORT_CREDENTIALS: readonly ImportCredentials[] = ['client_secret', 'gatehouse_app'];

/** "Import as users only", or also share access through the integration's group. */
export type ImportMode = 'users_only' | 'grant_shares';

export type ImportRunStatus = 'running' | 'success' | 'failed';

/** The import's product rule (README, Entra group import): "Each integration supports up to 5k users." */
export const MAX_USERS_PER_INTEGRATION = 5000;

/** A place or lock the integration's group is shared with (mode grant_shares). */
export interface ImportTarget {
  readonly placeId: string | null;
  readonly lockId: string | null;
  readonly role: ShareRole;
}

/** What a finished run tells: its failure, or the users it found and what it changed. */
export interface ImportRunOutcome {
  /** Stable code of the failure (e.g. `entra_secret_invalid`), null on success. */
  readonly errorCode: string | null;
  readonly error: string | null;
  /** Users in the Entra group at the run. */
  readonly total: number | null;
  readonly added: number | null;
  readonly updated: number | null;
  readonly removed: number | null;
  readonly durationMs: number | null;
}

export interface ImportRunSummary extends ImportRunOutcome {
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  readonly status: ImportRunStatus | null;
}

export interface ImportIntegration {
  readonly id: string;
  readonly organizationId: string;
  readonly name: string;
  readonly tenantId: string;
  /** The own registration's client id, or Gatehouse's application's (credentials gatehouse_app). */
  readonly clientId: string;
  readonly credentials: ImportCredentials;
  /** Never the secret: it is stored encrypted and only used to get a token (client_secret only). */
  readonly clientSecretSet: boolean;
  readonly entraGroupId: string;
  /** The Entra group's display name when it was picked (null when only its id was given). */
  readonly entraGroupName: string | null;
  readonly identifier: ImportIdentifier;
  readonly mode: ImportMode;
  /** The Gatehouse group (source `import`) that holds the imported members. */
  readonly groupId: string;
  readonly paused: boolean;
  readonly targets: readonly ImportTarget[];
  readonly lastRun: ImportRunSummary;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface ImportIntegrationInput {
  readonly name: string;
  /** Entra tenant (directory) id or a verified domain. */
  readonly tenantId: string;
  /** Default `client_secret`; `gatehouse_app` needs an admin consent of the tenant (consentedTenants). */
  readonly credentials?: ImportCredentials;
  /** Application (client) id of the app registration (client_secret only). */
  readonly clientId?: string | null;
  readonly clientSecret?: string | null;
  /** Object id of the Entra group to import. */
  readonly entraGroupId: string;
  /** Its display name, as picked (shown in the console). */
  readonly entraGroupName?: string | null;
  /** Default `upn`. */
  readonly identifier?: ImportIdentifier;
  /** Default `users_only` when no targets are given, else `grant_shares`. */
  readonly mode?: ImportMode;
  /** Places and locks the imported members get access to (mode grant_shares). */
  readonly targets?: readonly { placeId?: string | null; lockId?: string | null; role?: ShareRole }[];
}

/** The result of one run. */
export interface ImportRunResult {
  readonly integrationId: string;
  readonly status: 'success' | 'failed' | 'skipped';
  /** Why the run was skipped: another run holds the lease, the integration is paused, or (scheduled) it ran recently. */
  readonly skippedReason?: 'already_running' | 'paused' | 'not_due';
  readonly total: number;
  /** Memberships added (members created or matched, and shared). */
  readonly added: number;
  /** Of those, members created. */
  readonly created: number;
  /** Imported members whose profile changed in Entra. */
  readonly updated: number;
  /** Memberships removed (profiles stay). */
  readonly removed: number;
  /** Users without the chosen identifier, or clashing with another user of the group. */
  readonly skipped: number;
  readonly durationMs: number;
  readonly errorCode: string | null;
  readonly error: string | null;
}

/** A recorded run (from the audit trail). */
export interface ImportRunRecord extends ImportRunOutcome {
  readonly at: Date;
  readonly status: 'success' | 'failed';
}

export type ImportProgress =
  | { readonly phase: 'fetching'; readonly fetched: number }
  | { readonly phase: 'writing'; readonly done: number; readonly total: number };

// ---- the port to Microsoft Graph (implemented in src/integrations/entra-graph) ----

/** A user as read from Graph (`$select=id,userPrincipalName,mail,displayName,givenName,surname,accountEnabled`). */
export interface EntraUser {
  readonly id: string;
  readonly userPrincipalName: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly givenName: string | null;
  readonly surname: string | null;
  readonly accountEnabled: boolean | null;
}

export interface EntraCredentials {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
}

/** A group as listed by Graph for the console's group picker. */
export interface EntraGroup {
  readonly id: string;
  readonly displayName: string;
  readonly description: string | null;
  readonly mail: string | null;
}

/** Gatehouse's own multi-tenant application (ENTRA_APP_CLIENT_ID / ENTRA_APP_CLIENT_SECRET). */
export interface GatehouseEntraApp {
  readonly clientId: string;
  /** Its client credentials in a tenant that consented. */
  credentials(tenantId: string): EntraCredentials;
  /** Microsoft's admin consent page for this application (any organisation's tenant). */
  adminConsentUrl(p: { readonly redirectUri: string; readonly state: string }): string;
}

export interface EntraDirectory {
  /** Present when this Gatehouse has its own multi-tenant application configured. */
  readonly gatehouseApp?: GatehouseEntraApp;
  /**
   * Groups of the tenant for a picker: the first `top` by name, or those whose
   * display name matches `search` (Graph $search, ConsistencyLevel: eventual);
   * a GUID is looked up as the group's object id.
   */
  searchGroups(credentials: EntraCredentials, opts: { readonly search?: string; readonly top: number }): Promise<EntraGroup[]>;
  /**
   * The direct user members of a group, all pages. Stops reading once more
   * than `maxUsers` were seen (the caller then refuses the run). Failures are
   * DomainErrors with a clear code (entra_secret_invalid, entra_consent_missing...).
   */
  groupMembers(
    credentials: EntraCredentials,
    groupId: string,
    /** `onPage` is awaited after each page (the run renews its lease there when a slow, throttled read outlasts half of it). */
    opts: { readonly maxUsers: number; readonly onPage?: (fetched: number) => void | Promise<void> },
  ): Promise<EntraUser[]>;
}

// ---- rows ----

export interface IntegrationRow {
  organization_id: string;
  id: string;
  name: string;
  tenant_id: string;
  client_id: string;
  credentials: ImportCredentials;
  entra_group_id: string;
  entra_group_name: string | null;
  identifier: ImportIdentifier;
  mode: ImportMode;
  group_id: string;
  paused: boolean;
  last_started_at: string | null;
  last_finished_at: string | null;
  last_status: ImportRunStatus | null;
  last_error_code: string | null;
  last_error: string | null;
  last_total: number | null;
  last_added: number | null;
  last_updated: number | null;
  last_removed: number | null;
  last_duration_ms: number | null;
  created_at: string;
  updated_at: string;
  targets: ImportTarget[] | null;
}

/** Columns of `import_integrations i` plus its targets as JSON (never the sealed secret). */
export const INTEGRATION_SELECT = `i.organization_id, i.id, i.name, i.tenant_id, i.client_id, i.credentials, i.entra_group_id, i.entra_group_name, i.identifier, i.mode, i.group_id, i.paused,
  i.last_started_at, i.last_finished_at, i.last_status, i.last_error_code, i.last_error, i.last_total, i.last_added, i.last_updated,
  i.last_removed, i.last_duration_ms, i.created_at, i.updated_at,
  (select coalesce(jsonb_agg(jsonb_build_object('placeId', t.place_id, 'lockId', t.lock_id, 'role', t.role) order by t.id), '[]')
     from import_targets t where t.organization_id = i.organization_id and t.integration_id = i.id) as targets`;

export function toIntegration(r: IntegrationRow): ImportIntegration {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    tenantId: r.tenant_id,
    clientId: r.client_id,
    credentials: r.credentials,
    clientSecretSet: r.credentials === 'client_secret',
    entraGroupId: r.entra_group_id,
    entraGroupName: r.entra_group_name,
    identifier: r.identifier,
    mode: r.mode,
    groupId: r.group_id,
    paused: r.paused,
    targets: r.targets ?? [],
    lastRun: {
      startedAt: toDate(r.last_started_at),
      finishedAt: toDate(r.last_finished_at),
      status: r.last_status,
      errorCode: r.last_error_code,
      error: r.last_error,
      total: r.last_total,
      added: r.last_added,
      updated: r.last_updated,
      removed: r.last_removed,
      durationMs: r.last_duration_ms,
    },
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}
