// The example door controller (examples/door-controller) against a real
// Gatehouse on PostgreSQL: its allow-list follows a SCIM deactivation, a
// reconnect resumes from its last cursor without gap or duplicate, an
// expired cursor makes it load the snapshot again, and a controller away for
// hundreds of changes catches up by pages, then follows the subscription; and
// the Gatehouse process it is connected to restarting loses it nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoorController, type Decision } from '../../examples/door-controller/controller.js';
import { startHarness, type Harness } from '../graphql/harness.js';
import { buildGroup, buildLock, buildMember } from '../factories/index.js';
import { ScimClient, entraUser } from '../scim/scim-client.js';
import { startTestApp, type TestApp } from '../setup/test-app.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('examples/door-controller', () => {
  it('keeps its allow-list through a SCIM deactivation, a reconnect and an expired cursor', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const place = await d.places.createPlace(o.actor, { name: 'Depot' });
    const front = await buildLock(d, o.actor, place.id);
    const back = await buildLock(d, o.actor, place.id);
    const elsewhere = await buildLock(d, o.actor);
    // People provisioned by Entra over SCIM.
    const { token } = await d.organizations.enableScim(o.actor);
    const scim = new ScimClient(h.url.replace(/\/graphql$/, '/scim/v2'), token);
    const alice = (await scim.post('/Users', entraUser('alice.door@example.com'))).body.id as string;
    const bob = (await scim.post('/Users', entraUser('bob.door@example.com'))).body.id as string;
    expect(alice).toBeTruthy();
    await d.shares.grant(o.actor, { memberId: alice, placeId: place.id });
    await d.shares.grant(o.actor, { memberId: bob, lockId: front.id });
    await d.shares.grant(o.actor, { memberId: bob, lockId: elsewhere.id });
    // A controller key for the place only.
    const key = (await d.apiKeys.create(o.actor, { name: 'depot door', role: 'controller', placeIds: [place.id] })).key;

    const decisions: Decision[] = [];
    const controller = new DoorController({ url: h.url, key, placeIds: [place.id], minDelayMs: 50, maxDelayMs: 400, onDecision: (x) => decisions.push(x), log: () => undefined });
    await controller.start();
    try {
      expect(controller.allowList(front.id)).toEqual([alice, bob].sort());
      expect(controller.allowList(back.id)).toEqual([alice]);
      expect(controller.mayOpen(bob, elsewhere.id)).toBe(false);

      // Entra deactivates Alice: every lock of the place refuses her, pushed.
      const patched = await scim.patch(`/Users/${alice}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      });
      expect(patched.status).toBe(200);
      await until(() => !controller.mayOpen(alice, front.id) && !controller.mayOpen(alice, back.id), 'the deactivation');
      expect(controller.allowList(front.id)).toEqual([bob]);
      expect(decisions.filter((x) => x.memberId === alice && !x.allow && x.via === 'change').map((x) => x.lockId).sort()).toEqual([front.id, back.id].sort());

      // The connection drops; changes happen meanwhile; it reconnects and resumes from its cursor.
      const carol = await buildMember(d, o.actor);
      controller.interrupt();
      await d.shares.grant(o.actor, { memberId: carol.id, lockId: back.id });
      await scim.patch(`/Users/${bob}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      });
      await until(() => controller.connects >= 2 && controller.mayOpen(carol.id, back.id) && !controller.mayOpen(bob, front.id), 'the resume');
      expect(controller.allowList(front.id)).toEqual([]);
      expect(controller.allowList(back.id)).toEqual([carol.id]);
      // Each change arrived once: one decision per (member, lock) change, none repeated.
      const changes = decisions.filter((x) => x.via === 'change').map((x) => `${x.memberId}/${x.lockId}/${x.allow}`);
      expect(changes.sort()).toEqual([`${alice}/${front.id}/false`, `${alice}/${back.id}/false`, `${carol.id}/${back.id}/true`, `${bob}/${front.id}/false`].sort());
      expect(controller.snapshots).toBe(1);

      // Away longer than the feed keeps: the cursor expires, the controller loads the snapshot again.
      await controller.stop();
      const dave = await buildMember(d, o.actor);
      await d.shares.grant(o.actor, { memberId: dave.id, placeId: place.id });
      await h.t.database.db.sql.one(`update access_feed_heads set purged_through = position where organization_id = $1 returning position`, [o.id]);
      await controller.resume().catch(() => undefined);
      await until(() => controller.snapshots === 2 && controller.mayOpen(dave.id, front.id), 'the reload');
      expect(controller.allowList(front.id)).toEqual([dave.id]);
      expect(controller.allowList(back.id)).toEqual([carol.id, dave.id].sort());
      // And it follows live changes again from the new snapshot's cursor.
      await until(() => controller.connects >= 3, 'the new subscription');
      await d.members.update(o.actor, carol.id, { active: false });
      await until(() => !controller.mayOpen(carol.id, back.id), 'a live change after the reload');
    } finally {
      await controller.stop();
    }
  }, 120_000);

  it('catches up after hundreds of changes by pages of lockAccessChanges, in commit order, with no gap or duplicate', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const people: string[] = [];
    for (let i = 0; i < 60; i++) people.push((await buildMember(d, o.actor)).id);
    const group = await buildGroup(d, o.actor, people);
    const key = (await d.apiKeys.create(o.actor, { name: 'away door', role: 'controller', lockIds: [lock.id] })).key;
    const decisions: Decision[] = [];
    const controller = new DoorController({ url: h.url, key, lockIds: [lock.id], pageSize: 50, minDelayMs: 50, maxDelayMs: 400, onDecision: (x) => decisions.push(x), log: () => undefined });
    await controller.start();
    try {
      expect(controller.allowList(lock.id)).toEqual([]);
      await controller.stop();
      // Away while the group's share is granted and revoked five times: 300 entries, in rounds of 60.
      const rounds = 5;
      let share: string | null = null;
      for (let round = 0; round < rounds; round++) {
        if (share) {
          await d.shares.revoke(o.actor, share);
          share = null;
        } else share = (await d.shares.grant(o.actor, { groupId: group.id, lockId: lock.id })).id;
      }
      // Back with its cursor; one more round commits while it catches up (the subscription brings it).
      const pagesBefore = controller.pages;
      const resumed = controller.resume();
      await d.shares.revoke(o.actor, share!);
      await resumed;
      await until(() => decisions.length === (rounds + 1) * people.length, 'every entry');
      // Several pages of 50 were read, not one message per entry.
      expect(controller.pages - pagesBefore).toBeGreaterThanOrEqual(5);
      // Round by round, in commit order: each member allowed, then refused, once per round, nothing missing, nothing twice.
      for (let round = 0; round <= rounds; round++) {
        const slice = decisions.slice(round * people.length, (round + 1) * people.length);
        expect(slice.map((x) => x.memberId).sort()).toEqual([...people].sort());
        expect(slice.every((x) => x.via === 'change' && x.lockId === lock.id && x.allow === (round % 2 === 0))).toBe(true);
      }
      expect(controller.allowList(lock.id)).toEqual([]);
      // And it follows live changes after catching up.
      await d.shares.grant(o.actor, { memberId: people[0]!, lockId: lock.id });
      await until(() => controller.mayOpen(people[0]!, lock.id), 'a live change after the catch-up');
      await new Promise((r) => setTimeout(r, 200));
      expect(decisions.length).toBe((rounds + 1) * people.length + 1);
    } finally {
      await controller.stop();
    }
  }, 120_000);

  it('loses nothing when the Gatehouse process it is connected to restarts: it reconnects by itself and resumes from its cursor', async () => {
    const o = await h.org();
    const d = h.t.domain;
    const lock = await buildLock(d, o.actor);
    const [ann, ben, cy] = await Promise.all([0, 1, 2].map(() => buildMember(d, o.actor)));
    await d.shares.grant(o.actor, { memberId: ann!.id, lockId: lock.id });
    const key = (await d.apiKeys.create(o.actor, { name: 'restart door', role: 'controller', lockIds: [lock.id] })).key;
    // Process B (its own pool and LISTEN connection on the same database) serves the controller; changes go through process A.
    let b: TestApp | null = await startTestApp({ db: h.t, ownDatabase: true });
    const port = Number(new URL(b.url).port);
    const decisions: Decision[] = [];
    const controller = new DoorController({ url: `${b.url}/graphql`, key, lockIds: [lock.id], minDelayMs: 50, maxDelayMs: 400, onDecision: (x) => decisions.push(x), log: () => undefined });
    await controller.start();
    try {
      expect(controller.allowList(lock.id)).toEqual([ann!.id]);
      // B goes down (a deploy, a crash): the controller's connection drops; changes commit through A meanwhile.
      await b.close();
      b = null;
      await d.members.update(o.actor, ann!.id, { active: false });
      await d.shares.grant(o.actor, { memberId: ben!.id, lockId: lock.id });
      // The controller retries against nothing for a while.
      await new Promise((r) => setTimeout(r, 1_000));
      expect(controller.mayOpen(ann!.id, lock.id)).toBe(true);
      // B starts again where the controller expects it: it catches up from its cursor, then follows live.
      b = await startTestApp({ db: h.t, ownDatabase: true, port });
      await until(() => controller.connects >= 2 && controller.mayOpen(ben!.id, lock.id) && !controller.mayOpen(ann!.id, lock.id), 'the resume on the restarted process');
      await d.shares.grant(o.actor, { memberId: cy!.id, lockId: lock.id });
      await until(() => controller.mayOpen(cy!.id, lock.id), "a change through A, live on the restarted B");
      await new Promise((r) => setTimeout(r, 200));
      // Every change once, in commit order; no snapshot needed again.
      expect(decisions.map((x) => [x.memberId, x.allow, x.via])).toEqual([
        [ann!.id, true, 'snapshot'],
        [ann!.id, false, 'change'],
        [ben!.id, true, 'change'],
        [cy!.id, true, 'change'],
      ]);
      expect(controller.snapshots).toBe(1);
      expect(controller.allowList(lock.id)).toEqual([ben!.id, cy!.id].sort());
    } finally {
      await controller.stop();
      await b?.close();
    }
  }, 120_000);
});
