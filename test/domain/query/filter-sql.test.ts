// SCIM filters compiled to SQL (no database): the attribute maps of members
// and groups, every value a numbered parameter, none inlined, and a refusal
// (Invalid invalid_filter / invalid_sort) for what cannot be compiled.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Invalid } from '../../../src/domain/errors.js';
import type { FilterNode, FilterValue } from '../../../src/domain/query/filter-ast.js';
import { compileFilter, compileSort, leafSql } from '../../../src/domain/query/filter-sql.js';
import { SqlParams } from '../../../src/domain/sql-params.js';
import { memberAttributes } from '../../../src/domain/member/member.query.js';
import { groupAttributes } from '../../../src/domain/group/group.query.js';

function compile(ast: FilterNode, map = memberAttributes): { sql: string; values: unknown[] } {
  const p = new SqlParams();
  p.add('org'); // as a query does: the organisation first
  const sql = compileFilter(ast, map, p);
  return { sql, values: p.values };
}

const cmp = (attr: string, op: string, value: FilterValue, sub?: string): FilterNode => ({ type: 'compare', path: sub ? { attr, sub } : { attr }, op: op as 'eq', value });

describe('filter to SQL', () => {
  it.each<[FilterNode, string, unknown[]]>([
    [cmp('userName', 'eq', 'Alice@X'), '(lower(m.user_name) = lower($2))', ['Alice@X']],
    [cmp('externalId', 'eq', 'E1'), '(m.external_id = $2)', ['E1']],
    [cmp('active', 'eq', 'True'), '(m.active = $2)', [true]],
    [cmp('name', 'sw', 'Al', 'givenName'), 'starts_with(lower(m.given_name), lower($2))', ['Al']],
    [cmp('title', 'ew', 'er'), '(right(lower(m.title), char_length($2)) = lower($2))', ['er']],
    [cmp('id', 'eq', 'not-a-uuid'), '(false and m.id is null)', []],
    [cmp('meta', 'gt', '2020-01-01T00:00:00Z', 'lastModified'), '(m.updated_at > $2::timestamptz)', ['2020-01-01T00:00:00Z']],
    [
      { type: 'valuePath', path: { attr: 'emails' }, filter: cmp('type', 'eq', 'work') },
      `exists (select 1 from jsonb_array_elements(m.emails) e where (lower((e.value->>'type')) = lower($2)))`,
      ['work'],
    ],
    [cmp('metadata', 'eq', 'Berlin', 'city'), '(lower((m.metadata->>$2)) = lower($3))', ['city', 'Berlin']],
  ])('%j', (ast, sql, values) => {
    const out = compile(ast);
    expect(out.sql).toBe(sql);
    expect(out.values.slice(1)).toEqual(values);
  });

  it('compiles group filters on members as an EXISTS over the membership', () => {
    expect(compile(cmp('members', 'eq', '00000000-0000-4000-8000-000000000001'), groupAttributes).sql).toBe(
      'exists (select 1 from group_members gm join members mm on mm.organization_id = gm.organization_id and mm.id = gm.member_id where gm.organization_id = g.organization_id and gm.group_id = g.id and (gm.member_id = $2::uuid))',
    );
  });

  it.each<FilterNode>([cmp('nosuch', 'eq', 'x'), cmp('active', 'co', 'x'), cmp('meta', 'co', 'x', 'created'), cmp('name', 'eq', 'x'), cmp('userName', 'gt', null)])('refuses %j', (ast) => {
    expect(() => compile(ast)).toThrow(expect.objectContaining({ code: 'invalid_filter' }));
  });

  it('sorts by a leaf, a multi-valued attribute\'s first value, and refuses what has no order', () => {
    const p = new SqlParams();
    expect(leafSql(compileSort({ attr: 'userName' }, memberAttributes), p)).toBe('m.user_name');
    expect(leafSql(compileSort({ attr: 'emails' }, memberAttributes), p)).toBe(`(m.emails->0->>'value')`);
    expect(() => compileSort({ attr: 'addresses' }, memberAttributes)).toThrow(expect.objectContaining({ code: 'invalid_sort' }));
  });

  const attr = fc.constantFrom('userName', 'externalId', 'active', 'displayName', 'title', 'id', 'emails', 'phoneNumbers', 'addresses', 'groups', 'name', 'meta', 'metadata', 'nosuch');
  const sub = fc.option(fc.constantFrom('value', 'type', 'primary', 'givenName', 'lastModified', 'created', 'city', 'display'), { nil: undefined });
  const value = fc.oneof(fc.string({ maxLength: 10 }), fc.boolean(), fc.constant(null), fc.integer(), fc.constant("'; drop table members; --"), fc.uuid());
  const leaf: fc.Arbitrary<FilterNode> = fc.oneof(
    fc.record({ type: fc.constant('compare' as const), path: fc.record({ attr, sub }), op: fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le' as const), value }),
    fc.record({ type: fc.constant('present' as const), path: fc.record({ attr, sub }) }),
  );
  const { node } = fc.letrec<{ node: FilterNode }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.record({ type: fc.constantFrom('and' as const, 'or' as const), left: tie('node'), right: tie('node') }),
      fc.record({ type: fc.constant('not' as const), filter: tie('node') }),
      fc.record({ type: fc.constant('valuePath' as const), path: fc.record({ attr: fc.constantFrom('emails', 'groups', 'addresses', 'userName') }), filter: leaf }),
    ),
  }));

  it('numbers every value as a parameter it uses, and inlines none', () => {
    fc.assert(
      fc.property(node, (ast) => {
        let out: { sql: string; values: unknown[] };
        try {
          out = compile(ast);
        } catch (e) {
          expect(e).toBeInstanceOf(Invalid);
          return;
        }
        const used = new Set([...out.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
        // Every parameter but the organisation's is used, and nothing beyond them.
        for (let i = 2; i <= out.values.length; i++) expect(used.has(i)).toBe(true);
        for (const n of used) expect(n).toBeLessThanOrEqual(out.values.length);
        expect(out.sql).not.toContain('drop table');
      }),
      { numRuns: 500 },
    );
  });
});
