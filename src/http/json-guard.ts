// Hostile JSON, refused where a body is read, on every edge (SCIM's own body
// reader, Express's JSON parser for GraphQL and the console), before any
// handler sees it: nesting deeper than MAX_JSON_DEPTH (a recursive walk of
// 100,000 levels overflowed the stack: a 500) and strings that are not
// well-formed Unicode (a lone surrogate escape such as "\ud800", which
// PostgreSQL's jsonb refuses when the audit event is written: a 500 after the
// request had been accepted).
import type { RequestHandler } from 'express';
import express from 'express';

/** Deepest nesting of arrays and objects accepted (Entra's deepest body is 4). */
export const MAX_JSON_DEPTH = 64;

/** Why a JSON text or value is refused. */
export class HostileJson extends Error {
  /** For Express's body-parser: the status and type of the error it raises. */
  readonly status = 400;
  readonly type = 'entity.hostile';
  constructor(message: string) {
    super(message);
    this.name = 'HostileJson';
  }
}

/**
 * Whether the JSON text nests arrays and objects deeper than `max`. Reads the
 * text (or its UTF-8 bytes: brackets and quotes are ASCII, never part of a
 * multi-byte sequence) once, skipping strings.
 */
export function nestsDeeperThan(text: string | Uint8Array, max: number = MAX_JSON_DEPTH): boolean {
  const at = typeof text === 'string' ? (i: number) => text.charCodeAt(i) : (i: number) => text[i]!;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = at(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` holds a lone surrogate (is not well-formed UTF-16, so not Unicode text). */
export function isIllFormed(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** Throws HostileJson when a string or a key anywhere in `value` is not well-formed Unicode (or it nests too deep). */
export function assertWellFormed(value: unknown, depth = 0): void {
  if (typeof value === 'string') {
    if (isIllFormed(value)) throw new HostileJson('The request body holds a string that is not well-formed Unicode (a lone surrogate)');
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (depth >= MAX_JSON_DEPTH) throw new HostileJson(`The request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (const v of value) assertWellFormed(v, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (isIllFormed(k)) throw new HostileJson('The request body holds a name that is not well-formed Unicode (a lone surrogate)');
    assertWellFormed(v, depth + 1);
  }
}

/** JSON.parse, refusing (HostileJson) what nests too deep or is not well-formed Unicode; SyntaxError for what is not JSON. */
export function parseJsonGuarded(text: string): unknown {
  if (nestsDeeperThan(text)) throw new HostileJson(`The request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  const value: unknown = JSON.parse(text);
  assertWellFormed(value);
  return value;
}

/**
 * express.json with the same guards: too deep is refused before parsing
 * (`verify`), ill-formed strings right after; both as a 400 error of type
 * `entity.hostile` (an edge's error handler answers it in its protocol).
 */
export function guardedJsonParser(limit: number): RequestHandler[] {
  const parse = express.json({
    limit,
    verify: (_req, _res, buf) => {
      if (nestsDeeperThan(buf)) throw new HostileJson(`The request body nests deeper than ${MAX_JSON_DEPTH} levels`);
    },
  });
  const check: RequestHandler = (req, _res, next) => {
    try {
      assertWellFormed(req.body);
      next();
    } catch (e) {
      next(e);
    }
  };
  return [parse, check];
}
