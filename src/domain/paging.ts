import { Invalid } from './errors.js';
import { isUuid } from './ids.js';

/**
 * A page size from the caller: absent → `fallback`; not a whole number →
 * Invalid (a NaN from a bad query string must not reach SQL); else clamped.
 */
export function pageSize(value: unknown, fallback: number, min: number, max: number, field = 'first'): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new Invalid('invalid_page_size', `${field} must be a whole number`, field);
  return Math.min(Math.max(value, min), max);
}

/** A keyset cursor: the sort key and id of the last row of a page, opaque to the caller. */
export function encodeCursor(key: string, id: string): string {
  return Buffer.from(JSON.stringify([key, id])).toString('base64url');
}

export function decodeCursor(cursor: string): { key: string; id: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && isUuid(v[1])) return { key: v[0], id: v[1] };
  } catch {
    // fall through
  }
  throw new Invalid('invalid_cursor', 'The cursor is not one this API handed out', 'after');
}
