// The domain layer: every rule of Gatehouse. Edges (SCIM, SAML, GraphQL, CLI)
// call these services and translate; they hold no rule of their own.
import { Db } from './db.js';
import { Cipher } from './secrets.js';
import { AccessService } from './access/access.service.js';
import { ApiKeyService } from './api-key/api-key.service.js';
import { AuditService } from './audit/audit.service.js';
import { GroupService } from './group/group.service.js';
import { MemberService } from './member/member.service.js';
import { OrganizationService } from './organization/organization.service.js';
import { PlaceService } from './place/place.service.js';
import { ShareService } from './share/share.service.js';
import { SessionService, type SessionPolicy } from './session/session.service.js';
import { RateLimitService, type RateLimitPolicy } from './rate-limit/rate-limit.service.js';
import { AdminService } from './admin/admin.service.js';
import type { MikroORM } from '@mikro-orm/postgresql';

export interface Domain {
  readonly db: Db;
  readonly cipher: Cipher;
  readonly organizations: OrganizationService;
  readonly apiKeys: ApiKeyService;
  readonly audit: AuditService;
  readonly members: MemberService;
  readonly groups: GroupService;
  readonly places: PlaceService;
  readonly shares: ShareService;
  readonly access: AccessService;
  readonly sessions: SessionService;
  readonly rateLimits: RateLimitService;
  readonly admins: AdminService;
}

export interface DomainPolicies {
  readonly sessions: SessionPolicy;
  readonly authFailures: RateLimitPolicy;
}

export const DEFAULT_POLICIES: DomainPolicies = {
  sessions: { idleMinutes: 60, absoluteHours: 12 },
  authFailures: { maxFailures: 20, windowSeconds: 60 },
};

export function createDomain(orm: MikroORM, masterSecret: string, policies: DomainPolicies = DEFAULT_POLICIES): Domain {
  const db = new Db(orm);
  const sessions = new SessionService(db, policies.sessions);
  return {
    db,
    cipher: new Cipher(masterSecret),
    organizations: new OrganizationService(db),
    apiKeys: new ApiKeyService(db),
    audit: new AuditService(db),
    members: new MemberService(db),
    groups: new GroupService(db),
    places: new PlaceService(db),
    shares: new ShareService(db),
    access: new AccessService(db),
    sessions,
    rateLimits: new RateLimitService(db, policies.authFailures),
    admins: new AdminService(db, sessions),
  };
}

export * from './errors.js';
export * from './actor.js';
