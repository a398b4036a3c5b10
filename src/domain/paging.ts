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

/**
 * The one shape of a page of any list the domain hands out: the items, the
 * cursor of each (the last one is `after` for the next page), and whether more
 * follow. Lists that count their matches add `totalCount`.
 */
export interface Page<T> {
  readonly items: T[];
  /** Cursor of each item, in order. */
  readonly cursors: string[];
  readonly hasNextPage: boolean;
}

/**
 * A page of a list that can count its matches. Counting every match costs a
 * scan of all of them (at 100,000 members, far more than the page): callers
 * that do not show the number (a GraphQL query without `totalCount`) pass
 * `count: false` and get no `totalCount`; the default counts.
 */
export interface CountedPage<T> extends Page<T> {
  readonly totalCount?: number;
}

/** Whether a list counts its matches (CountedPage): default true. */
export interface CountOption {
  readonly count?: boolean;
}

/** Cut a `first + 1` read to a page of `first`, with the cursor of each item. */
export function pageOf<R, T>(rows: readonly R[], first: number, item: (r: R) => T, cursor: (r: R) => string): Page<T> {
  const page = rows.slice(0, first);
  return { items: page.map(item), cursors: page.map(cursor), hasNextPage: rows.length > first };
}

/** A cursor that is a plain id (keyset on id): opaque to clients. */
export function idCursor(id: string): string {
  return Buffer.from(id).toString('base64url');
}

/** The id of an idCursor; anything else is invalid_cursor. */
export function fromIdCursor(cursor: string | null | undefined, field = 'after'): string | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new Invalid('invalid_cursor', 'The cursor is not one this API handed out', field);
  return id;
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
