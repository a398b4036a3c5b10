// RFC 7644 §3.4.2.2 filter grammar → AST (compiled to SQL by the domain), and
// the PATCH path grammar (§3.5.2). A small recursive-descent parser: no
// library on npm parses both and tolerates Entra's
// `emails[type eq "work"].value eq "x"` form, which is not in the ABNF.
// Precedence: not > and > or; keywords and attribute names are case-insensitive.
import { ScimProtocolError } from './errors.js';
import type { AttrPath, CompareOp, FilterNode, FilterValue } from '../domain/query/filter-ast.js';

const COMPARE_OPS = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 32;
const NAME_RE = /^[A-Za-z$][\w$-]*$/;

type Token = { kind: '(' | ')' | '[' | ']'; pos: number } | { kind: 'string'; value: string; pos: number } | { kind: 'word'; value: string; pos: number };

function fail(code: 'invalid_filter' | 'invalid_path', message: string): ScimProtocolError {
  return new ScimProtocolError(code === 'invalid_filter' ? 'invalidFilter' : 'invalidPath', message);
}

function tokenize(text: string, code: 'invalid_filter' | 'invalid_path'): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ kind: c, pos: i });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw fail(code, `Unterminated string starting at position ${i + 1}`);
      let value: unknown;
      try {
        value = JSON.parse(text.slice(i, j + 1));
      } catch {
        throw fail(code, `Invalid string literal at position ${i + 1}`);
      }
      tokens.push({ kind: 'string', value: value as string, pos: i });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !' \t\n\r()[]"'.includes(text[j]!)) j++;
      tokens.push({ kind: 'word', value: text.slice(i, j), pos: i });
      i = j;
    }
  }
  return tokens;
}

/** Parses `urn:...:attr.sub`, `attr.sub` or `attr`. */
export function parseAttrPath(text: string, code: 'invalid_filter' | 'invalid_path' = 'invalid_filter'): AttrPath {
  let uri: string | undefined;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const last = text.lastIndexOf(':');
    uri = text.slice(0, last);
    rest = text.slice(last + 1);
    if (!/^urn:[\w.:-]+$/i.test(uri)) throw fail(code, `Invalid schema URI in "${text}"`);
  }
  const parts = rest.split('.');
  if (parts.length > 2 || !parts.every((p) => NAME_RE.test(p))) throw fail(code, `Invalid attribute path "${text}"`);
  return parts[1] === undefined ? { uri, attr: parts[0]! } : { uri, attr: parts[0]!, sub: parts[1] };
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  parse(): FilterNode {
    if (this.tokens.length === 0) throw fail('invalid_filter', 'The filter is empty');
    const node = this.or();
    const t = this.tokens[this.i];
    if (t) throw fail('invalid_filter', `Unexpected ${describe(t)} at position ${t.pos + 1}`);
    return node;
  }

  private peekWord(): string | undefined {
    const t = this.tokens[this.i];
    return t?.kind === 'word' ? t.value.toLowerCase() : undefined;
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw fail('invalid_filter', `The filter nests deeper than ${MAX_DEPTH} levels`);
  }

  private or(): FilterNode {
    this.enter();
    let left = this.and();
    while (this.peekWord() === 'or') {
      this.i++;
      left = { type: 'or', left, right: this.and() };
    }
    this.depth--;
    return left;
  }

  private and(): FilterNode {
    let left = this.unary();
    while (this.peekWord() === 'and') {
      this.i++;
      left = { type: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): FilterNode {
    const t = this.tokens[this.i];
    if (!t) throw fail('invalid_filter', 'The filter ends too early');
    if (t.kind === 'word' && t.value.toLowerCase() === 'not' && this.tokens[this.i + 1]?.kind === '(') {
      this.i++;
      return { type: 'not', filter: this.group() };
    }
    if (t.kind === '(') return this.group();
    if (t.kind !== 'word') throw fail('invalid_filter', `Unexpected ${describe(t)} at position ${t.pos + 1}`);
    return this.attrExp();
  }

  private group(): FilterNode {
    this.expect('(');
    const node = this.or();
    this.expect(')');
    return node;
  }

  private expect(kind: '(' | ')' | ']'): void {
    const t = this.tokens[this.i];
    if (t?.kind !== kind) throw fail('invalid_filter', `Expected "${kind}" ${t ? `at position ${t.pos + 1}` : 'at the end'}`);
    this.i++;
  }

  /** attrPath pr | attrPath op value | attrPath "[" filter "]" ["." sub op value] */
  private attrExp(): FilterNode {
    const t = this.tokens[this.i++] as { kind: 'word'; value: string; pos: number };
    const path = parseAttrPath(t.value);
    if (this.tokens[this.i]?.kind === '[') {
      this.i++;
      this.enter();
      const inner = this.or();
      this.depth--;
      this.expect(']');
      const next = this.tokens[this.i];
      // Entra: emails[type eq "work"].value eq "x" — an element matching both.
      if (next?.kind === 'word' && next.value.startsWith('.')) {
        this.i++;
        const sub = next.value.slice(1);
        if (!NAME_RE.test(sub)) throw fail('invalid_filter', `Invalid sub-attribute "${sub}"`);
        const cond = this.comparison({ attr: sub });
        return { type: 'valuePath', path, filter: { type: 'and', left: inner, right: cond } };
      }
      return { type: 'valuePath', path, filter: inner };
    }
    return this.comparison(path);
  }

  private comparison(path: AttrPath): FilterNode {
    const opTok = this.tokens[this.i];
    const op = this.peekWord();
    if (!op) throw fail('invalid_filter', `Expected an operator after "${render(path)}"${opTok ? ` at position ${opTok.pos + 1}` : ''}`);
    this.i++;
    if (op === 'pr') return { type: 'present', path };
    if (!COMPARE_OPS.has(op)) throw fail('invalid_filter', `Unknown operator "${op}"`);
    return { type: 'compare', path, op: op as CompareOp, value: this.value() };
  }

  private value(): FilterValue {
    const t = this.tokens[this.i++];
    if (!t) throw fail('invalid_filter', 'A comparison needs a value');
    if (t.kind === 'string') return t.value;
    if (t.kind === 'word') {
      const w = t.value.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
      if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(t.value)) return Number(t.value);
    }
    throw fail('invalid_filter', `Invalid value ${describe(t)} at position ${t.pos + 1}: strings are quoted`);
  }
}

