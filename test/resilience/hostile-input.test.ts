// Generated hostile input against every edge. The only acceptable answers are
// a 2xx or the protocol's 4xx: never a 5xx, never a hang, never a change that
// is half applied. SOAK=1 multiplies the runs.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildGroup, buildMember, buildOrg } from '../factories/index.js';
import { consoleAdmin } from '../setup/clients.js';
import { MAX_JSON_DEPTH } from '../../src/http/json-guard.js';

const RUNS = process.env.SOAK ? 20_000 : 400;
/** Per test: the soak runs take minutes. */
const TIMEOUT = process.env.SOAK ? 3_600_000 : 60_000;
export const generated = { requests: 0, fiveHundreds: 0 };

let ta: TestApp;
let token: string;
let memberId: string;
let groupId: string;
let orgDomain: string;
let adminKey: string;
let adminCookie: string;
let adminCsrf: string;

beforeAll(async () => {
  ta = await createTestApp();
  const org = await buildOrg(ta.t.domain);
  orgDomain = org.domain;
  token = (await ta.t.domain.organizations.enableScim(org.actor)).token;
  const scimActor = await ta.t.domain.organizations.authenticateScim(token);
  memberId = (await buildMember(ta.t.domain, scimActor, { metadata: { city: 'Berlin' }, emails: [{ value: 'a@example.com', type: 'work', primary: true }] })).id;
  groupId = (await buildGroup(ta.t.domain, scimActor, [memberId])).id;
  adminKey = (await ta.t.domain.apiKeys.create(org.actor, { name: 'fuzz', role: 'admin' })).key;
  ({ cookie: adminCookie, csrf: adminCsrf } = await consoleAdmin(ta, org.id));
});

afterAll(async () => {
  await ta.close();
  console.log(`hostile input: ${generated.requests} generated requests, ${generated.fiveHundreds} answered 5xx`);
});

