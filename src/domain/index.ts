// The domain layer: every rule of Gatehouse. Edges (SCIM, SAML, GraphQL, CLI)
// call these services and translate; they hold no rule of their own.
import type { Db } from './db.js';
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
import { DEFAULT_IMPORT_OPTIONS, ImportService, type ImportServiceOptions } from './import/import.service.js';
import type { EntraDirectory } from './import/import.model.js';
import { SamlService } from './saml-config/saml.service.js';
import { AdminService } from './admin/admin.service.js';
import { DEFAULT_WEBHOOK_POLICY, WebhookService, type WebhookPolicy } from './webhooks/webhook.service.js';
import { webhookConsumer } from './webhooks/webhook-consumer.js';
import { AccessEventFollower } from './webhooks/access-events.js';
import { EventDispatcher } from './events/event-dispatcher.js';
import { DEFAULT_MAIL_POLICY, MailService, type MailPolicy } from './mail/mail.service.js';
import { GuardService } from './guard/guard.service.js';

export interface Domain {
  readonly db: Db;
  readonly cipher: Cipher;
  /** The policies it was built with (session timeouts, failed-authentication limit). */
  readonly policies: DomainPolicies;
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
  readonly imports: ImportService;
  readonly saml: SamlService;
  readonly admins: AdminService;
  readonly webhooks: WebhookService;
  readonly mail: MailService;
  /** The mass-deprovision guard: settings, held changes, approve / discard. */
  readonly guard: GuardService;
  /** Follows the audit stream for webhooks and notification mail, and the per-lock access feed for access.changed (run by the delivery worker). */
  readonly events: EventDispatcher;
}

export interface DomainPolicies {
  readonly sessions: SessionPolicy;
  readonly authFailures: RateLimitPolicy;
}

export const DEFAULT_POLICIES: DomainPolicies = {
  sessions: { idleMinutes: 60, absoluteHours: 12 },
  authFailures: { maxFailures: 20, windowSeconds: 60 },
};


/** Outbound dependencies the domain calls through ports (absent: those use cases answer Unavailable). */
export interface DomainPorts {
  /** Microsoft Graph, for the Entra group import. */
  readonly entraDirectory?: EntraDirectory;
  readonly importOptions?: ImportServiceOptions;
  readonly webhookPolicy?: WebhookPolicy;
  readonly mailPolicy?: MailPolicy;
  /** PUBLIC_URL: the base of links in notification mail (default http://localhost:3000). */
  readonly publicUrl?: string;
  /** User-Agent of webhook requests (with Gatehouse's version). */
  readonly userAgent?: string;
}

export function createDomain(
  db: Db,
  masterSecret: string,
  policies: DomainPolicies = DEFAULT_POLICIES,
  ports: DomainPorts = {},
): Domain {
  const cipher = new Cipher(masterSecret);
  const groups = new GroupService(db);
  const shares = new ShareService(db);
  const audit = new AuditService(db);
  const sessions = new SessionService(db, policies.sessions);
  const rateLimits = new RateLimitService(db, policies.authFailures);
  const webhooks = new WebhookService(db, cipher, ports.webhookPolicy ?? DEFAULT_WEBHOOK_POLICY, ports.userAgent);
  const mail = new MailService(db, ports.publicUrl ?? 'http://localhost:3000', ports.mailPolicy ?? DEFAULT_MAIL_POLICY);
  return {
    db,
    cipher,
    policies,
    organizations: new OrganizationService(db, rateLimits),
    apiKeys: new ApiKeyService(db, rateLimits),
    audit,
    members: new MemberService(db),
    groups,
    places: new PlaceService(db),
    shares,
    access: new AccessService(db),
    sessions,
    rateLimits,
    imports: new ImportService(db, cipher, groups, shares, ports.entraDirectory, ports.importOptions ?? DEFAULT_IMPORT_OPTIONS),
    saml: new SamlService(db, cipher, sessions, audit, rateLimits),
    admins: new AdminService(db, sessions, rateLimits, mail),
    webhooks,
    mail,
    guard: new GuardService(db),
    events: new EventDispatcher(db, [webhookConsumer(webhooks), mail.consumer()], undefined, [new AccessEventFollower(db, webhooks)]),
  };
}

export * from './errors.js';
export * from './actor.js';
