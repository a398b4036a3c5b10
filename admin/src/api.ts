// Every call the console makes, in one place.
//
// Whatever the console shows of the directory and its settings it reads from
// the GraphQL API (/graphql, the session cookie plus the X-CSRF-Token header)
// with the operations below, so an app with an admin key reads exactly the
// same. The console's actions (SCIM token, SAML metadata import and
// certificates, the admin role, the guard) and its logs with names, health
// and session use the JSON API under /admin/api.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`/admin/api${path}`, {
      method,
      credentials: 'same-origin',
      headers: {
        Accept: 'application/json',
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(method !== 'GET' ? { 'X-CSRF-Token': csrfToken } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : method === 'POST' ? '{}' : undefined,
    });
  } catch {
    throw new ApiError(0, 'network', 'Gatehouse is not reachable. Check your connection and try again.');
  }
  const data = (await res.json().catch(() => ({}))) as { error?: string; message?: string };
  if (!res.ok) throw new ApiError(res.status, data.error ?? 'error', data.message ?? `HTTP ${res.status}`);
  return data as T;
}

interface GraphqlResult<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A GraphQL read: an error is the page's error. */
async function gqlRead<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  return graphqlCall<T>(query, variables);
}

/** A GraphQL operation (read or mutation) whose first error is the caller's error (ApiError with the error's code and message). */
export async function graphqlCall<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrfToken },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError(0, 'network', 'Gatehouse is not reachable. Check your connection and try again.');
  }
  const body = (await res.json().catch(() => ({}))) as GraphqlResult<T>;
  const err = body.errors?.[0];
  if (err || !body.data) throw new ApiError(res.status, err?.extensions?.code ?? 'error', err?.message ?? `HTTP ${res.status}`);
  return body.data;
}

// ---- types (JSON as the server sends it: dates are ISO strings) ----------

export interface Session {
  admin: { id: string; userName: string };
  organization: { id: string; name: string; domain: string };
  csrfToken: string;
}

export interface HealthItem {
  key: string;
  title: string;
  status: 'ok' | 'warn' | 'error' | 'off';
  summary: string;
  action: string | null;
  /** A console route with the filter applied (`#scim?failures=1`). */
  href: string | null;
}

export interface ScimStatus {
  enabled: boolean;
  tokenPrefix: string | null;
  tokenCreatedAt: string | null;
  tokenLastUsedAt: string | null;
  previousTokenPrefix: string | null;
  previousTokenCreatedAt: string | null;
  previousTokenLastUsedAt: string | null;
  previousTokenExpiresAt: string | null;
}

export interface GuardSettings {
  enabled: boolean;
  thresholdPercent: number;
  minCount: number;
  windowMinutes: number;
}

export interface HeldChange {
  id: string;
  source: 'scim' | 'import';
  actorLabel: string;
  kind: 'deactivate' | 'delete' | 'group_remove';
  memberId: string;
  memberLabel: string | null;
  groupId: string | null;
  groupLabel: string | null;
  heldAt: string;
  repeats: number;
  lastAskedAt: string;
}

export interface GuardView {
  settings: GuardSettings;
  held: HeldChange[];
}

export interface GuardDecision {
  approved: number;
  discarded: number;
  deactivated: number;
  deleted: number;
  membershipsRemoved: number;
}

export interface AuditEvent {
  id: string;
  at: string;
  actorKind: string;
  actorLabel: string | null;
  action: string;
  outcome: 'success' | 'failure';
  resourceType: string | null;
  resourceId: string | null;
  resourceLabel: string | null;
  reason: string | null;
  detail: Record<string, unknown>;
}

export interface Certificate {
  fingerprint: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  warning: string | null;
  id?: string;
  active?: boolean;
  /** Gatehouse's own certificates: signing now, the next one of a rollover, or one that signed before. */
  use?: 'signing' | 'next' | 'retired';
}

export interface SamlSettings {
  configured: boolean;
  idpEntityId: string | null;
  /** The SingleSignOnService locations of the metadata. */
  ssoUrls: string[];
  metadataUrl: string | null;
  metadataFetchedAt: string | null;
  lastRefreshAt: string | null;
  lastRefreshError: string | null;
  allowIdpInitiated: boolean;
  /** The IdP's SingleLogoutService sign-out goes on to, and its binding; null when the metadata lists none. */
  idpLogout: { location: string; binding: string } | null;
  /** Signing out of Gatehouse also ends the Entra session. */
  singleLogoutActive: boolean;
  idpCertificates: Certificate[];
  spCertificates: Certificate[];
  warnings: string[];
}