async function send(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<number> {
  const ctl = AbortSignal.timeout(10_000);
  const res = await fetch(`${ta.url}${path}`, {
    method,
    body,
    signal: ctl,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', ...headers },
  });
  await res.arrayBuffer();
  generated.requests++;
  if (res.status >= 500) generated.fiveHundreds++;
  return res.status;
}

const ok = (status: number) => (status >= 200 && status < 300) || (status >= 400 && status < 500);

async function snapshot(): Promise<string> {
  const m = await ta.t.domain.db.sql.one<{ m: unknown; g: unknown }>(
    `select (select to_jsonb(x) - 'updated_at' - 'version' from members x where id = $1) as m,
            (select jsonb_agg(member_id order by member_id) from group_members where group_id = $2) as g`,
    [memberId, groupId],
  );
  return JSON.stringify(m);
}

// Filter-like strings: fragments of the grammar shuffled with noise.
const filterToken = fc.oneof(
  fc.constantFrom('userName', 'emails', 'emails.value', 'name.givenName', 'meta.lastModified', 'externalId', 'active', 'displayName', 'members', 'title', 'x', 'urn:ietf:params:scim:schemas:core:2.0:User:userName', 'metadata.city'),
  fc.constantFrom(' eq ', ' ne ', ' co ', ' sw ', ' ew ', ' pr', ' gt ', ' ge ', ' lt ', ' le ', ' and ', ' or ', 'not ', '(', ')', '[', ']', '.', ' '),
  fc.constantFrom('"a"', '"ALICE@example.com"', 'true', 'false', 'null', '12', '"2020-01-01T00:00:00Z"', '"\\"', '"\u0000"', "'", '"'),
  fc.string({ maxLength: 8 }),
);
const filterString = fc.array(filterToken, { maxLength: 14 }).map((parts) => parts.join(''));

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const patchOp = fc.record(
  {
    op: fc.constantFrom('add', 'Add', 'replace', 'Replace', 'remove', 'Remove', 'copy', '', 'ADD'),
    path: fc.oneof(
      fc.constantFrom('active', 'displayName', 'userName', 'name.givenName', 'emails[type eq "work"].value', 'emails[type eq "work"]', 'phoneNumbers[type eq "mobile"].value', 'metadata.city', 'members', 'members[value eq "x"]', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', 'emails[', 'name..x', '', 'externalId', 'title'),
      filterString,
    ),
    value: fc.oneof(jsonValue, fc.constantFrom('True', 'False', 'maybe'), fc.array(fc.record({ value: fc.oneof(fc.uuid(), fc.string()) }), { maxLength: 4 })),
  },
  { requiredKeys: [] },
);
const patchBody = fc.oneof(
  fc.record({ schemas: fc.constant(['urn:ietf:params:scim:api:messages:2.0:PatchOp']), Operations: fc.array(patchOp, { maxLength: 4 }) }),
  fc.record({ Operations: fc.oneof(jsonValue, fc.array(patchOp, { maxLength: 3 })) }, { requiredKeys: [] }),
  jsonValue,
);
const userBody = fc.oneof(
  fc.record(
    {
      schemas: fc.constant(['urn:ietf:params:scim:schemas:core:2.0:User']),
      userName: fc.oneof(fc.string({ maxLength: 40 }), jsonValue),
      active: fc.oneof(fc.boolean(), fc.constantFrom('True', 'False', 'yes'), jsonValue),
      name: fc.oneof(fc.record({ givenName: fc.oneof(fc.string(), jsonValue), familyName: fc.string() }, { requiredKeys: [] }), jsonValue),
      emails: fc.oneof(fc.array(fc.record({ value: fc.oneof(fc.string(), jsonValue), type: fc.string(), primary: fc.oneof(fc.boolean(), jsonValue) }, { requiredKeys: [] }), { maxLength: 3 }), jsonValue),
      'metadata.city': fc.oneof(fc.string(), jsonValue),
      metadata: jsonValue,
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': fc.oneof(fc.record({ department: fc.string(), manager: jsonValue }, { requiredKeys: [] }), jsonValue),
    },
    { requiredKeys: [] },
  ),
  jsonValue,
);

describe('SCIM under generated input', () => {
  it('answers any filter with 200 or 400, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(filterString, fc.constantFrom('Users', 'Groups'), async (filter, resource) => {
        const status = await send('GET', `/scim/v2/${resource}?filter=${encodeURIComponent(filter)}`);
        expect([200, 400]).toContain(status);
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it('applies a PATCH whole or not at all, and never answers 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(patchBody, fc.constantFrom('Users', 'Groups'), async (body, resource) => {
        const before = await snapshot();
        const id = resource === 'Users' ? memberId : groupId;
        const status = await send('PATCH', `/scim/v2/${resource}/${id}`, JSON.stringify(body));
        expect(ok(status), `status ${status}`).toBe(true);
        if (status >= 400) expect(await snapshot()).toBe(before);
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it('answers any user body with 201 or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(userBody, async (body) => {
        const status = await send('POST', '/scim/v2/Users', JSON.stringify(body));
        expect(ok(status), `status ${status}`).toBe(true);
      }),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it('answers any path under /scim/v2, any method and odd headers with 2xx or 4xx', async () => {
    const segment = fc.oneof(
      fc.constantFrom('Users', 'users', 'Groups', 'GROUPS', 'Schemas', 'ResourceTypes', 'ServiceProviderConfig', '', '.', '..', '%', '%E0%A4%A', '%2F', memberId, groupId),
      fc.string({ maxLength: 20 }).map(encodeURIComponent),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { maxLength: 4 }),
        fc.constantFrom('', '/', '?', '?filter=', '?count=1&count=2', '?attributes=&excludedAttributes=members', '?%zz=1'),
        fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
        fc.constantFrom<Record<string, string>>({}, { 'content-encoding': 'gzip' }, { 'content-encoding': 'identity, gzip' }, { 'content-type': 'application/scim+json; charset=utf-16' }, { authorization: 'Bearer' }),
        async (segments, tail, method, headers) => {
          const body = ['POST', 'PUT', 'PATCH'].includes(method) ? '{"Operations":[]}' : undefined;
          const status = await send(method, `/scim/v2${segments.map((x) => `/${x}`).join('')}${tail}`, body, headers);
          expect(ok(status), `status ${status}`).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  }, TIMEOUT);

  it('answers raw garbage, wrong content types and odd ids with 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 200 }),
        fc.constantFrom('application/json', 'application/scim+json', 'text/plain', 'application/x-www-form-urlencoded', ''),
        fc.constantFrom('POST /scim/v2/Users', 'PUT /scim/v2/Users/ID', 'PATCH /scim/v2/Groups/ID', 'POST /scim/v2/Groups', 'GET /scim/v2/Users/ID', 'DELETE /scim/v2/Groups/ID'),
        fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })),
        async (raw, type, route, odd) => {
          const [method, path] = route.split(' ') as [string, string];
          const status = await send(method, path.replace('ID', encodeURIComponent(odd) || 'x'), method === 'GET' || method === 'DELETE' ? undefined : raw, { 'content-type': type });
          expect(ok(status), `status ${status}`).toBe(true);
        },
      ),
      { numRuns: RUNS },
    );
  }, TIMEOUT);
});

