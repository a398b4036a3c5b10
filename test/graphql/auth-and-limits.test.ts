import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startHarness, type Harness } from './harness.js';
import { createHarnessOrgAdmin } from './admin-session.js';
import { buildGroup, buildLock, buildMember } from '../factories/index.js';
import { MAX_COST, MAX_DEPTH } from '../../src/graphql/limits.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ BODY_LIMIT_BYTES: '4096', NODE_ENV: 'production' });
});
afterAll(async () => {
  await h.close();
});

describe('GraphQL authentication', () => {
  it('answers UNAUTHENTICATED (401) without credentials, with a bad key, a revoked key or a bad cookie', async () => {
    const o = await h.org();
    const revoked = await h.t.domain.apiKeys.create(o.actor, { name: 'old', role: 'admin' });
    await h.t.domain.apiKeys.revoke(o.actor, revoked.apiKey.id);
    for (const creds of [{}, { apiKey: 'gh_key_wrong' }, { apiKey: revoked.key }, { session: 'gh_sess_nope' }]) {
      const res = await h.gql('{ members { totalCount } }', {}, creds);
      expect(res.status).toBe(401);
      expect(codes(res)).toEqual(['UNAUTHENTICATED']);
      expect(res.body.data ?? null).toBeNull();
    }
    const basic = await h.post(JSON.stringify({ query: '{ viewer { id } }' }), { authorization: 'Basic abc' });
    expect(basic.status).toBe(401);
  });

  it('gives a signed-in member its own profile, groups and access, and nothing of others', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const me = await buildMember(d, o.actor, { displayName: 'Me' });
    const other = await buildMember(d, o.actor);
    const g = await buildGroup(d, o.actor, [me.id, other.id]);
    const lock = await buildLock(d, o.actor);
    await d.shares.grant(o.actor, { groupId: g.id, lockId: lock.id });
    const { token } = await d.sessions.start(o.id, me.id);
    const k = { session: token };

    const mine = await h.gql(`{ viewer { id displayName groups { id } access { lockId grants { groupId } } } }`, {}, k);
    expect(mine.body.errors).toBeUndefined();
    expect(mine.body.data!.viewer).toEqual({ id: me.id, displayName: 'Me', groups: [{ id: g.id }], access: [{ lockId: lock.id, grants: [{ groupId: g.id }] }] });
    const self = await h.gql(`query($m: ID!, $l: ID!) { member(id: $m) { id } canAccess(memberId: $m, lockId: $l) { allowed } }`, { m: me.id, l: lock.id }, k);
    expect(self.body.data).toEqual({ member: { id: me.id }, canAccess: { allowed: true } });

    const notMine: [string, Record<string, unknown>, string][] = [
      ['query($id: ID!) { member(id: $id) { id } }', { id: other.id }, 'NOT_FOUND'],
      ['query($id: ID!) { accessOf(memberId: $id) { lockId } }', { id: other.id }, 'NOT_FOUND'],
      ['{ members { totalCount } }', {}, 'FORBIDDEN'],
      ['query($id: ID!) { group(id: $id) { id } }', { id: g.id }, 'FORBIDDEN'],
      ['{ groups { totalCount } }', {}, 'FORBIDDEN'],
      ['{ places { totalCount } }', {}, 'FORBIDDEN'],
      ['query($l: ID!) { whoCanOpen(lockId: $l) { edges { cursor } } }', { l: lock.id }, 'FORBIDDEN'],
      ['{ auditEvents { edges { cursor } } }', {}, 'FORBIDDEN'],
      ['{ accessChanges { changes { kind } } }', {}, 'FORBIDDEN'],
      ['mutation($id: ID!) { updateMember(id: $id, input: { displayName: "x" }) { id } }', { id: me.id }, 'FORBIDDEN'],
    ];
    for (const [q, v, code] of notMine) {
      const res = await h.gql(q, v, k);
      expect({ q, codes: codes(res) }).toEqual({ q, codes: [code] });
    }
    // Through its own groups a member cannot reach the other members.
    const via = await h.gql(`{ viewer { groups { members { edges { node { id } } } } } }`, {}, k);
    expect(codes(via)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(via.body)).not.toContain(other.id);
    // A deactivated member's session ends.
    await d.members.update(o.actor, me.id, { active: false });
    expect((await h.gql('{ viewer { id } }', {}, k)).status).toBe(401);
  });

  it('returns a null viewer for an API key', async () => {
    const o = await h.org();
    const res = await h.gql('{ viewer { id } }', {}, { apiKey: o.reader });
    expect(res.body).toEqual({ data: { viewer: null } });
  });
});

