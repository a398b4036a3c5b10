// Page sizes and cursors of the edge's own connections.
import { Invalid } from '../../domain/errors.js';
import { isUuid } from '../../domain/ids.js';

/** Largest `first` any connection accepts. */
export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

export function pageSize(first: number | null | undefined, max = MAX_PAGE_SIZE, fallback = DEFAULT_PAGE_SIZE): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Invalid('invalid_page_size', `first must be between 0 and ${max}`, 'first');
  return n;
}

/** Cursors that are plain ids (keyset on id): opaque to clients, checked here. */
export function idCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

export function fromIdCursor(cursor: string | null | undefined, field = 'after'): string | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new Invalid('invalid_cursor', 'The cursor is not one this API handed out', field);
  return id;
}