function describe(t: Token): string {
  return t.kind === 'word' ? `"${t.value}"` : t.kind === 'string' ? `string ${JSON.stringify(t.value)}` : `"${t.kind}"`;
}

function render(p: AttrPath): string {
  return `${p.uri ? p.uri + ':' : ''}${p.attr}${p.sub ? '.' + p.sub : ''}`;
}

export function parseFilter(text: string): FilterNode {
  if (text.length > MAX_FILTER_LENGTH) throw fail('invalid_filter', `The filter is longer than ${MAX_FILTER_LENGTH} characters`);
  return new Parser(tokenize(text, 'invalid_filter'), text).parse();
}

/** A PATCH path: `attr`, `attr.sub`, `urn:…:attr`, `attr[filter]`, `attr[filter].sub`. */
export interface PatchPath {
  readonly uri?: string;
  readonly attr: string;
  readonly sub?: string;
  readonly filter?: FilterNode;
}

export function parsePatchPath(text: string): PatchPath {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_FILTER_LENGTH) throw fail('invalid_path', 'The path must be a non-empty string');
  const open = text.indexOf('[');
  if (open < 0) return parseAttrPath(text.trim(), 'invalid_path');
  const close = text.lastIndexOf(']');
  if (close < open) throw fail('invalid_path', `Unbalanced "[" in path "${text}"`);
  const base = parseAttrPath(text.slice(0, open).trim(), 'invalid_path');
  if (base.sub) throw fail('invalid_path', `A value filter applies to a multi-valued attribute, not "${text.slice(0, open)}"`);
  let filter: FilterNode;
  try {
    filter = parseFilter(text.slice(open + 1, close));
  } catch (e) {
    throw fail('invalid_path', `Invalid filter in path "${text}": ${(e as Error).message}`);
  }
  const after = text.slice(close + 1).trim();
  if (after === '') return { ...base, filter };
  if (!after.startsWith('.') || !NAME_RE.test(after.slice(1))) throw fail('invalid_path', `Invalid sub-attribute after "]" in "${text}"`);
  return { ...base, filter, sub: after.slice(1) };
}
