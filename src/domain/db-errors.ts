// Constraint violations as the database reports them: by SQLSTATE and the
// name of the constraint (fields every PostgreSQL driver passes on), never by
// the wording of a message.

const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

interface SqlStateError {
  readonly code?: unknown;
  readonly constraint?: unknown;
}

function violates(e: unknown, sqlState: string, constraint: string | undefined): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, constraint: name } = e as SqlStateError;
  return code === sqlState && (constraint === undefined || name === constraint);
}

/** True when `e` is a unique violation, optionally of the named index or constraint. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  return violates(e, UNIQUE_VIOLATION, constraint);
}

/** True when `e` is a foreign-key violation (a referenced row missing), optionally of the named constraint. */
export function isForeignKeyViolation(e: unknown, constraint?: string): boolean {
  return violates(e, FOREIGN_KEY_VIOLATION, constraint);
}

/** The name of the violated constraint, when the database gave one. */
export function violatedConstraint(e: unknown): string | undefined {
  const name = typeof e === 'object' && e !== null ? (e as SqlStateError).constraint : undefined;
  return typeof name === 'string' ? name : undefined;
}
