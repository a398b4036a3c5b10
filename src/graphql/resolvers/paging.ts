// Page sizes of the edge's own connections (the cursors are the domain's).
import { Invalid } from '../../domain/errors.js';

/** Largest `first` any connection accepts. */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

export function pageSize(first: number | null | undefined, max = MAX_PAGE_SIZE, fallback = DEFAULT_PAGE_SIZE): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Invalid('invalid_page_size', `first must be between 0 and ${max}`, 'first');
  return n;
}