describe('SAML ACS under generated input', () => {
  it('answers any POST body with a 4xx page and no session', async () => {
    const samlish = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ maxLength: 300 }).map((s) => `SAMLResponse=${encodeURIComponent(Buffer.from(s).toString('base64'))}`),
      fc.constantFrom(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&e;</samlp:Response>',
        '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>',
        '<a><b></a>',
      ).map((x) => `SAMLResponse=${encodeURIComponent(Buffer.from(x).toString('base64'))}&RelayState=%2F%2Fevil.example`),
    );
    await fc.assert(
      fc.asyncProperty(samlish, fc.constantFrom(orgDomain, 'no-such-org'), async (body, domain) => {
        const res = await fetch(`${ta.url}/saml/${domain}/acs`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        });
        await res.arrayBuffer();
        generated.requests++;
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.headers.get('set-cookie') ?? '').not.toMatch(/gatehouse_session=[^;]/);
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, TIMEOUT);
});

describe('GraphQL under generated variables', () => {
  const operations = [
    'query($id: ID!) { member(id: $id) { id userName groups { id } } }',
    'query($first: Int, $after: String, $text: String, $active: Boolean) { members(first: $first, after: $after, filter: { text: $text, active: $active }) { totalCount edges { cursor node { id } } } }',
    'query($lockId: ID!, $at: DateTimeISO, $first: Int) { whoCanOpen(lockId: $lockId, at: $at, first: $first) { edges { node { id } grants { shareId } } } }',
    'query($memberId: ID!, $lockId: ID!, $at: DateTimeISO) { canAccess(memberId: $memberId, lockId: $lockId, at: $at) { allowed reason } }',
    'mutation($input: GrantShareInput!) { grantShare(input: $input) { id } }',
    'mutation($id: ID!, $metadata: JSONObject!) { setMemberMetadata(id: $id, metadata: $metadata) { id } }',
    'query($after: String, $first: Int) { accessChanges(after: $after, first: $first) { changes { kind } } }',
  ];
  const value = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.uuid(),
    fc.constantFrom('2026-01-01T00:00:00Z', 'not-a-date', '', '-1', '99999999999', 'eyJ4IjoxfQ'),
    fc.integer(),
    fc.double(),
  );
  it('uses operations that are valid against the schema (so the fuzzing reaches the resolvers)', async () => {
    const { buildGraphqlSchema } = await import('../../src/graphql/schema.js');
    const { parse, validate } = await import('graphql');
    const schema = await buildGraphqlSchema();
    for (const op of operations) expect(validate(schema, parse(op)).map((e) => e.message)).toEqual([]);
  });

  it('answers any variables with 200/4xx and a GraphQL error, never 5xx or a partial change', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations),
        fc.dictionary(fc.constantFrom('id', 'first', 'after', 'text', 'active', 'lockId', 'at', 'memberId', 'input', 'metadata'), value, { maxKeys: 5 }),
        async (query, variables) => {
          const before = await snapshot();
          const res = await fetch(`${ta.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
            body: JSON.stringify({ query, variables }),
            signal: AbortSignal.timeout(10_000),
          });
          const body = (await res.json()) as { errors?: unknown[]; data?: unknown };
          generated.requests++;
          if (res.status >= 500) generated.fiveHundreds++;
          expect(res.status).toBeLessThan(500);
          expect(JSON.stringify(body.errors ?? [])).not.toMatch(/INTERNAL_SERVER_ERROR/);
          if (body.errors) expect(await snapshot()).toBe(before);
        },
      ),
      { numRuns: RUNS },
    );
  }, TIMEOUT);
});

// ---------------------------------------------------------------------------
// Classes of hostile input found by an independent check:
// deep nesting, NUL and control characters in path segments, ill-formed UTF-16,
// malformed percent-encoding in the headers Gatehouse reads, GraphQL documents
// past the node limit. Each class is generated, not only its first instance.

/** A JSON text nesting `depth` arrays or objects around `leaf`. */
function nested(depth: number, kind: 'array' | 'object' | 'mixed', leaf = '1'): string {
  let open = '';
  let close = '';
  for (let i = 0; i < depth; i++) {
    const obj = kind === 'object' || (kind === 'mixed' && i % 2 === 1);
    open += obj ? '{"a":' : '[';
    close = (obj ? '}' : ']') + close;
  }
  return open + leaf + close;
}

/** Where a body nests: the SCIM resource or operation, or the GraphQL variables. */
const depthArb = fc.oneof(fc.integer({ min: 1, max: MAX_JSON_DEPTH + 8 }), fc.integer({ min: MAX_JSON_DEPTH + 1, max: 100_000 }));

async function post(path: string, body: string, headers: Record<string, string>, method = 'POST'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${ta.url}${path}`, { method, body, headers, redirect: 'manual', signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  generated.requests++;
  if (res.status >= 500) generated.fiveHundreds++;
  return { status: res.status, text };
}

describe('nesting depth, on every edge that reads JSON', () => {
  it('refuses 100,000 levels on POST /Users, POST /Groups, PATCH, /graphql and /admin/api with 400, never 5xx', async () => {
    const deep = nested(100_000, 'array');
    const scim = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
    const before = await snapshot();
    for (const [method, path, body] of [
      ['POST', '/scim/v2/Users', `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"deep@example.com","name":${deep}}`],
      ['POST', '/scim/v2/Groups', `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"deep","members":${deep}}`],
      ['PATCH', `/scim/v2/Users/${memberId}`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"title","value":${deep}}]}`],
      ['PATCH', `/scim/v2/Groups/${groupId}`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":${deep}}]}`],
    ] as const) {
      const r = await post(path, body, scim, method);
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(r.text).toMatch(/nests deeper/);
    }
    const gql = await post('/graphql', `{"query":"query($x: JSONObject!) { __typename }","variables":{"x":${deep}}}`, { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` });
    expect(gql.status).toBe(400);
    expect(JSON.parse(gql.text)).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
    const get = await fetch(`${ta.url}/graphql?query=${encodeURIComponent('{ __typename }')}&variables=${encodeURIComponent(`{"x":${nested(200, 'array')}}`)}`, {
      headers: { authorization: `Bearer ${adminKey}`, 'apollo-require-preflight': '1' },
    });
    expect(get.status).toBe(400);
    const console = await post('/admin/api/members/x/admin', `{"admin":${deep}}`, { 'content-type': 'application/json', cookie: adminCookie, 'x-csrf-token': adminCsrf });
    expect(console.status).toBe(400);
    expect(await snapshot()).toBe(before);
  }, TIMEOUT);

  it('answers any nesting depth with 2xx or 4xx, and refuses what is deeper than the bound with 400', async () => {
    await fc.assert(
      fc.asyncProperty(
        depthArb,
        fc.constantFrom('array', 'object', 'mixed') as fc.Arbitrary<'array' | 'object' | 'mixed'>,
        fc.constantFrom('scim-user', 'scim-patch', 'graphql', 'console'),
        async (depth, kind, where) => {
          const value = nested(depth, kind);
          const before = await snapshot();
          const r =
            where === 'scim-user'
              ? await post('/scim/v2/Users', `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"d${depth}@example.com","metadata":${value}}`, {
                  authorization: `Bearer ${token}`,
                  'content-type': 'application/scim+json',
                })
              : where === 'scim-patch'
                ? await post(`/scim/v2/Users/${memberId}`, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"title":${value}}}]}`, {
                    authorization: `Bearer ${token}`,
                    'content-type': 'application/scim+json',
                  }, 'PATCH')
                : where === 'graphql'
                  ? await post('/graphql', `{"query":"mutation($id: ID!, $m: JSONObject!) { setMemberMetadata(id: $id, metadata: $m) { id } }","variables":{"id":"${memberId}","m":{"x":${value}}}}`, {
                      'content-type': 'application/json',
                      authorization: `Bearer ${adminKey}`,
                    })
                  : await post('/admin/api/members/x/admin', `{"admin":${value}}`, { 'content-type': 'application/json', cookie: adminCookie, 'x-csrf-token': adminCsrf });
          expect(ok(r.status), `status ${r.status}`).toBe(true);
          // The body nests depth + its own wrapping levels: past the bound, always refused.
          if (depth > MAX_JSON_DEPTH) {
            expect(r.status).toBe(400);
            expect(await snapshot()).toBe(before);
          }
        },
      ),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  }, TIMEOUT);
});

