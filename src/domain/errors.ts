// One taxonomy of domain errors. Each carries a kind (what an edge maps to its
// protocol) and a stable snake_case code (what a client may branch on); never
// an HTTP status. Edges map kinds exhaustively with assertUnreachable. Codes
// form a closed catalogue, one list per aggregate (`<aggregate>.errors.ts`,
// gathered in ErrorCode below): a code no aggregate declares does not compile,
// in the domain or in an edge that maps it.
import type { AdminErrorCode } from './admin/admin.errors.js';
import type { ApiKeyErrorCode } from './api-key/api-key.errors.js';
import type { GroupErrorCode } from './group/group.errors.js';
import type { ImportErrorCode } from './import/import.errors.js';
import type { MemberErrorCode } from './member/member.errors.js';
import type { OrganizationErrorCode } from './organization/organization.errors.js';
import type { PlaceErrorCode } from './place/place.errors.js';
import type { SamlErrorCode } from './saml-config/saml.errors.js';
import type { SessionErrorCode } from './session/session.errors.js';
import type { ShareErrorCode } from './share/share.errors.js';
import type { WebhookErrorCode } from './webhooks/webhook.errors.js';
import type { MailErrorCode } from './mail/mail.errors.js';
import type { AccessErrorCode } from './access/access.errors.js';
import type { GuardErrorCode } from './guard/guard.errors.js';

export type DomainErrorKind = 'not_found' | 'conflict' | 'invalid' | 'forbidden' | 'unauthenticated' | 'rate_limited' | 'unavailable';

/** Codes every aggregate may raise. */
export type CommonErrorCode =
  /** A value of the wrong type or shape. */
  | 'invalid_value'
  /** A required value is missing. */
  | 'required'
  /** A text longer than allowed. */
  | 'too_long'
  /** A value (a document, a list) larger than allowed. */
  | 'too_large'
  /** More values than allowed. */
  | 'too_many_values'
  /** A name that is empty or too long. */
  | 'invalid_name'
  /** Not a date. */
  | 'invalid_date'
  /** Not one of the roles. */
  | 'invalid_role'
  /** A cursor this API did not hand out. */
  | 'invalid_cursor'
  /** A page size out of range. */
  | 'invalid_page_size'
  /** A filter that cannot be compiled (unknown attribute, wrong type). */
  | 'invalid_filter'
  /** An attribute that cannot be sorted on. */
  | 'invalid_sort'
  /** The actor is not an administrator. */
  | 'admin_role_required'
  /** A member may read only its own profile and access. */
  | 'directory_read_forbidden'
  /** A member may not change the directory. */
  | 'directory_write_forbidden'
  /** Too many failed authentications. */
  | 'rate_limited'
  /** The database is not reachable. */
  | 'database_unavailable'
  /** What a change read changed before it was written; retry. */
  | 'concurrent_change';

/** What a NotFound names (its code is `<resource>_not_found`). */
export type NotFoundResource =
  | 'member'
  | 'group'
  | 'place'
  | 'lock'
  | 'place_or_lock'
  | 'share'
  | 'api_key'
  | 'organization'
  | 'organization_admin'
  | 'import_integration'
  | 'saml_certificate'
  | 'webhook_endpoint'
  | 'webhook_delivery'
  | 'mail'
  | 'blocked_address';

/** Every code a domain error may carry. */
export type ErrorCode =
  | CommonErrorCode
  | `${NotFoundResource}_not_found`
  | MemberErrorCode
  | GroupErrorCode
  | ShareErrorCode
  | PlaceErrorCode
  | OrganizationErrorCode
  | ApiKeyErrorCode
  | SessionErrorCode
  | AdminErrorCode
  | SamlErrorCode
  | ImportErrorCode
  | WebhookErrorCode
  | MailErrorCode
  | AccessErrorCode
  | GuardErrorCode;

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra machine-readable facts (the offending field, the limit...). */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The resource does not exist in the actor's organisation (or in any). */
export class NotFound extends DomainError {
  readonly kind = 'not_found' as const;
  constructor(resource: NotFoundResource, id: string) {
    super(`${resource}_not_found`, `${capitalise(resource)} ${JSON.stringify(id)} not found`, { resource, id });
  }
}

/** A uniqueness rule or a concurrent change refused the write. */
export class Conflict extends DomainError {
  readonly kind = 'conflict' as const;
}

/** The input breaks a rule; `field` names the offending input when known. */
export class Invalid extends DomainError {
  readonly kind = 'invalid' as const;
  constructor(code: ErrorCode, message: string, readonly field?: string, details: Record<string, unknown> = {}) {
    super(code, message, field ? { field, ...details } : details);
  }
}

export class Forbidden extends DomainError {
  readonly kind = 'forbidden' as const;
}

export class Unauthenticated extends DomainError {
  readonly kind = 'unauthenticated' as const;
}

export class RateLimited extends DomainError {
  readonly kind = 'rate_limited' as const;
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', `Too many failed attempts; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
  }
}

/** A dependency (the database, Microsoft Graph) is away; the request may be retried. */
export class Unavailable extends DomainError {
  readonly kind = 'unavailable' as const;
}

/** How long a client should wait before retrying after this error, the one rule every edge's Retry-After follows; undefined: no retry advised. */
export function retryAfterSeconds(e: DomainError): number | undefined {
  if (e instanceof RateLimited) return e.retryAfterSeconds;
  if (e.kind !== 'unavailable') return undefined;
  const told = e.details.retryAfterSeconds;
  return typeof told === 'number' && told > 0 ? Math.ceil(told) : UNAVAILABLE_RETRY_SECONDS;
}

/** Retry-After of an unavailable dependency that gave no time of its own. */
const UNAVAILABLE_RETRY_SECONDS = 5;

export function assertUnreachable(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, ' ');
}
