// Issue 21: the console's integration-health strip, readable by an app with an
// admin key (`integrationHealth`): each finding's key, status, state and facts,
// without the console's words.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMember } from '../factories/index.js';
import { codes, startHarness, type Harness } from './harness.js';

let hs: Harness;
beforeAll(async () => {
  hs = await startHarness();
});
afterAll(async () => {
  await hs.close();
});

const HEALTH = `{ integrationHealth { key status state tokenPrefix lastUsedAt refusedAt reason idpEntityId fetchedAt stale soonestDaysLeft total held guard { enabled held } } }`;

interface Item {
  key: string;
  status: string;
  state: string;
  tokenPrefix: string | null;
  lastUsedAt: string | null;
  held: number | null;
  guard: { enabled: boolean; held: number } | null;
}

async function health(apiKey: string): Promise<Item[]> {
  const res = await hs.gql(HEALTH, {}, { apiKey });
  expect(res.body.errors).toBeUndefined();
  return (res.body.data as { integrationHealth: Item[] }).integrationHealth;
}

describe('integrationHealth', () => {
  it('gives an admin key the six findings of a fresh organisation, in the strip’s order', async () => {
    const org = await hs.org();
    const items = await health(org.admin);
    expect(items.map((i) => [i.key, i.status, i.state])).toEqual([
      ['SCIM', 'OFF', 'DISABLED'],
      ['SAML_METADATA', 'WARN', 'NOT_IMPORTED'],
      ['CERTIFICATES', 'WARN', 'NO_SP_CERTIFICATE'],
      ['SIGN_IN', 'OFF', 'NOT_SET_UP'],
      ['IMPORT', 'OFF', 'NONE'],
      ['GUARD', items[5]!.guard!.enabled ? 'OK' : 'OFF', 'IDLE'],
    ]);
    // Facts a state does not have are null; the guard's settings come along.
    expect(items[0]).toMatchObject({ tokenPrefix: null, lastUsedAt: null, held: null });
    expect(items[5]!.guard).toMatchObject({ held: 0 });
  });

  it('follows SCIM from enabled (token never used) to used by Entra', async () => {
    const org = await hs.org();
    const { token, status } = await hs.t.domain.organizations.enableScim(org.actor);
    const enabled = (await health(org.admin)).find((i) => i.key === 'SCIM');
    expect(enabled).toMatchObject({ status: 'WARN', state: 'TOKEN_NEVER_USED', tokenPrefix: status.tokenPrefix, lastUsedAt: null });

    const scim = await fetch(hs.url.replace(/\/graphql$/, '/scim/v2/Users'), { headers: { authorization: `Bearer ${token}` } });
    expect(scim.status).toBe(200);
    const used = (await health(org.admin)).find((i) => i.key === 'SCIM')!;
    expect(used).toMatchObject({ status: 'OK', state: 'USED', tokenPrefix: status.tokenPrefix });
    expect(Date.parse(used.lastUsedAt!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('refuses reader and controller keys and signed-in members (admins only)', async () => {
    const org = await hs.org();
    const d = hs.t.domain;
    const place = await d.places.createPlace(org.actor, { name: 'HQ' });
    const lock = await d.places.createLock(org.actor, { placeId: place.id, name: 'Door' });
    const controller = (await d.apiKeys.create(org.actor, { name: 'door', role: 'controller', lockIds: [lock.id] })).key;
    const me = await buildMember(d, org.actor);
    const session = (await d.sessions.start(org.id, me.id)).token;
    for (const creds of [{ apiKey: org.reader }, { apiKey: controller }, { session }]) {
      const res = await hs.gql(`{ integrationHealth { key status } }`, {}, creds);
      expect(codes(res), JSON.stringify(Object.keys(creds))).toEqual(['FORBIDDEN']);
      expect(res.body.data ?? null).toBeNull();
    }
  });
});
