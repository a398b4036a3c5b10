// One taxonomy of domain errors. Each carries a kind (what an edge maps to its
// protocol) and a stable snake_case code (what a client may branch on); never
// an HTTP status. Edges map kinds exhaustively with assertUnreachable.

export type DomainErrorKind = 'not_found' | 'conflict' | 'invalid' | 'forbidden' | 'unauthenticated' | 'rate_limited' | 'unavailable';

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
  constructor(
    readonly code: string,
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
  constructor(resource: string, id: string) {
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
  constructor(code: string, message: string, readonly field?: string, details: Record<string, unknown> = {}) {
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

/** A dependency (the database) is away; the request may be retried. */
export class Unavailable extends DomainError {
  readonly kind = 'unavailable' as const;
}

export function assertUnreachable(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, ' ');
}
