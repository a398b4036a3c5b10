// The SCIM query parameters (RFC 7644 §3.4.2): filter, sort, paging and
// projection, from the URL (GET) or a SearchRequest body (POST .search).
import type { ResourceQuery } from '../domain/query/filter-ast.js';
import { ScimProtocolError } from './errors.js';
import { parseAttrPath, parseFilter } from './filter.js';
import { parseAttributeList } from './presenters.js';
import { DEFAULT_COUNT, MAX_RESULTS, SEARCH_REQUEST_URN, isObject } from './schemas.js';
import type { Call } from './transport.js';

/** Where the list parameters come from: the URL (GET) or a SearchRequest body (POST .search). */
export interface Params {
  /** A single-valued parameter by case-insensitive name. */
  string(name: string): string | undefined;
  /** `attributes` / `excludedAttributes`: a comma-separated list. */
  list(name: string): string | undefined;
}

/** The query string's parameters; a repeated attributes or excludedAttributes is the comma-joined list (as some client libraries send it). */
export function urlParams(call: Call): Params {
  return {
    string: (name) => queryString(call, name),
    list: (name) => {
      const v = parsedQuery(call).get(name.toLowerCase());
      return v === undefined ? undefined : [v].flat().join(',');
    },
  };
}

/** A SearchRequest (RFC 7644 §3.4.3) body as list parameters. */
export function searchParams(body: unknown): Params {
  if (!isObject(body)) throw new ScimProtocolError('invalidSyntax', 'The body must be a SearchRequest JSON object');
  const schemas = Object.entries(body).find(([k]) => k.toLowerCase() === 'schemas')?.[1];
  if (!Array.isArray(schemas) || !schemas.some((u) => typeof u === 'string' && u.toLowerCase() === SEARCH_REQUEST_URN.toLowerCase())) {
    throw new ScimProtocolError('invalidSyntax', `schemas must include ${SEARCH_REQUEST_URN}`);
  }
  const fields = new Map(Object.entries(body).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    string(name) {
      const v = fields.get(name.toLowerCase());
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'number' && Number.isInteger(v)) return String(v);
      if (typeof v !== 'string') throw new ScimProtocolError('invalidValue', `${name} must be a ${/index|count/i.test(name) ? 'number' : 'string'}`);
      return v;
    },
    list(name) {
      const v = fields.get(name.toLowerCase());
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string') return v;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
      throw new ScimProtocolError('invalidValue', `${name} must be a list of attribute names`);
    },
  };
}

/** The query string by lower-cased name, read once per request; a repeated name keeps every value. */
function parsedQuery(call: Call): Map<string, string | string[]> {
  if (!call.query) {
    const params = new Map<string, string | string[]>();
    for (const [k, v] of new URLSearchParams(call.search)) {
      const key = k.toLowerCase();
      const had = params.get(key);
      params.set(key, had === undefined ? v : [had, v].flat());
    }
    call.query = params;
  }
  return call.query;
}

/** A query parameter by case-insensitive name; given twice (in any case) is invalid. */
function queryString(call: Call, name: string): string | undefined {
  const v = parsedQuery(call).get(name.toLowerCase());
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ScimProtocolError('invalidValue', `The query parameter ${name} must be given once`);
  return v;
}

function intParam(params: Params, name: string): number | undefined {
  const v = params.string(name);
  if (v === undefined || v.trim() === '') return undefined;
  if (!/^-?\d{1,9}$/.test(v.trim())) throw new ScimProtocolError('invalidValue', `${name} must be an integer`);
  return Number(v);
}

/** Filter, sort and page of a list request. */
export function listQuery(params: Params): ResourceQuery & { startIndex: number } {
  const filterText = params.string('filter');
  const sortBy = params.string('sortBy');
  const sortOrder = params.string('sortOrder');
  if (sortOrder !== undefined && !/^(ascending|descending)$/i.test(sortOrder)) throw new ScimProtocolError('invalidValue', 'sortOrder must be ascending or descending');
  // RFC 7644 §3.4.2.4: startIndex < 1 is 1, a negative count is 0.
  const startIndex = Math.max(intParam(params, 'startIndex') ?? 1, 1);
  const count = Math.min(Math.max(intParam(params, 'count') ?? DEFAULT_COUNT, 0), MAX_RESULTS);
  return {
    filter: filterText !== undefined && filterText.trim() !== '' ? parseFilter(filterText) : undefined,
    sort: sortBy ? { path: parseAttrPath(sortBy), descending: /^descending$/i.test(sortOrder ?? '') } : undefined,
    startIndex,
    count,
  };
}

/** `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5). */
export function projection(params: Params) {
  return { attributes: parseAttributeList(params.list('attributes')), excluded: parseAttributeList(params.list('excludedAttributes')) };
}
