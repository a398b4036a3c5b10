// The mass-deprovision guard through GraphQL: readers see it, admins set it and
// decide on what it holds; bad settings are BAD_USER_INPUT, never a 5xx.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import type { TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';

let s: TestApp;
let t: TestDb;
let url: string;

beforeAll(async () => {
  s = await startTestApp();
  t = s.t;
  url = s.url;
});
afterAll(async () => {
  await s.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function gql(key: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: any; errors?: { extensions?: { code?: string } }[] }> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  expect(res.status).toBeLessThan(500);
  return res.json() as never;
}

describe('deprovision guard over GraphQL', () => {
  it('shows, sets and decides; readers may look but not decide; the metric counts held changes', async () => {
    const org = await buildOrg(t.domain);
    const { key: admin } = await t.domain.apiKeys.create(org.actor, { name: 'ops', role: 'admin' });
    const { key: reader } = await t.domain.apiKeys.create(org.actor, { name: 'dash', role: 'reader' });
    const show = await gql(reader, '{ deprovisionGuard { enabled thresholdPercent minCount windowMinutes held } }');
    expect(show.data.deprovisionGuard).toEqual({ enabled: true, thresholdPercent: 10, minCount: 25, windowMinutes: 60, held: 0 });

    const set = await gql(admin, 'mutation { updateDeprovisionGuard(input: { minCount: 1, thresholdPercent: 1 }) { minCount thresholdPercent } }');
    expect(set.data.updateDeprovisionGuard).toEqual({ minCount: 1, thresholdPercent: 1 });
    const bad = await gql(admin, 'mutation { updateDeprovisionGuard(input: { windowMinutes: 0 }) { windowMinutes } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await gql(reader, 'mutation { approveHeldChanges { approved } }')).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // Two SCIM deactivations with a limit of one: the second is held.
    const { token } = await t.domain.organizations.enableScim(org.actor);
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const r = await fetch(`${url}/scim/v2/Users`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' }, body: JSON.stringify({ userName: `u${n}-${crypto.randomUUID()}@contoso.com` }) });
      ids.push(((await r.json()) as { id: string }).id);
    }
    for (const id of ids) {
      const r = await fetch(`${url}/scim/v2/Users/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', path: 'active', value: 'False' }] }),
      });
      expect(r.status).toBe(200);
    }
    const held = await gql(reader, '{ heldChanges { memberId kind source status repeats } }');
    expect(held.data.heldChanges).toEqual([{ memberId: ids[1], kind: 'deactivate', source: 'scim', status: 'held', repeats: 0 }]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_guard_held_changes\{source="scim"\} [1-9]/);

    const approved = await gql(admin, 'mutation { approveHeldChanges { approved deactivated } }');
    expect(approved.data.approveHeldChanges).toEqual({ approved: 1, deactivated: 1 });
    expect((await t.domain.members.get(org.actor, ids[1]!)).active).toBe(false);
    expect((await gql(reader, '{ heldChanges(status: "approved") { memberId decidedBy } }')).data.heldChanges).toEqual([{ memberId: ids[1], decidedBy: 'ops' }]);
  });
});
