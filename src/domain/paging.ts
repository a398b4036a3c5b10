import { Invalid } from './errors.js';

/**
 * A page size from the caller: absent → `fallback`; not a whole number →
 * Invalid (a NaN from a bad query string must not reach SQL); else clamped.
 */
export function pageSize(value: unknown, fallback: number, min: number, max: number, field = 'first'): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new Invalid('invalid_page_size', `${field} must be a whole number`, field);
  return Math.min(Math.max(value, min), max);
}
