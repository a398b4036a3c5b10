// The SCIM edge's pure parsers, without a server or a database: the filter
// grammar (RFC 7644 §3.4.2.2), PATCH paths (§3.5.2), PatchOp and resource
// bodies, and the list query parameters (§3.4.2). Table tests for the cases
// that matter, fast-check for the rest: generated filters survive a
// print-and-parse round trip, and no input makes a parser fail with anything
// but the protocol's own refusal.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttrPath, FilterNode, FilterValue } from '../../src/domain/query/filter-ast.js';
import { ScimProtocolError } from '../../src/scim/errors.js';
import { parseFilter, parsePatchPath } from '../../src/scim/filter.js';
import { parsePatchBody } from '../../src/scim/patch.js';
import { listQuery, projection, searchParams } from '../../src/scim/query.js';
import { DEFAULT_COUNT, groupInputFromBody, MAX_RESULTS, memberInputFromBody, SEARCH_REQUEST_URN } from '../../src/scim/schemas.js';

/** Either a value or a SCIM protocol refusal: never another error. */
function refusesOrReturns(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ScimProtocolError)) throw e;
    expect(e.status).toBe(400);
  }
}

const cmp = (attr: string, op: string, value: FilterValue, more: Partial<AttrPath> = {}): FilterNode => ({ type: 'compare', path: { attr, ...more }, op: op as 'eq', value });

describe('filter grammar', () => {
  it.each<[string, FilterNode]>([
    ['userName eq "alice"', cmp('userName', 'eq', 'alice')],
    ['USERNAME EQ "a" AND active Eq true', { type: 'and', left: cmp('USERNAME', 'eq', 'a'), right: cmp('active', 'eq', true) }],
    ['a eq 1 or b eq 2 and c eq 3', { type: 'or', left: cmp('a', 'eq', 1), right: { type: 'and', left: cmp('b', 'eq', 2), right: cmp('c', 'eq', 3) } }],
    ['not (title pr)', { type: 'not', filter: { type: 'present', path: { attr: 'title' } } }],
    ['name.givenName sw "Al"', cmp('name', 'sw', 'Al', { sub: 'givenName' })],
    ['manager eq null', cmp('manager', 'eq', null)],
    ['x eq "tab\\tquote\\"back\\\\"', cmp('x', 'eq', 'tab\tquote"back\\')],
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"',
      cmp('employeeNumber', 'eq', '7', { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User' }),
    ],
    ['emails[type eq "work" and value co "@"]', { type: 'valuePath', path: { attr: 'emails' }, filter: { type: 'and', left: cmp('type', 'eq', 'work'), right: cmp('value', 'co', '@') } }],
    // Entra's form, outside the ABNF: an element matching both.
    ['emails[type eq "work"].value eq "a@b"', { type: 'valuePath', path: { attr: 'emails' }, filter: { type: 'and', left: cmp('type', 'eq', 'work'), right: cmp('value', 'eq', 'a@b') } }],
  ])('%s', (text, ast) => {
    expect(parseFilter(text)).toEqual(ast);
  });

  it.each([
    ['', 'invalidFilter'],
    ['userName', 'invalidFilter'],
    ['userName eq', 'invalidFilter'],
    ['userName eq alice', 'invalidFilter'],
    ['userName like "a"', 'invalidFilter'],
    ['(userName eq "a"', 'invalidFilter'],
    ['userName eq "a")', 'invalidFilter'],
    ['userName eq "unterminated', 'invalidFilter'],
    ['a.b.c eq "x"', 'invalidFilter'],
    ['emails[type eq "work"', 'invalidFilter'],
    [`${'('.repeat(40)}a pr${')'.repeat(40)}`, 'invalidFilter'],
    ['a eq "x" '.repeat(600), 'invalidFilter'],
  ])('refuses %j as %s', (text, scimType) => {
    expect(() => parseFilter(text)).toThrow(expect.objectContaining({ scimType, status: 400 }));
  });

  const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,8}$/).filter((n) => !['and', 'or', 'not', 'pr', 'eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'true', 'false', 'null'].includes(n.toLowerCase()));
  const path = fc.record({ attr: name, sub: fc.option(name, { nil: undefined }) }).map((p) => (p.sub === undefined ? { attr: p.attr } : p));
  const value = fc.oneof(fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null), fc.integer({ min: -1000, max: 1000 }));
  const leaf: fc.Arbitrary<FilterNode> = fc.oneof(
    fc.record({ type: fc.constant('compare' as const), path, op: fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le' as const), value }),
    fc.record({ type: fc.constant('present' as const), path }),
  );
  const { node } = fc.letrec<{ node: FilterNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ type: fc.constantFrom('and' as const, 'or' as const), left: tie('node'), right: tie('node') }),
      fc.record({ type: fc.constant('not' as const), filter: tie('node') }),
    ),
  }));
  /** Prints a filter with full parentheses and random keyword case. */
  const print = (n: FilterNode, upper: boolean): string => {
    const kw = (k: string) => (upper ? k.toUpperCase() : k);
    const p = (a: AttrPath) => `${a.attr}${a.sub ? `.${a.sub}` : ''}`;
    switch (n.type) {
      case 'and':
      case 'or':
        return `(${print(n.left, upper)} ${kw(n.type)} ${print(n.right, !upper)})`;
      case 'not':
        return `${kw('not')} (${print(n.filter, upper)})`;
      case 'present':
        return `${p(n.path)} ${kw('pr')}`;
      case 'compare':
        return `${p(n.path)} ${kw(n.op)} ${JSON.stringify(n.value)}`;
      case 'valuePath':
        return `${p(n.path)}[${print(n.filter, upper)}]`;
    }
  };
  it('reads back every filter it could be given, in any keyword case', () => {
    fc.assert(
      fc.property(node, fc.boolean(), (ast, upper) => {
        expect(parseFilter(print(ast, upper))).toEqual(ast);
      }),
      { numRuns: 300 },
    );
  });

  it('answers any text with a filter or an invalidFilter refusal', () => {
    const piece = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom(' eq ', ' and ', ' or ', 'not ', ' pr', '(', ')', '[', ']', '"', '\\', '.', 'userName', 'emails', '"x"', 'true', 'null', '12'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (parts) => refusesOrReturns(() => parseFilter(parts.join('')))),
      { numRuns: 500 },
    );
  });
});