describe('ill-formed UTF-16 (lone surrogates) in JSON strings', () => {
  const lone = fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ud83d', '\ude00');
  /** A string with a lone surrogate somewhere (JSON.stringify writes it as a \\u escape). */
  const illFormed = fc.tuple(fc.string({ maxLength: 10 }), lone, fc.string({ maxLength: 10 })).map(([a, s, b]) => a + s + b);

  it('refuses a lone surrogate in userName with 400 and writes nothing (it was a 500 from jsonb)', async () => {
    const audit = async () => (await ta.t.domain.db.sql.one<{ n: string }>(`select count(*)::text as n from members`)).n;
    const before = await audit();
    const r = await post('/scim/v2/Users', JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'x\ud800@example.com' }), {
      authorization: `Bearer ${token}`,
      'content-type': 'application/scim+json',
    });
    expect(r.status).toBe(400);
    expect(await audit()).toBe(before);
  });

  it('answers any body holding one, anywhere (value or name), with 400 on every edge, before any write', async () => {
    await fc.assert(
      fc.asyncProperty(
        illFormed,
        fc.boolean(),
        fc.constantFrom('scim-user', 'scim-patch', 'scim-group', 'graphql', 'console'),
        async (text, asName, where) => {
          const hostile: Record<string, unknown> = asName ? { [text]: 'x' } : { value: text };
          const before = await snapshot();
          const scim = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
          const r =
            where === 'scim-user'
              ? await post('/scim/v2/Users', JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: asName ? 'u@example.com' : text, metadata: hostile }), scim)
              : where === 'scim-patch'
                ? await post(`/scim/v2/Users/${memberId}`, JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: text }, { op: 'add', value: { metadata: hostile } }] }), scim, 'PATCH')
                : where === 'scim-group'
                  ? await post('/scim/v2/Groups', JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: text }), scim)
                  : where === 'graphql'
                    ? await post('/graphql', JSON.stringify({ query: 'mutation($id: ID!, $m: JSONObject!) { setMemberMetadata(id: $id, metadata: $m) { id } }', variables: { id: memberId, m: hostile } }), {
                        'content-type': 'application/json',
                        authorization: `Bearer ${adminKey}`,
                      })
                    : await post('/admin/api/saml/metadata', JSON.stringify({ xml: text }), { 'content-type': 'application/json', cookie: adminCookie, 'x-csrf-token': adminCsrf });
          expect(r.status, r.text.slice(0, 200)).toBe(400);
          expect(await snapshot()).toBe(before);
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, TIMEOUT);
});

