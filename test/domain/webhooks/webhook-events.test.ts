// The webhook event types not covered by webhooks.test.ts, each from the real
// code path that causes it: access.changed (the per-lock access feed, as the
// lockAccess feed resolves it), deprovision.held (the mass-deprovision guard),
// signin.succeeded, member.reactivated, import.finished and import.failed.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, type TestDb } from '../../setup/test-db.js';
import { buildGroup, buildLock, buildMember, buildOrg, unique } from '../../factories/index.js';
import { createDomain, type Actor, type Domain } from '../../../src/domain/index.js';
import { createHttpWebhookSender } from '../../../src/integrations/webhooks/http-sender.js';
import { deliveryPass } from '../../../src/scheduler/delivery-worker.js';
import { readLockEntries, purgeAccessFeed } from '../../../src/domain/access/access-feed.js';
import { EVENT_TYPES } from '../../../src/domain/events/event-types.js';
import { startReceiver, verify, type Receiver } from '../../setup/webhook-receiver.js';
import { waitForFence } from '../../setup/fence.js';
import { entraUser, type GraphStandIn } from '../../setup/graph-stand-in.js';
import { ENTRA_APP, entraDirectoryOn, graphSuite } from '../../setup/entra.js';

let t: TestDb;
let rx: Receiver;
let graph: GraphStandIn;
let d: Domain;
let sender: ReturnType<typeof createHttpWebhookSender>;
graphSuite((s) => ({ t, graph } = s), { poolSize: 8 });
beforeAll(async () => {
  rx = await startReceiver();
  d = createDomain(t.database.db, TEST_SECRET, undefined, {
    entraDirectory: entraDirectoryOn(graph, { maxRetries: 0, maxRetryAfterSeconds: 1, sleep: async () => undefined }),
  });
  sender = createHttpWebhookSender({ timeoutMs: 1500, allowPrivateNetworks: true });
});
afterAll(async () => {
  sender.close();
  await rx.close();
});

async function pass() {
  await waitForFence(d.db);
  return deliveryPass(d, sender, null, 10_000);
}

/** An endpoint on its own receiver path; returns what reached it, verified. */
async function endpoint(actor: Actor, eventTypes: string[]) {
  const path = `/ok/${unique('p')}`;
  const { endpoint: ep, secret } = await d.webhooks.create(actor, { url: `${rx.url}${path}`, eventTypes });
  return { ep, received: () => rx.on(path).map((r) => ({ headers: r.headers, ...verify(secret, r) })) };
}

describe('access.changed', () => {
  it('tells a subscribed endpoint every per-lock change the lockAccess feed has, with the feed cursor, once', async () => {
    const org = await buildOrg(d);
    const a = await endpoint(org.actor, ['access.changed']);
    const star = await endpoint(org.actor, ['*']);
    const m = await buildMember(d, org.actor);
    const n = await buildMember(d, org.actor);
    const lock = await buildLock(d, org.actor);
    const g = await buildGroup(d, org.actor, [m.id, n.id]);
    const share = await d.shares.grant(org.actor, { groupId: g.id, lockId: lock.id });
    await d.members.update(org.actor, n.id, { active: false });
    await d.shares.revoke(org.actor, share.id);

    const r = await pass();
    expect(r.accessEntries).toBeGreaterThanOrEqual(4);
    const got = a.received();
    expect(got.every((x) => x.type === 'access.changed')).toBe(true);
    const seq = got.map((x) => [x.data.member, x.data.mayOpen]);
    // m and n may open after the grant; n may not once deactivated; m may not once the share is revoked.
    expect(seq).toEqual([
      [{ id: m.id < n.id ? m.id : n.id, userName: m.id < n.id ? m.userName : n.userName }, true],
      [{ id: m.id < n.id ? n.id : m.id, userName: m.id < n.id ? n.userName : m.userName }, true],
      [{ id: n.id, userName: n.userName }, false],
      [{ id: m.id, userName: m.userName }, false],
    ]);
    expect(got[0]!.data.lock).toEqual({ id: lock.id, name: lock.name, placeId: lock.placeId });
    expect(got[0]!.headers['webhook-id']).toMatch(new RegExp(`^acc_${org.id}_\\d+$`));

    // The cursors are the lockAccess feed's own: the feed read after the first one gives the rest.
    const feed = await readLockEntries(d.db.sql, org.id, { lockIds: [lock.id], placeIds: [] }, got[0]!.data.cursor as string, 100);
    expect(feed.entries.map((e) => [e.memberId, e.mayOpen])).toEqual(got.slice(1).map((x) => [(x.data.member as { id: string }).id, x.data.mayOpen]));

    // "*" leaves the per-lock firehose out; another pass sends nothing twice.
    expect(star.received().map((x) => x.type)).not.toContain('access.changed');
    await pass();
    expect(a.received()).toHaveLength(4);
  });

  it('starts at the endpoint: changes before it, or while nobody asks for them, are not sent; retention never purges what is not turned into deliveries', async () => {
    const org = await buildOrg(d);
    const m = await buildMember(d, org.actor);
    const lock = await buildLock(d, org.actor);
    await d.shares.grant(org.actor, { memberId: m.id, lockId: lock.id });
    const a = await endpoint(org.actor, ['member.updated']);
    const other = await buildMember(d, org.actor);
    await d.shares.grant(org.actor, { memberId: other.id, lockId: lock.id });
    await pass(); // nobody asks for access.changed: the cursor moves on
    await d.webhooks.update(org.actor, a.ep.id, { eventTypes: ['access.changed'] });
    await d.members.update(org.actor, m.id, { active: false });

    // Retention with a cut-off in the future would purge everything: it stops at the webhooks' cursor.
    await waitForFence(d.db);
    await purgeAccessFeed(d.db, -1);
    const got = await pass().then(() => a.received());
    expect(got.map((x) => [(x.data.member as { id: string }).id, x.data.mayOpen])).toEqual([[m.id, false]]);
    await purgeAccessFeed(d.db, -1);
    const head = await d.db.sql.one<{ purged: string; position: string }>(
      `select purged_through::text as purged, position::text as position from access_feed_heads where organization_id = $1`,
      [org.id],
    );
    expect(head.purged).toBe(head.position);
  });
});

