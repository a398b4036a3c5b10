// DomainError → SCIM error body (RFC 7644 §3.12): `status` is a string,
// `scimType` only where the RFC defines one, `detail` is what an admin reads
// in Entra's provisioning log.
import { assertUnreachable, DomainError, retryAfterSeconds, type ErrorCode } from '../domain/errors.js';

/** The SCIM Error message schema (RFC 7644 §3.12). */
export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType = 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

export interface ScimErrorBody {
  readonly schemas: [typeof ERROR_URN];
  readonly status: string;
  readonly scimType?: ScimType;
  readonly detail: string;
}

export interface ScimErrorResponse {
  readonly status: number;
  readonly body: ScimErrorBody;
  readonly headers?: Record<string, string>;
}

export function scimError(status: number, detail: string, scimType?: ScimType): ScimErrorResponse {
  return { status, body: { schemas: [ERROR_URN], status: String(status), ...(scimType ? { scimType } : {}), detail } };
}

/**
 * A request that breaks the SCIM protocol itself (an unparsable filter or
 * PATCH path, an operation with no target, a body that is no SCIM resource):
 * the edge's own refusal, with the RFC's scimType, as the SAML edge's
 * LoginRefused. The domain never sees it.
 */
export class ScimProtocolError extends Error {
  constructor(
    readonly scimType: ScimType,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'ScimProtocolError';
  }
}

/** The scimType of a 400 for a domain rule the input broke. */
function invalidType(code: ErrorCode): ScimType {
  switch (code) {
    case 'invalid_filter':
    case 'invalid_sort':
      return 'invalidFilter';
    case 'too_many_members':
      return 'tooMany';
    default:
      return 'invalidValue';
  }
}

/** The SCIM answer to a refusal (a domain error or the edge's own); undefined for anything else (a fault: 500). */
export function scimErrorOf(e: unknown): ScimErrorResponse | undefined {
  if (e instanceof ScimProtocolError) return scimError(e.status, e.message, e.scimType);
  if (e instanceof DomainError) return fromDomainError(e);
  return undefined;
}

export function fromDomainError(e: DomainError): ScimErrorResponse {
  const kind = e.kind;
  switch (kind) {
    case 'not_found':
      return scimError(404, e.message);
    case 'conflict':
      return scimError(409, e.message, 'uniqueness');
    case 'invalid':
      return scimError(400, e.message, invalidType(e.code));
    case 'forbidden':
      return scimError(403, e.message);
    case 'unauthenticated':
      return scimError(401, e.message);
    case 'rate_limited':
      return { ...scimError(429, e.message), headers: { 'Retry-After': String(retryAfterSeconds(e)) } };
    case 'unavailable':
      return { ...scimError(503, e.message), headers: { 'Retry-After': String(retryAfterSeconds(e)) } };
    default:
      return assertUnreachable(kind);
  }
}
