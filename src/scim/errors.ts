// DomainError → SCIM error body (RFC 7644 §3.12): `status` is a string,
// `scimType` only where the RFC defines one, `detail` is what an admin reads
// in Entra's provisioning log.
import { assertUnreachable, DomainError } from '../domain/errors.js';
import { ERROR_URN } from './schemas.js';

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

/** The scimType of a 400 from the Invalid code. */
function invalidType(code: string): ScimType {
  switch (code) {
    case 'invalid_filter':
    case 'invalid_sort':
      return 'invalidFilter';
    case 'invalid_path':
      return 'invalidPath';
    case 'no_target':
      return 'noTarget';
    case 'invalid_syntax':
      return 'invalidSyntax';
    case 'mutability':
      return 'mutability';
    case 'too_many_members':
      return 'tooMany';
    default:
      return 'invalidValue';
  }
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
    case 'rate_limited': {
      const r = scimError(429, e.message);
      return { ...r, headers: { 'Retry-After': String(e.details.retryAfterSeconds ?? 60) } };
    }
    case 'unavailable':
      return { ...scimError(503, e.message), headers: { 'Retry-After': '5' } };
    default:
      return assertUnreachable(kind);
  }
}