describe('PATCH paths', () => {
  it.each<[string, object]>([
    ['active', { attr: 'active' }],
    ['name.familyName', { attr: 'name', sub: 'familyName' }],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attr: 'manager' }],
    ['emails[type eq "work"].value', { attr: 'emails', sub: 'value', filter: cmp('type', 'eq', 'work') }],
    ['members[value eq "1"]', { attr: 'members', filter: cmp('value', 'eq', '1') }],
  ])('%s', (text, path) => {
    expect(parsePatchPath(text)).toEqual(path);
  });

  it.each(['', 'emails[type eq "work"', 'name.givenName[type eq "x"]', 'emails[type eq "work"]value', 'a.b.c', 'emails[type eq]'])('refuses %j as invalidPath', (text) => {
    expect(() => parsePatchPath(text)).toThrow(expect.objectContaining({ scimType: 'invalidPath' }));
  });

  it('answers any text with a path or an invalidPath refusal', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (text) => {
        try {
          parsePatchPath(text);
        } catch (e) {
          expect(e).toBeInstanceOf(ScimProtocolError);
          expect((e as ScimProtocolError).scimType).toBe('invalidPath');
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('bodies', () => {
  it('reads a PatchOp whatever the case of its keys and ops', () => {
    expect(parsePatchBody({ operations: [{ OP: 'Replace', Path: 'active', VALUE: 'False' }] })).toEqual([
      { op: 'replace', path: { attr: 'active' }, pathText: 'active', value: 'False' },
    ]);
  });

  it.each<[unknown, string]>([
    [null, 'invalidSyntax'],
    [{ Operations: [] }, 'invalidSyntax'],
    [{ Operations: [{ op: 'move', path: 'a' }] }, 'invalidSyntax'],
    [{ Operations: [{ op: 'add', path: 'a' }] }, 'invalidValue'],
    [{ Operations: [{ op: 'remove' }] }, 'noTarget'],
    [{ Operations: [{ op: 'add', path: 7, value: 1 }] }, 'invalidPath'],
  ])('refuses PatchOp %j as %s', (body, scimType) => {
    expect(() => parsePatchBody(body)).toThrow(expect.objectContaining({ scimType }));
  });

  it('reads a User body with its keys in any case, dotted or under their URN, to the same member', () => {
    const plain = memberInputFromBody({ userName: 'a@b.c', name: { givenName: 'A' }, active: 'False', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'D' } });
    const odd = memberInputFromBody({ USERNAME: 'a@b.c', 'name.GIVENNAME': 'A', Active: false, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department': 'D' });
    expect(odd).toEqual(plain);
    expect(plain).toMatchObject({ userName: 'a@b.c', active: false, name: { givenName: 'A' }, enterprise: { department: 'D' } });
  });

  it('answers any JSON as a User or a Group body with an input or a protocol refusal', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.constantFrom('userName', 'displayName', 'emails', 'members', 'name', 'active', 'externalId'), (v, key) => {
        refusesOrReturns(() => memberInputFromBody(v));
        refusesOrReturns(() => memberInputFromBody({ userName: 'u', [key]: v }));
        refusesOrReturns(() => groupInputFromBody({ displayName: 'g', [key]: v }));
        refusesOrReturns(() => parsePatchBody({ Operations: [{ op: 'add', path: key, value: v }] }));
      }),
      { numRuns: 300 },
    );
  });
});

describe('query parameters', () => {
  const search = (fields: Record<string, unknown> = {}) => searchParams({ schemas: [SEARCH_REQUEST_URN], ...fields });

  it.each<[Record<string, unknown>, { startIndex: number; count: number }]>([
    [{}, { startIndex: 1, count: DEFAULT_COUNT }],
    [{ startIndex: 0, count: -5 }, { startIndex: 1, count: 0 }],
    [{ startIndex: '7', count: '20' }, { startIndex: 7, count: 20 }],
    [{ count: 5000 }, { startIndex: 1, count: MAX_RESULTS }],
    [{ startIndex: ' ', count: '' }, { startIndex: 1, count: DEFAULT_COUNT }],
  ])('pages %j as %j (RFC 7644 §3.4.2.4)', (fields, page) => {
    expect(listQuery(search(fields))).toMatchObject(page);
  });

  it('reads filter, sortBy and sortOrder in any case', () => {
    const q = listQuery(search({ FILTER: 'userName eq "a"', sortby: 'name.givenName', SortOrder: 'DESCENDING' }));
    expect(q.filter).toEqual(cmp('userName', 'eq', 'a'));
    expect(q.sort).toMatchObject({ path: { attr: 'name', sub: 'givenName' }, descending: true });
    expect(listQuery(search({ filter: '  ' })).filter).toBeUndefined();
  });

  it.each<[unknown, string]>([
    [null, 'invalidSyntax'],
    [[], 'invalidSyntax'],
    [{ count: 1 }, 'invalidSyntax'],
    [{ schemas: ['urn:example'], count: 1 }, 'invalidSyntax'],
    [{ schemas: [SEARCH_REQUEST_URN], sortOrder: 'up' }, 'invalidValue'],
    [{ schemas: [SEARCH_REQUEST_URN], count: '1.5' }, 'invalidValue'],
    [{ schemas: [SEARCH_REQUEST_URN], count: 1.5 }, 'invalidValue'],
    [{ schemas: [SEARCH_REQUEST_URN], startIndex: true }, 'invalidValue'],
    [{ schemas: [SEARCH_REQUEST_URN], filter: 'userName eq' }, 'invalidFilter'],
  ])('refuses the SearchRequest %j as %s', (body, scimType) => {
    expect(() => listQuery(searchParams(body))).toThrow(expect.objectContaining({ scimType }));
  });

  it('refuses attributes that are not a list of names', () => {
    expect(() => projection(search({ attributes: [1] }))).toThrow(expect.objectContaining({ scimType: 'invalidValue' }));
    expect(() => projection(search({ excludedAttributes: { a: 1 } }))).toThrow(expect.objectContaining({ scimType: 'invalidValue' }));
  });

  it('clamps any integer page to 1.. and 0..MAX_RESULTS', () => {
    fc.assert(
      fc.property(fc.integer({ min: -999_999_999, max: 999_999_999 }), fc.integer({ min: -999_999_999, max: 999_999_999 }), (startIndex, count) => {
        expect(listQuery(search({ startIndex, count }))).toMatchObject({ startIndex: Math.max(startIndex, 1), count: Math.min(Math.max(count, 0), MAX_RESULTS) });
      }),
      { numRuns: 300 },
    );
  });

  it('answers any SearchRequest fields with a query or a protocol refusal', () => {
    fc.assert(
      fc.property(fc.constantFrom('filter', 'sortBy', 'sortOrder', 'startIndex', 'count', 'attributes', 'excludedAttributes'), fc.jsonValue({ maxDepth: 2 }), (field, v) => {
        refusesOrReturns(() => listQuery(search({ [field]: v })));
        refusesOrReturns(() => projection(search({ [field]: v })));
      }),
      { numRuns: 500 },
    );
  });
});
