// Generated hostile input against every edge. The only acceptable answers are
// a 2xx or the protocol's 4xx: never a 5xx, never a hang, never a change that
// is half applied. SOAK=1 multiplies the runs.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../setup/test-app.js';
import { buildGroup, buildMember, buildOrg } from '../factories/index.js';

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

beforeAll(async () => {
  ta = await createTestApp();
  const org = await buildOrg(ta.t.domain);
  orgDomain = org.domain;
  token = (await ta.t.domain.organizations.enableScim(org.actor)).token;
  const scimActor = await ta.t.domain.organizations.authenticateScim(token);
  memberId = (await buildMember(ta.t.domain, scimActor, { metadata: { city: 'Berlin' }, emails: [{ value: 'a@example.com', type: 'work', primary: true }] })).id;
  groupId = (await buildGroup(ta.t.domain, scimActor, [memberId])).id;
  adminKey = (await ta.t.domain.apiKeys.create(org.actor, { name: 'fuzz', role: 'admin' })).key;
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