export interface SamlView {
  urls: { identifier: string; replyUrl: string; signOnUrl: string; logoutUrl: string; spMetadataUrl: string };
  available: boolean;
  settings: SamlSettings | null;
}

export interface MemberRow {
  id: string;
  userName: string;
  displayName: string | null;
  active: boolean;
  source: string;
  admin: boolean;
  email: string | null;
}

export interface MemberPage {
  totalCount: number;
  hasNextPage: boolean;
  endCursor: string | null;
  members: MemberRow[];
}

export interface GroupRow {
  id: string;
  displayName: string;
  externalId: string | null;
  source: string;
  memberCount: number;
}

export interface Place {
  id: string;
  name: string;
  address: string | null;
}
export interface Lock {
  id: string;
  placeId: string;
  name: string;
}
export interface Share {
  id: string;
  memberId: string | null;
  groupId: string | null;
  placeId: string | null;
  lockId: string | null;
  role: string;
  validFrom: string | null;
  validUntil: string | null;
  source: string;
  /** The member's userName or the group's name (never only an id). */
  granteeLabel: string | null;
}

export interface Grant {
  shareId: string;
  role: string;
  scope: string;
  groupName: string | null;
  validFrom: string | null;
  validUntil: string | null;
}

export interface WhoCanOpen {
  members: { id: string; userName: string; displayName: string | null; grants: Grant[] }[];
  hasNextPage: boolean;
}

export type LogKind = 'provisioning' | 'sign-in' | 'admin' | 'all';

export interface LogFilter {
  /** Part of a userName, display name or group name. */
  q?: string;
  failures?: boolean;
  /** ISO times: from (inclusive), until (exclusive). */
  since?: string;
  until?: string;
  /** An event id: entries older than it (paging). */
  before?: string;
}

/** Names of the ids a page of the log carries (members by userName, groups, places, locks). */
export type Names = Record<string, { kind: string; label: string; sub: string | null }>;

export interface LogPage {
  events: AuditEvent[];
  /** Older entries follow. */
  hasMore: boolean;
  names: Names;
}

function logQuery(kind: LogKind, f: LogFilter): string {
  return qs({ log: kind, q: f.q, failures: f.failures ? '1' : undefined, since: f.since, until: f.until, before: f.before });
}

/** The export of a log with a filter (all pages, up to 10,000 entries). */
export function logExportUrl(kind: LogKind, f: LogFilter, format: 'csv' | 'jsonl'): string {
  return `/admin/api/logs/export${logQuery(kind, { ...f, before: undefined })}&format=${format}`;
}

// ---- GraphQL operations (names from src/graphql) ------------------------

export const MEMBERS_QUERY = `query ConsoleMembers($text: String, $first: Int, $after: String) {
  members(filter: { text: $text }, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id userName displayName active source organizationAdmin emails { value primary } } }
  }
}`;

export const WHO_CAN_OPEN_QUERY = `query ConsoleWhoCanOpen($lockId: ID!) {
  whoCanOpen(lockId: $lockId, first: 200) {
    pageInfo { hasNextPage }
    edges { node { id userName displayName } grants { shareId role scope groupName validFrom validUntil } }
  }
}`;

export const GROUPS_QUERY = `query ConsoleGroups {
  groups(first: 200) { edges { node { id displayName externalId source members(first: 0) { totalCount } } } }
}`;

export const PLACES_QUERY = `query ConsolePlaces {
  places(first: 500) { edges { node { id name address locks { id placeId name } } } }
  shares(first: 500) {
    edges { node { id role memberId groupId placeId lockId validFrom validUntil source member { userName } group { displayName } } }
  }
}`;

export const SCIM_QUERY = `query ConsoleScim {
  scimStatus {
    enabled tokenPrefix tokenCreatedAt tokenLastUsedAt tenantUrl
    previousTokenPrefix previousTokenCreatedAt previousTokenLastUsedAt previousTokenExpiresAt
  }
}`;

export const LOGS_QUERY = `query ConsoleLogs($filter: AuditFilterInput, $after: String) {
  auditEvents(filter: $filter, first: 50, after: $after) {
    pageInfo { hasNextPage }
    edges { node { id at actorKind actorLabel action outcome resourceType resourceId resourceLabel reason detail subjects { id kind label sub } } }
  }
}`;