describe('NUL and control characters in path segments', () => {
  const control = fc.integer({ min: 0, max: 0x1f }).map((c) => `%${c.toString(16).padStart(2, '0')}`);
  const segment = fc
    .tuple(fc.constantFrom('', 'acme', orgDomainPlaceholder()), fc.oneof(control, fc.constantFrom('%00', '%7f', '%0d%0a', '%c0%80', '%ff', '%e2%80%ae')), fc.constantFrom('', 'x', '%00'))
    .map(([a, c, b]) => `${a}${c}${b}`);

  it('answers /saml/<slug with NUL>/* with 404 (it was a 500 from PostgreSQL)', async () => {
    for (const path of [`/saml/${orgDomain}%00/metadata`, '/saml/%00/login', `/saml/${orgDomain}%00x/acs`]) {
      const post = path.endsWith('/acs');
      const res = await fetch(`${ta.url}${path}`, {
        method: post ? 'POST' : 'GET',
        body: post ? 'SAMLResponse=x' : undefined,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        redirect: 'manual',
      });
      await res.arrayBuffer();
      expect(res.status, path).toBe(404);
    }
  });

  it('answers any control character in a SAML, SCIM, GraphQL or console path segment with a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        segment.map((s) => s.replace('ORG', orgDomain)),
        fc.constantFrom('GET /saml/SEG/metadata', 'GET /saml/SEG/login', 'POST /saml/SEG/acs', 'GET /scim/v2/Users/SEG', 'DELETE /scim/v2/Groups/SEG', 'GET /admin/api/SEG/admin', 'GET /SEG'),
        async (seg, route) => {
          const [method, path] = route.split(' ') as [string, string];
          const res = await fetch(`${ta.url}${path.replace('SEG', seg)}`, {
            method,
            body: method === 'POST' ? 'SAMLResponse=eA%3D%3D' : undefined,
            headers: { authorization: `Bearer ${token}`, cookie: adminCookie, 'content-type': 'application/x-www-form-urlencoded' },
            redirect: 'manual',
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          generated.requests++;
          if (res.status >= 500) generated.fiveHundreds++;
          expect(res.status, `${method} ${path.replace('SEG', seg)}`).toBeGreaterThanOrEqual(400);
          expect(res.status).toBeLessThan(500);
          // A slug that decodes (to a control character) is no organisation: 404 (one that does not decode is Express's 400).
          const decodes = (() => {
            try {
              decodeURIComponent(seg);
              return true;
            } catch {
              return false;
            }
          })();
          if (path.startsWith('/saml/') && decodes) expect(res.status).toBe(404);
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, TIMEOUT);
});

/** Placeholder replaced by the organisation's slug once it exists (arbitraries are built before beforeAll). */
function orgDomainPlaceholder(): string {
  return 'ORG';
}

describe('malformed percent-encoding in every header Gatehouse reads', () => {
  const badEncoding = fc.oneof(
    fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '%C0%AF', '%ED%A0%80', '%%', '%u0041', '%2', '\\x00', '%FF%FE'),
    fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom('%', '%z', '%E0%A4%A', '%ED%B0%80'), fc.string({ maxLength: 6 })).map(([a, b, c]) => a + b + c),
  );
  // Header values must be Latin-1 without CR/LF/NUL to be sent at all.
  const sendable = badEncoding.map((v) => v.replace(/[^\x20-\x7e]/g, ''));

  it('treats Cookie: gatehouse_session=% (and %zz, %E0%A4%A) as no session on /me, /logout, /graphql and /admin/api (it was a 500)', async () => {
    for (const value of ['%', '%zz', '%E0%A4%A']) {
      const cookie = `gatehouse_session=${value}`;
      expect((await fetch(`${ta.url}/me`, { headers: { cookie } })).status, value).toBe(401);
      expect((await fetch(`${ta.url}/logout`, { method: 'POST', headers: { cookie } })).status, value).toBe(204);
      expect((await fetch(`${ta.url}/admin/api/session`, { headers: { cookie } })).status, value).toBe(401);
      const g = await fetch(`${ta.url}/graphql`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{"query":"{ viewer { id } }"}' });
      expect(g.status, value).toBe(401);
    }
  });

  it('answers any such value in Cookie, Authorization, X-CSRF-Token, X-Request-Id, X-Forwarded-For, Content-Type and Accept with 2xx or 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        sendable,
        fc.constantFrom('cookie', 'cookie-name', 'authorization', 'x-csrf-token', 'x-request-id', 'x-forwarded-for', 'content-type', 'accept', 'content-encoding'),
        fc.constantFrom('GET /me', 'POST /logout', 'POST /graphql', 'GET /admin/api/session', 'POST /admin/api/logout', 'GET /scim/v2/Users', 'POST /saml/ORG/acs', 'GET /saml/ORG/login'),
        async (value, header, route) => {
          const [method, path] = route.split(' ') as [string, string];
          const headers: Record<string, string> =
            header === 'cookie'
              ? { cookie: `gatehouse_session=${value}` }
              : header === 'cookie-name'
                ? { cookie: `${value}=1; gatehouse_session=${value}` }
                : header === 'authorization'
                  ? { authorization: `Bearer ${value}` }
                  : { [header]: value };
          if (!headers['content-type'] && method === 'POST') headers['content-type'] = path === '/graphql' ? 'application/json' : 'application/x-www-form-urlencoded';
          const res = await fetch(`${ta.url}${path.replace('ORG', orgDomain)}`, {
            method,
            headers,
            body: method === 'POST' ? (path === '/graphql' ? '{"query":"{ viewer { id } }"}' : 'SAMLResponse=eA%3D%3D') : undefined,
            redirect: 'manual',
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          generated.requests++;
          if (res.status >= 500) generated.fiveHundreds++;
          expect(ok(res.status) || (res.status >= 300 && res.status < 400), `${route} ${header}: ${res.status}`).toBe(true);
          if (path === '/me' && header.startsWith('cookie')) expect(res.status).toBe(401);
        },
      ),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  }, TIMEOUT);
});

describe('GraphQL documents past the node limit', () => {
  it('answers a query of about 12,000 nodes (duplicated fields and fragments) with 400, not 500', async () => {
    // Distinct (aliased) fields: duplicates of one name are cut short by graphql's own validation.
    const fields = Array.from({ length: 4000 }, (_, i) => `a${i}: id`).join(' ');
    const query = `query { o1: organization { ...F } o2: organization { ...F } o3: organization { ...F } } fragment F on Organization { ${fields} }`;
    const r = await post('/graphql', JSON.stringify({ query }), { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ errors: [{ extensions: { code: 'QUERY_TOO_COMPLEX' } }] });
  });

  it('answers any number of duplicated fields and fragment spreads with 200 or 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6000 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), async (n, spreads, aliased) => {
        const fields = Array.from({ length: n }, (_, i) => (aliased ? `a${i}: id` : 'id')).join(' ');
        const query = `query { members(first: 1) { edges { node { ${Array.from({ length: spreads }, () => '...F').join(' ')} } } } } fragment F on Member { ${fields} }`;
        const r = await post('/graphql', JSON.stringify({ query }), { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` });
        expect([200, 400]).toContain(r.status);
        expect(r.text).not.toMatch(/INTERNAL_SERVER_ERROR/);
      }),
      { numRuns: Math.ceil(RUNS / 8) },
    );
  }, TIMEOUT);
});