describe('deprovision.held', () => {
  it('tells the endpoint when the guard holds Entra\'s revocations, once per held change', async () => {
    const org = await buildOrg(d);
    const scim: Actor = { kind: 'scim', organizationId: org.id, label: 'scim' };
    await d.guard.updateSettings(org.actor, { enabled: true, thresholdPercent: 1, minCount: 1, windowMinutes: 60 });
    const a = await endpoint(org.actor, ['deprovision.held']);
    const m1 = await buildMember(d, scim);
    const m2 = await buildMember(d, scim);
    await d.members.update(scim, m1.id, { active: false }); // within the threshold: applied
    await d.members.update(scim, m2.id, { active: false }); // beyond: held
    await d.members.update(scim, m2.id, { active: false }); // Entra asks again: counted, not told again
    await d.members.delete(scim, m1.id); // inactive already: no access to revoke, not held
    expect(await d.guard.heldCount(org.actor)).toBe(1);

    await pass();
    const got = a.received();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      type: 'deprovision.held',
      data: { source: 'scim', kind: 'deactivate', member: { id: m2.id, userName: m2.userName }, held: 1, memberIds: [m2.id], group: null },
    });
  });
});

describe('sign-in, reactivation and import runs', () => {
  it('sends signin.succeeded, member.reactivated, import.finished and import.failed', async () => {
    const org = await buildOrg(d);
    const a = await endpoint(org.actor, ['signin.succeeded', 'member.reactivated', 'import.finished', 'import.failed']);
    const m = await buildMember(d, org.actor);
    await d.members.update(org.actor, m.id, { active: false });
    await d.members.update(org.actor, m.id, { active: true });
    await d.saml.completeLogin(org.id, { nameId: m.userName.toUpperCase(), assertionId: `_${crypto.randomUUID()}`, replayUntil: new Date(Date.now() + 3600_000), inResponseTo: null });

    const place = await d.places.createPlace(org.actor, { name: unique('HQ') });
    const entraGroupId = crypto.randomUUID();
    graph.groups.set(entraGroupId, [entraUser(), entraUser()]);
    const base = { tenantId: ENTRA_APP.tenantId, clientId: ENTRA_APP.clientId, entraGroupId, identifier: 'upn' as const, targets: [{ placeId: place.id }] };
    const good = await d.imports.create(org.actor, { ...base, name: unique('Staff'), clientSecret: ENTRA_APP.clientSecret });
    const bad = await d.imports.create(org.actor, { ...base, name: unique('Broken'), clientSecret: 'not-the-secret' });
    expect(await d.imports.run(org.actor, good.id)).toMatchObject({ status: 'success', added: 2 });
    expect(await d.imports.run(org.actor, bad.id)).toMatchObject({ status: 'failed' });

    await pass();
    const byType = new Map(a.received().map((x) => [x.type, x.data]));
    expect([...byType.keys()].sort()).toEqual(['import.failed', 'import.finished', 'member.reactivated', 'signin.succeeded']);
    expect(byType.get('signin.succeeded')).toMatchObject({ member: { id: m.id, userName: m.userName }, flow: 'idp' });
    expect(byType.get('member.reactivated')).toMatchObject({ member: { id: m.id } });
    expect(byType.get('import.finished')).toMatchObject({ integration: { id: good.id }, total: 2, added: 2 });
    expect(byType.get('import.failed')).toMatchObject({ integration: { id: bad.id } });
    expect(typeof byType.get('import.failed')!.errorCode).toBe('string');
  });

  it('lists every type the issue asks for', () => {
    for (const type of [
      'member.created',
      'member.updated',
      'member.deactivated',
      'member.deleted',
      'group.members_changed',
      'share.granted',
      'share.revoked',
      'access.changed',
      'signin.succeeded',
      'signin.refused',
      'deprovision.held',
      'import.finished',
      'import.failed',
      'audit.event',
    ]) {
      expect(EVENT_TYPES).toContain(type);
    }
  });
});