export const GUARD_QUERY = `query ConsoleGuard {
  deprovisionGuard { enabled thresholdPercent minCount windowMinutes }
  heldChanges { id source actorLabel kind memberId memberLabel groupId group { displayName } heldAt repeats lastAskedAt }
}`;

const CERT_FIELDS = 'fingerprintSha256 subject notBefore notAfter daysLeft warning';

export const SAML_QUERY = `query ConsoleSaml {
  samlSettings {
    entityId replyUrl signOnUrl metadataUrl configured idpEntityId idpSsoUrls idpMetadataUrl idpMetadataFetchedAt
    idpMetadataRefreshedAt idpMetadataRefreshError idpInitiatedAllowed warnings logoutUrl idpLogoutUrl idpLogoutBinding singleLogoutActive
    idpCertificates { ${CERT_FIELDS} }
    spCertificates { id use ${CERT_FIELDS} }
  }
}`;

interface GqlMembers {
  members: {
    totalCount: number | null;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: {
      node: { id: string; userName: string; displayName: string | null; active: boolean; source: string; organizationAdmin: boolean; emails: { value: string; primary: boolean }[] };
    }[];
  };
}

interface GqlWhoCanOpen {
  whoCanOpen: {
    pageInfo: { hasNextPage: boolean };
    edges: { node: { id: string; userName: string; displayName: string | null }; grants: Grant[] }[];
  };
}

interface GqlCert {
  fingerprintSha256: string;
  subject: string | null;
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  warning: string | null;
  id?: string;
  use?: 'SIGNING' | 'NEXT' | 'RETIRED';
}

interface GqlSaml {
  samlSettings: {
    entityId: string;
    replyUrl: string;
    signOnUrl: string;
    metadataUrl: string;
    configured: boolean;
    idpEntityId: string | null;
    idpSsoUrls: string[];
    idpMetadataUrl: string | null;
    idpMetadataFetchedAt: string | null;
    idpMetadataRefreshedAt: string | null;
    idpMetadataRefreshError: string | null;
    idpInitiatedAllowed: boolean;
    warnings: string[];
    logoutUrl: string;
    idpLogoutUrl: string | null;
    idpLogoutBinding: string | null;
    singleLogoutActive: boolean;
    idpCertificates: GqlCert[];
    spCertificates: GqlCert[];
  };
}

function toCertificate(c: GqlCert): Certificate {
  const use = c.use ? (c.use.toLowerCase() as Certificate['use']) : undefined;
  return {
    fingerprint: c.fingerprintSha256,
    subject: c.subject ?? '',
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    daysLeft: c.daysLeft,
    warning: c.warning,
    ...(c.id ? { id: c.id, active: use === 'signing', use } : {}),
  };
}

export const MEMBER_PAGE_QUERY = `query ConsoleMember($id: ID!, $at: DateTimeISO) {
  member(id: $id) {
    id userName externalId displayName title active source deactivatedBy createdAt updatedAt
    name { givenName familyName }
    emails { value type primary }
    phoneNumbers { value type }
    enterprise { department employeeNumber }
    groups { id displayName source shares { id role validFrom validUntil place { id name } lock { id name } } }
    shares { id role validFrom validUntil source place { id name } lock { id name } }
    access(at: $at) { lockId lockName placeId placeName grants { shareId role scope groupId groupName validFrom validUntil } }
  }
  history: auditEvents(first: 25, filter: { memberId: $id }) {
    totalCount
    edges { node { id at actorKind actorLabel action outcome resourceType resourceId resourceLabel reason detail } }
  }
  signIns: auditEvents(first: 10, filter: { memberId: $id, actionPrefix: "saml.login" }) {
    totalCount
    edges { node { id at actorKind actorLabel action outcome resourceType resourceId resourceLabel reason detail } }
  }
}`;

export interface ShareRef {
  id: string;
  role: string;
  validFrom: string | null;
  validUntil: string | null;
  source?: string;
  place: { id: string; name: string } | null;
  lock: { id: string; name: string } | null;
}

