// Domain objects → GraphQL objects: pick what the API may show.
import type { Member as DomainMember } from '../domain/member/member.model.js';
import type { Group as DomainGroup } from '../domain/group/group.model.js';
import type { Lock as DomainLock, Place as DomainPlace } from '../domain/place/place.model.js';
import type { Share as DomainShare } from '../domain/share/share.model.js';
import type { Grant as DomainGrant, AccessDecision as DomainDecision, LockAccess as DomainLockAccess } from '../domain/access/access.service.js';
import type { AccessChange as DomainAccessChange } from '../domain/access/access-feed.js';
import type { AuditEvent as DomainAuditEvent } from '../domain/audit/audit.service.js';
import type { ImportIntegration as DomainIntegration } from '../domain/import/import.model.js';
import type { HealthFinding } from '../domain/health/integration-health.js';
import { assertUnreachable } from '../domain/errors.js';
import type { Organization as DomainOrganization, ScimStatus as DomainScimStatus } from '../domain/organization/organization.service.js';
import type { Member } from './types/member.type.js';
import type { Group, Lock, Place, Share } from './types/directory.type.js';
import type { AccessChange, AccessDecision, Grant, LockAccess } from './types/access.type.js';
import type { AuditEvent, Certificate, Organization, SpCertificate, SamlSettings, ScimStatus } from './types/organization.type.js';
import type { ImportCredentials, ImportIdentifier, ImportIntegration, ImportMode } from './types/import.type.js';
import { HealthKey, HealthState, HealthStatus, type HealthItem } from './types/health.type.js';
import { AccessChangeKind, AccessReason, AuditOutcome, ShareRole, ShareScope, Source } from './types/scalars.js';