describe('GraphQL limits and bad input', () => {
  it(`refuses queries deeper than ${MAX_DEPTH}`, async () => {
    const o = await h.org();
    let sel = 'id';
    for (let i = 0; i < 6; i++) sel = `groups { members { edges { node { ${sel} } } } }`;
    const res = await h.gql(`{ viewer { ${sel} } }`, {}, { apiKey: o.reader });
    expect(res.status).toBe(400);
    expect(codes(res)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.body.errors![0]!.message).toMatch(/depth/i);
  });

  it(`refuses queries costing more than ${MAX_COST} before running them`, async () => {
    const o = await h.org();
    const res = await h.gql(`{ groups(first: 500) { edges { node { members(first: 500) { edges { node { id } } } } } } }`, {}, { apiKey: o.reader });
    expect(res.status).toBe(400);
    expect(res.body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: MAX_COST });
    // The same shape with small pages passes.
    const ok = await h.gql(`{ groups(first: 10) { edges { node { members(first: 10) { edges { node { id } } } } } } }`, {}, { apiKey: o.reader });
    expect(ok.status).toBe(200);
    expect(ok.body.errors).toBeUndefined();
  });

  it('serves queries over GET with a preflight header and refuses mutations over GET', async () => {
    const o = await h.org();
    const headers = { authorization: `Bearer ${o.admin}`, 'apollo-require-preflight': 'true' };
    const get = await fetch(`${h.url}?query=${encodeURIComponent('{ organization { id } }')}`, { headers });
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ data: { organization: { id: o.id } } });
    const mutation = await fetch(`${h.url}?query=${encodeURIComponent('mutation { createPlace(input: { name: "x" }) { id } }')}`, { headers });
    expect(mutation.status).toBe(405);
    const noPreflight = await fetch(`${h.url}?query=${encodeURIComponent('{ organization { id } }')}`, { headers: { authorization: `Bearer ${o.admin}` } });
    expect(noPreflight.status).toBe(400);
    expect((await h.gql('{ places { totalCount } }', {}, { apiKey: o.admin })).body.data).toEqual({ places: { totalCount: 0 } });
  });

  it('allows introspection', async () => {
    const o = await h.org();
    const res = await h.gql(`{ __schema { queryType { name } types { name fields { name type { name ofType { name } } } } } }`, {}, { apiKey: o.reader });
    expect(res.status).toBe(200);
    expect((res.body.data!.__schema as { queryType: { name: string } }).queryType.name).toBe('Query');
  });

  it('answers wrong variable types, malformed JSON, an oversize body and unknown fields with 4xx, never 5xx', async () => {
    const o = await h.org();
    const auth = { authorization: `Bearer ${o.reader}` };
    const wrongType = await h.gql('query($n: Int) { members(first: $n) { totalCount } }', { n: 'ten' }, { apiKey: o.reader });
    expect(wrongType.status).toBe(400);
    expect(codes(wrongType)).toEqual(['BAD_USER_INPUT']);
    const badDate = await h.gql('query($m: ID!, $l: ID!) { canAccess(memberId: $m, lockId: $l, at: "yesterday") { allowed } }', { m: 'x', l: 'y' }, { apiKey: o.reader });
    expect(badDate.status).toBe(400);
    const malformed = await h.post('{"query": "{ viewer { id }', auth);
    expect(malformed.status).toBe(400);
    expect(JSON.parse(malformed.text)).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    const big = await h.post(JSON.stringify({ query: `{ viewer { id } }`, variables: { pad: 'x'.repeat(5000) } }), auth);
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text)).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    const syntax = await h.gql('{ viewer { id }', {}, { apiKey: o.reader });
    expect(syntax.status).toBe(400);
    expect(codes(syntax)).toEqual(['GRAPHQL_PARSE_FAILED']);
    const unknown = await h.gql('{ nope }', {}, { apiKey: o.reader });
    expect(unknown.status).toBe(400);
    const noQuery = await h.post(JSON.stringify({ variables: {} }), auth);
    expect(noQuery.status).toBe(400);
    const notAnId = await h.gql('{ member(id: "not-a-uuid") { id } }', {}, { apiKey: o.reader });
    expect(codes(notAnId)).toEqual(['NOT_FOUND']);
    const feedCursor = await h.gql('{ accessChanges(after: "garbage") { changes { kind } } }', {}, { apiKey: o.reader });
    expect(feedCursor.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    // No stack traces outside development.
    for (const r of [wrongType, badDate, syntax, unknown, feedCursor]) expect(JSON.stringify(r.body)).not.toMatch(/stacktrace|at \w+ \(/);
  });
});

describe('console admin sessions on /graphql', () => {
  it('act with admin rights only with the CSRF header, else as a plain member', async () => {
    const { session, csrf, url } = await createHarnessOrgAdmin(h);
    const query = JSON.stringify({ query: '{ scimStatus { enabled } viewer { userName } }' });
    const withHeader = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', cookie: `gatehouse_session=${session}`, 'x-csrf-token': csrf }, body: query });
    const a = (await withHeader.json()) as { data?: { scimStatus?: unknown }; errors?: unknown[] };
    expect(a.errors).toBeUndefined();
    expect(a.data?.scimStatus).toEqual({ enabled: false });
    const without = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', cookie: `gatehouse_session=${session}` }, body: query });
    const b = (await without.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(b.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
  });
});