export interface MemberDetail {
  id: string;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  title: string | null;
  active: boolean;
  source: string;
  deactivatedBy: string | null;
  createdAt: string;
  updatedAt: string;
  name: { givenName: string | null; familyName: string | null };
  emails: { value: string; type: string | null; primary: boolean }[];
  phoneNumbers: { value: string; type: string | null }[];
  enterprise: { department: string | null; employeeNumber: string | null };
  groups: { id: string; displayName: string; source: string; shares: ShareRef[] }[];
  shares: ShareRef[];
  access: { lockId: string; lockName: string; placeId: string; placeName: string; grants: (Grant & { groupId: string | null })[] }[];
}

export interface MemberPageData {
  member: MemberDetail;
  history: { totalCount: number; events: AuditEvent[] };
  signIns: { totalCount: number; events: AuditEvent[] };
}

interface GqlEvents {
  totalCount: number;
  edges: { node: AuditEvent & { outcome: string } }[];
}

const events = (c: GqlEvents) => ({ totalCount: c.totalCount, events: c.edges.map((e) => ({ ...e.node, outcome: e.node.outcome.toLowerCase() as AuditEvent['outcome'] })) });

export const WHO_AT_QUERY = `query ConsoleWhoAt($lockId: ID!, $at: DateTimeISO, $text: String, $after: String, $counted: Boolean!) {
  whoCanOpen(lockId: $lockId, at: $at, text: $text, first: 500, after: $after) {
    totalCount @include(if: $counted)
    pageInfo { hasNextPage endCursor }
    edges { node { id userName displayName } grants { shareId role scope groupName validFrom validUntil } }
  }
}`;

export interface WhoAt {
  totalCount: number;
  members: WhoCanOpen['members'];
  /** More than the console loads (it loads up to 2,000). */
  truncated: boolean;
}

export const SETUP_QUERY = `query ConsoleSetup {
  setupProgress { scimTokenCreatedAt scimConnectedAt firstProvisionedAt metadataImportedAt spCertificateAt firstSignInAt }
}`;

export interface SetupProgress {
  scimTokenCreatedAt: string | null;
  scimConnectedAt: string | null;
  firstProvisionedAt: string | null;
  metadataImportedAt: string | null;
  spCertificateAt: string | null;
  firstSignInAt: string | null;
}

// ---- the console's calls -------------------------------------------------