export function toMemberType(m: DomainMember): Member {
  return {
    id: m.id,
    userName: m.userName,
    externalId: m.externalId,
    active: m.active,
    displayName: m.displayName,
    nickName: m.nickName,
    profileUrl: m.profileUrl,
    title: m.title,
    userType: m.userType,
    preferredLanguage: m.preferredLanguage,
    locale: m.locale,
    timezone: m.timezone,
    name: { ...m.name },
    emails: m.emails.map((e) => ({ value: e.value, type: e.type ?? null, primary: e.primary === true, display: e.display ?? null })),
    phoneNumbers: m.phoneNumbers.map((e) => ({ value: e.value, type: e.type ?? null, primary: e.primary === true, display: e.display ?? null })),
    addresses: m.addresses.map((a) => ({
      type: a.type ?? null,
      formatted: a.formatted ?? null,
      streetAddress: a.streetAddress ?? null,
      locality: a.locality ?? null,
      region: a.region ?? null,
      postalCode: a.postalCode ?? null,
      country: a.country ?? null,
      primary: a.primary === true,
    })),
    enterprise: { ...m.enterprise },
    metadata: m.metadata,
    extensions: m.extensions,
    source: m.source as Source,
    deactivatedBy: m.deactivatedBy as Source | null,
    version: m.version,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}

export function toGroupType(g: DomainGroup): Group {
  return {
    id: g.id,
    displayName: g.displayName,
    externalId: g.externalId,
    source: g.source as Source,
    managed: g.source !== 'admin',
    version: g.version,
    createdAt: g.createdAt,
    updatedAt: g.updatedAt,
  };
}

export function toPlaceType(p: DomainPlace): Place {
  return { id: p.id, name: p.name, address: p.address, timeZone: p.timeZone, createdAt: p.createdAt };
}

export function toLockType(l: DomainLock): Lock {
  return { id: l.id, placeId: l.placeId, name: l.name, createdAt: l.createdAt };
}

export function toShareType(s: DomainShare): Share {
  return {
    id: s.id,
    role: s.role as ShareRole,
    memberId: s.memberId,
    groupId: s.groupId,
    placeId: s.placeId,
    lockId: s.lockId,
    validFrom: s.validFrom,
    validUntil: s.validUntil,
    source: s.source,
    createdAt: s.createdAt,
  };
}

export function toGrantType(g: DomainGrant): Grant {
  return {
    shareId: g.shareId,
    role: g.role as ShareRole,
    scope: g.scope as ShareScope,
    groupId: g.groupId,
    groupName: g.groupName,
    validFrom: g.validFrom,
    validUntil: g.validUntil,
  };
}

export function toAccessDecisionType(d: DomainDecision): AccessDecision {
  return { allowed: d.allowed, reason: d.reason as AccessReason, grants: d.grants.map(toGrantType) };
}

export function toLockAccessType(l: DomainLockAccess): LockAccess {
  return { lockId: l.lockId, lockName: l.lockName, placeId: l.placeId, placeName: l.placeName, grants: l.grants.map(toGrantType) };
}

export function toAccessChangeType(c: DomainAccessChange): AccessChange {
  return { ...c, kind: c.kind as AccessChangeKind };
}

export function toAuditEventType(e: DomainAuditEvent): AuditEvent {
  return { ...e, outcome: e.outcome as AuditOutcome };
}

export function toOrganizationType(o: DomainOrganization): Organization {
  return { id: o.id, name: o.name, domain: o.domain, createdAt: o.createdAt };
}

export function toScimStatusType(s: DomainScimStatus): ScimStatus {
  return { ...s };
}

/** What the SAML settings service is expected to hand over (public parts only). */
export interface SamlSettingsSource {
  readonly entityId: string;
  readonly replyUrl: string;
  readonly signOnUrl: string;
  readonly metadataUrl: string;
  readonly idpEntityId: string | null;
  readonly idpSsoUrl: string | null;
  readonly idpMetadataUrl: string | null;
  readonly idpMetadataFetchedAt: Date | null;
  readonly idpCertificates: readonly Certificate[];
  readonly spCertificate: Certificate | null;
  readonly spCertificates: readonly SpCertificate[];
  readonly idpInitiatedAllowed: boolean;
  readonly configured: boolean;
  readonly idpSsoUrls: readonly string[];
  readonly idpMetadataRefreshedAt: Date | null;
  readonly idpMetadataRefreshError: string | null;
  readonly encryptionRequired: boolean;
  readonly logoutUrl: string;
  readonly idpLogoutUrl: string | null;
  readonly idpLogoutBinding: string | null;
  readonly singleLogoutActive: boolean;
  readonly warnings: readonly string[];
}

/** Picks the public fields: never a private key, whatever the source carries. */
export function toSamlSettingsType(s: SamlSettingsSource): SamlSettings {
  const cert = (c: Certificate): Certificate => ({
    subject: c.subject,
    fingerprintSha256: c.fingerprintSha256,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    daysLeft: c.daysLeft,
    warning: c.warning,
  });
  return {
    entityId: s.entityId,
    replyUrl: s.replyUrl,
    signOnUrl: s.signOnUrl,
    metadataUrl: s.metadataUrl,
    idpEntityId: s.idpEntityId,
    idpSsoUrl: s.idpSsoUrl,
    idpMetadataUrl: s.idpMetadataUrl,
    idpMetadataFetchedAt: s.idpMetadataFetchedAt,
    idpCertificates: s.idpCertificates.map(cert),
    spCertificate: s.spCertificate && cert(s.spCertificate),
    spCertificates: s.spCertificates.map((c) => ({ ...cert(c), id: c.id, use: c.use })),
    idpInitiatedAllowed: s.idpInitiatedAllowed,
    configured: s.configured,
    idpSsoUrls: [...s.idpSsoUrls],
    idpMetadataRefreshedAt: s.idpMetadataRefreshedAt,
    idpMetadataRefreshError: s.idpMetadataRefreshError,
    encryptionRequired: s.encryptionRequired,
    logoutUrl: s.logoutUrl,
    idpLogoutUrl: s.idpLogoutUrl,
    idpLogoutBinding: s.idpLogoutBinding,
    singleLogoutActive: s.singleLogoutActive,
    warnings: [...s.warnings],
  };
}

export function toImportIntegrationType(i: DomainIntegration): ImportIntegration {
  return {
    id: i.id,
    name: i.name,
    tenantId: i.tenantId,
    clientId: i.clientId,
    credentials: i.credentials as ImportCredentials,
    clientSecretSet: i.clientSecretSet,
    entraGroupId: i.entraGroupId,
    entraGroupName: i.entraGroupName,
    identifier: i.identifier as ImportIdentifier,
    mode: i.mode as ImportMode,
    groupId: i.groupId,
    paused: i.paused,
    targets: i.targets.map((t) => ({ placeId: t.placeId, lockId: t.lockId, role: t.role as ShareRole })),
    lastRun: { ...i.lastRun },
    createdAt: i.createdAt,
    updatedAt: i.updatedAt,
  };
}

const NO_FACTS = {
  tokenPrefix: null,
  previousTokenPrefix: null,
  previousLastUsedAt: null,
  previousExpiresAt: null,
  lastUsedAt: null,
  refusedAt: null,
  reason: null,
  who: null,
  error: null,
  idpEntityId: null,
  fetchedAt: null,
  fromUrl: null,
  stale: null,
  certificates: null,
  soonestDaysLeft: null,
  lastAt: null,
  failing: null,
  notRun: null,
  total: null,
  lastRunAt: null,
  held: null,
  guard: null,
} satisfies Omit<HealthItem, 'key' | 'status' | 'state'>;

/** One finding as it is: the facts of its state, the others null (the words are the console's). */
export function toHealthItemType(f: HealthFinding): HealthItem {
  // The domain's keys, statuses and states are the enums' values.
  const item = { ...NO_FACTS, key: f.key as HealthKey, status: f.status as HealthStatus, state: f.state as HealthState };
  switch (f.state) {
    case 'disabled':
    case 'not_imported':
    case 'no_sp_certificate':
    case 'not_set_up':
    case 'never_signed_in':
    case 'none':
      return item;
    case 'token_never_used':
      return { ...item, tokenPrefix: f.tokenPrefix };
    case 'previous_token_in_use':
      return { ...item, tokenPrefix: f.tokenPrefix, previousTokenPrefix: f.previousTokenPrefix, previousLastUsedAt: f.previousLastUsedAt, previousExpiresAt: f.previousExpiresAt };
    case 'refused':
      return f.key === 'scim'
        ? { ...item, lastUsedAt: f.lastUsedAt, refusedAt: f.refusedAt, reason: f.reason }
        : { ...item, refusedAt: f.refusedAt, who: f.who, reason: f.reason };
    case 'used':
      return { ...item, tokenPrefix: f.tokenPrefix, lastUsedAt: f.lastUsedAt };
    case 'refresh_failed':
      return { ...item, error: f.error };
    case 'imported':
      return { ...item, idpEntityId: f.idpEntityId, fetchedAt: f.fetchedAt, fromUrl: f.fromUrl, stale: f.stale };
    case 'expiring':
      return { ...item, certificates: f.certificates.map((c) => ({ who: c.who, warning: c.warning })) };
    case 'valid':
      return { ...item, soonestDaysLeft: f.soonestDaysLeft ?? null };
    case 'signing_in':
      return { ...item, lastAt: f.lastAt };
    case 'failing':
      return { ...item, failing: f.failing.map(toImportIntegrationType), total: f.total };
    case 'not_run':
      return { ...item, notRun: f.notRun.map(toImportIntegrationType) };
    case 'succeeded':
      return { ...item, total: f.total, lastRunAt: f.lastRunAt };
    case 'holding':
      return { ...item, held: f.held, guard: { ...f.settings, held: f.held } };
    case 'idle':
      return { ...item, guard: { ...f.settings, held: 0 } };
    default:
      return assertUnreachable(f);
  }
}