function qs(params: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const api = {
  async session(): Promise<Session> {
    const s = await call<Session>('GET', '/session');
    csrfToken = s.csrfToken;
    return s;
  },
  /** Ends the session; `next`: where single logout goes on (the IdP's SingleLogoutService), null when it does not. */
  logout: () => call<{ ok: true; next: { binding: 'redirect'; url: string } | { binding: 'post'; url: string; fields: Record<string, string> } | null }>('POST', '/logout'),
  health: () => call<{ items: HealthItem[] }>('GET', '/health'),

  async scim(): Promise<{ status: ScimStatus; tenantUrl: string }> {
    const { tenantUrl, ...status } = (await gqlRead<{ scimStatus: ScimStatus & { tenantUrl: string } }>(SCIM_QUERY, {})).scimStatus;
    return { status, tenantUrl };
  },
  generateScimToken: () => call<{ token: string; status: ScimStatus; tenantUrl: string }>('POST', '/scim/token'),
  rotateScimToken: (overlap: string) => call<{ token: string; status: ScimStatus; tenantUrl: string }>('POST', '/scim/rotate', { overlap }),
  revokePreviousScimToken: () => call<{ revoked: boolean; status: ScimStatus; tenantUrl: string }>('POST', '/scim/revoke-previous'),
  disableScim: () => call<{ status: ScimStatus; tenantUrl: string }>('POST', '/scim/disable'),
  async guard(): Promise<GuardView> {
    interface R {
      deprovisionGuard: GuardSettings;
      heldChanges: (Omit<HeldChange, 'groupLabel'> & { group: { displayName: string } | null })[];
    }
    const d = await gqlRead<R>(GUARD_QUERY, {});
    const { enabled, thresholdPercent, minCount, windowMinutes } = d.deprovisionGuard;
    return {
      settings: { enabled, thresholdPercent, minCount, windowMinutes },
      held: d.heldChanges.map(({ group, ...c }) => ({ ...c, groupLabel: group?.displayName ?? null })),
    };
  },
  setGuardSettings: (settings: Partial<GuardSettings>) => call<GuardView>('POST', '/guard/settings', settings),
  approveHeld: () => call<GuardView & { decision: GuardDecision }>('POST', '/guard/approve'),
  discardHeld: () => call<GuardView & { decision: GuardDecision }>('POST', '/guard/discard'),
  /** A page of a log (50 entries, newest first) with the names of the ids its entries carry. */
  async logs(kind: LogKind, f: LogFilter): Promise<LogPage> {
    interface R {
      auditEvents: {
        pageInfo: { hasNextPage: boolean };
        edges: { node: AuditEvent & { outcome: string; subjects: ({ id: string } & Names[string])[] } }[];
      };
    }
    const filter = {
      provisioning: kind === 'provisioning' || null,
      actionPrefix: kind === 'sign-in' ? 'saml.' : null,
      adminActivity: kind === 'admin' || null,
      search: f.q?.trim() || null,
      outcome: f.failures ? 'FAILURE' : null,
      since: f.since ?? null,
      until: f.until ?? null,
    };
    // The GraphQL cursor of an entry is its id in base64url.
    const after = f.before ? btoa(f.before).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : null;
    const d = await gqlRead<R>(LOGS_QUERY, { filter, after });
    const names: Names = {};
    for (const { node } of d.auditEvents.edges) for (const x of node.subjects) names[x.id] = { kind: x.kind, label: x.label, sub: x.sub };
    return {
      events: d.auditEvents.edges.map(({ node: { subjects: _subjects, ...e } }) => ({ ...e, outcome: e.outcome.toLowerCase() as AuditEvent['outcome'] })),
      hasMore: d.auditEvents.pageInfo.hasNextPage,
      names,
    };
  },

  async saml(): Promise<SamlView> {
    const s = (await gqlRead<GqlSaml>(SAML_QUERY, {})).samlSettings;
    return {
      urls: { identifier: s.entityId, replyUrl: s.replyUrl, signOnUrl: s.signOnUrl, logoutUrl: s.logoutUrl, spMetadataUrl: s.metadataUrl },
      available: true,
      settings: {
        configured: s.configured,
        idpEntityId: s.idpEntityId,
        ssoUrls: s.idpSsoUrls,
        metadataUrl: s.idpMetadataUrl,
        metadataFetchedAt: s.idpMetadataFetchedAt,
        lastRefreshAt: s.idpMetadataRefreshedAt,
        lastRefreshError: s.idpMetadataRefreshError,
        allowIdpInitiated: s.idpInitiatedAllowed,
        idpLogout: s.idpLogoutUrl ? { location: s.idpLogoutUrl, binding: s.idpLogoutBinding ?? '' } : null,
        singleLogoutActive: s.singleLogoutActive,
        idpCertificates: s.idpCertificates.map(toCertificate),
        spCertificates: s.spCertificates.map(toCertificate),
        warnings: s.warnings,
      },
    };
  },
  importMetadata: (input: { url: string } | { xml: string }) => call<{ settings: SamlSettings }>('POST', '/saml/metadata', input),
  refreshMetadata: () => call<{ settings: SamlSettings }>('POST', '/saml/refresh'),
  generateCertificate: (next = false) => call<{ settings: SamlSettings }>('POST', '/saml/certificate', { next }),
  promoteCertificate: (id: string) => call<{ settings: SamlSettings }>('POST', `/saml/certificate/${encodeURIComponent(id)}/promote`),
  removeCertificate: (id: string) => call<{ settings: SamlSettings }>('POST', `/saml/certificate/${encodeURIComponent(id)}/remove`),
  setIdpInitiated: (allow: boolean) => call<{ settings: SamlSettings }>('POST', '/saml/idp-initiated', { allow }),
  setupProgress: async () => (await gqlRead<{ setupProgress: SetupProgress }>(SETUP_QUERY, {})).setupProgress,

  async member(id: string, at?: string): Promise<MemberPageData> {
    const d = await gqlRead<{ member: MemberDetail & { source: string }; history: GqlEvents; signIns: GqlEvents }>(MEMBER_PAGE_QUERY, { id, at: at ?? null });
    const low = (g: Grant & { groupId: string | null }) => ({ ...g, role: g.role.toLowerCase(), scope: g.scope.toLowerCase() });
    const member = {
      ...d.member,
      source: d.member.source.toLowerCase(),
      deactivatedBy: d.member.deactivatedBy?.toLowerCase() ?? null,
      groups: d.member.groups.map((g) => ({ ...g, source: g.source.toLowerCase(), shares: g.shares.map((x) => ({ ...x, role: x.role.toLowerCase() })) })),
      shares: d.member.shares.map((x) => ({ ...x, role: x.role.toLowerCase() })),
      access: d.member.access.map((a) => ({ ...a, grants: a.grants.map(low) })),
    };
    return { member, history: events(d.history), signIns: events(d.signIns) };
  },

  /** Who may open the lock at `at` (ISO; default now), matching `text`: every page up to 2,000 members. */
  async whoCanOpenAt(lockId: string, at: string | null, text: string): Promise<WhoAt> {
    interface R {
      whoCanOpen: { totalCount?: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: GqlWhoCanOpen['whoCanOpen']['edges'] };
    }
    const members: WhoCanOpen['members'] = [];
    let after: string | null = null;
    let total = 0;
    for (let i = 0; i < 4; i++) {
      // Counted once, with the first page: counting is the costly part at scale.
      const d: R = await gqlRead<R>(WHO_AT_QUERY, { lockId, at, text: text || null, after, counted: i === 0 });
      if (i === 0) total = d.whoCanOpen.totalCount ?? 0;
      for (const e of d.whoCanOpen.edges) members.push({ ...e.node, grants: e.grants.map((g) => ({ ...g, role: g.role.toLowerCase(), scope: g.scope.toLowerCase() })) });
      if (!d.whoCanOpen.pageInfo.hasNextPage) return { totalCount: total, members, truncated: false };
      after = d.whoCanOpen.pageInfo.endCursor;
    }
    return { totalCount: total, members, truncated: true };
  },

  async members(text: string, after?: string): Promise<MemberPage> {
    const g = await gqlRead<GqlMembers>(MEMBERS_QUERY, { text: text || null, first: 50, after: after ?? null });
    return {
      totalCount: g.members.totalCount ?? g.members.edges.length,
      hasNextPage: g.members.pageInfo.hasNextPage,
      endCursor: g.members.pageInfo.endCursor,
      members: g.members.edges.map(({ node }) => ({
        id: node.id,
        userName: node.userName,
        displayName: node.displayName,
        active: node.active,
        source: node.source.toLowerCase(),
        admin: node.organizationAdmin,
        email: node.emails.find((e) => e.primary)?.value ?? node.emails[0]?.value ?? null,
      })),
    };
  },
  setAdmin: (memberId: string, admin: boolean) => call<{ ok: true }>('POST', `/members/${encodeURIComponent(memberId)}/admin`, { admin }),
  async groups(): Promise<{ groups: GroupRow[] }> {
    interface R {
      groups: { edges: { node: { id: string; displayName: string; externalId: string | null; source: string; members: { totalCount: number } } }[] };
    }
    const d = await gqlRead<R>(GROUPS_QUERY, {});
    return {
      groups: d.groups.edges.map(({ node: g }) => ({ id: g.id, displayName: g.displayName, externalId: g.externalId, source: g.source.toLowerCase(), memberCount: g.members.totalCount })),
    };
  },
  async places(): Promise<{ places: Place[]; locks: Lock[]; shares: Share[] }> {
    interface R {
      places: { edges: { node: Place & { locks: Lock[] } }[] };
      shares: { edges: { node: Omit<Share, 'granteeLabel'> & { member: { userName: string } | null; group: { displayName: string } | null } }[] };
    }
    const d = await gqlRead<R>(PLACES_QUERY, {});
    return {
      places: d.places.edges.map(({ node: p }) => ({ id: p.id, name: p.name, address: p.address })),
      locks: d.places.edges.flatMap(({ node: p }) => p.locks),
      shares: d.shares.edges.map(({ node: { member, group, ...x } }) => ({ ...x, role: x.role.toLowerCase(), granteeLabel: member?.userName ?? group?.displayName ?? null })),
    };
  },
  async whoCanOpen(lockId: string): Promise<WhoCanOpen> {
    const g = await gqlRead<GqlWhoCanOpen>(WHO_CAN_OPEN_QUERY, { lockId });
    return {
      hasNextPage: g.whoCanOpen.pageInfo.hasNextPage,
      // GraphQL enums are upper case (USER, LOCK): the console shows them in lower case.
      members: g.whoCanOpen.edges.map((e) => ({ ...e.node, grants: e.grants.map((gr) => ({ ...gr, role: gr.role.toLowerCase(), scope: gr.scope.toLowerCase() })) })),
    };
  },
};
