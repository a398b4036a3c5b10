// Signed webhooks end to end: endpoints, the audit stream turned into
// deliveries exactly once, Standard Webhooks signatures checked by the
// reference library, secret rotation with overlap, back-off, giving up,
// disabling an endpoint that fails for long, the delivery log, manual
// redelivery, and every receiver fault: hanging, 500, slow, redirecting,
// private addresses, huge answers, a sender that dies mid-delivery.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, TEST_SECRET, type TestDb } from '../../setup/test-db.js';
import { buildGroup, buildLock, buildMember, buildOrg } from '../../factories/index.js';
import { createDomain, type Actor, type Domain } from '../../../src/domain/index.js';
import { DEFAULT_WEBHOOK_POLICY, type WebhookPolicy } from '../../../src/domain/webhooks/webhook.service.js';
import { createHttpWebhookSender, refusedAddress } from '../../../src/integrations/webhooks/http-sender.js';
import type { WebhookSender } from '../../../src/domain/webhooks/webhook.model.js';
import { deliveryPass } from '../../../src/scheduler/delivery-worker.js';
import { startReceiver, verify, type Receiver } from '../../setup/webhook-receiver.js';
import { waitForFence } from '../../setup/fence.js';

let t: TestDb;
let rx: Receiver;
let sender: ReturnType<typeof createHttpWebhookSender>;
beforeAll(async () => {
  t = await createTestDb({ poolSize: 12 });
  rx = await startReceiver();
  sender = createHttpWebhookSender({ timeoutMs: 1500, allowPrivateNetworks: true });
});
afterAll(async () => {
  sender.close();
  await rx.close();
  await t.close();
});

/** A domain on the test database with its own webhook policy (fast retries for the tests). */
function domainWith(policy: Partial<WebhookPolicy>): Domain {
  return createDomain(t.database.db, TEST_SECRET, undefined, { webhookPolicy: { ...DEFAULT_WEBHOOK_POLICY, ...policy } });
}

/** Waits until what committed is readable, then runs one delivery pass. */
async function pass(domain: Domain = t.domain, s: WebhookSender = sender) {
  await waitForFence(domain.db);
  return deliveryPass(domain, s, null, 10_000);
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function deliveriesOf(actor: Actor, endpointId: string) {
  return t.domain.webhooks.deliveries(actor, { endpointId, limit: 500 });
}

describe('endpoints', () => {
  it('validates what an admin registers and keeps organisations apart', async () => {
    const org = await buildOrg(t.domain);
    const w = t.domain.webhooks;
    const bad: [Record<string, unknown>, string][] = [
      [{ url: 'ftp://x.example/h', eventTypes: ['*'] }, 'invalid_url'],
      [{ url: 'not a url', eventTypes: ['*'] }, 'invalid_url'],
      [{ url: 'https://user:pw@x.example/h', eventTypes: ['*'] }, 'invalid_url'],
      [{ url: 'https://x.example/h#frag', eventTypes: ['*'] }, 'invalid_url'],
      [{ url: `https://x.example/${'a'.repeat(2100)}`, eventTypes: ['*'] }, 'too_long'],
      [{ url: 'https://x.example/h', eventTypes: [] }, 'required'],
      [{ url: 'https://x.example/h', eventTypes: ['member.exploded'] }, 'unknown_event_type'],
      [{ url: 'https://x.example/h', eventTypes: [42] }, 'unknown_event_type'],
      [{ url: 'https://x.example/h', eventTypes: ['*'], description: 'x'.repeat(501) }, 'invalid_value'],
    ];
    for (const [input, code] of bad) {
      await expect(w.create(org.actor, input as never)).rejects.toMatchObject({ code });
    }
    const { endpoint, secret } = await w.create(org.actor, { url: 'https://hooks.example.com/gatehouse', eventTypes: ['member.created', 'member.created', '*'] });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(endpoint.eventTypes).toEqual(['member.created', '*']);
    expect(JSON.stringify(await w.list(org.actor))).not.toContain(secret);

    const other = await buildOrg(t.domain);
    await expect(w.get(other.actor, endpoint.id)).rejects.toMatchObject({ code: 'webhook_endpoint_not_found' });
    await expect(w.update(other.actor, endpoint.id, { enabled: false })).rejects.toMatchObject({ code: 'webhook_endpoint_not_found' });
    await expect(w.delete(other.actor, endpoint.id)).rejects.toMatchObject({ code: 'webhook_endpoint_not_found' });
    await expect(w.rotateSecret(other.actor, endpoint.id)).rejects.toMatchObject({ code: 'webhook_endpoint_not_found' });
    await expect(w.get(org.actor, 'not-a-uuid')).rejects.toMatchObject({ code: 'webhook_endpoint_not_found' });
    await expect(w.list({ kind: 'api_key', organizationId: org.id, id: crypto.randomUUID(), label: 'r', role: 'reader' })).rejects.toMatchObject({ code: 'admin_role_required' });
    await expect(w.list({ kind: 'scim', organizationId: org.id, label: 'scim' })).rejects.toMatchObject({ code: 'admin_role_required' });
    await expect(w.rotateSecret(org.actor, endpoint.id, -1)).rejects.toMatchObject({ code: 'invalid_overlap' });

    const few = domainWith({ maxEndpointsPerOrganization: 2 });
    await few.webhooks.create(org.actor, { url: 'https://hooks.example.com/2', eventTypes: ['*'] });
    await expect(few.webhooks.create(org.actor, { url: 'https://hooks.example.com/3', eventTypes: ['*'] })).rejects.toMatchObject({ code: 'too_many_endpoints' });
  });
});

describe('events to deliveries', () => {
  it('tells a subscribed endpoint about members, groups, shares and sign-ins, signed so the reference library verifies it', async () => {
    const org = await buildOrg(t.domain);
    const { endpoint, secret } = await t.domain.webhooks.create(org.actor, { url: `${rx.url}/ok`, eventTypes: ['*'] });
    const before = rx.on('/ok').length;
    const m = await buildMember(t.domain, org.actor);
    const n = await buildMember(t.domain, org.actor);
    const g = await buildGroup(t.domain, org.actor, [m.id]);
    await t.domain.groups.update(org.actor, g.id, { addMembers: [n.id], removeMembers: [m.id] });
    await t.domain.members.update(org.actor, m.id, { active: false });
    const lock = await buildLock(t.domain, org.actor);
    const share = await t.domain.shares.grant(org.actor, { groupId: g.id, lockId: lock.id });
    await t.domain.shares.revoke(org.actor, share.id);
    await t.domain.members.delete(org.actor, n.id);
    await t.domain.saml.recordLoginFailure(org.id, { reason: 'unknown_user', message: 'no such user', nameId: 'ghost@x' });

    const r = await pass();
    expect(r.webhooks.failed).toBe(0);
    const got = rx.on('/ok').slice(before).map((req) => ({ req, payload: verify(secret, req) }));
    const types = got.map((x) => x.payload.type).sort();
    expect(types).toEqual(
      [
        'member.created',
        'member.created',
        'group.members_changed',
        'group.members_changed',
        'member.updated',
        'member.deactivated',
        'share.granted',
        'share.revoked',
        'member.deleted',
        'signin.refused',
      ].sort(),
    );
    const byType = (type: string) => got.filter((x) => x.payload.type === type).map((x) => x.payload.data);
    expect(byType('member.deactivated')[0]).toMatchObject({ member: { id: m.id, userName: m.userName }, actor: { kind: 'system' } });
    expect(byType('member.updated')[0]).toMatchObject({ changes: { active: { from: true, to: false } } });
    const changes = byType('group.members_changed');
    expect(changes).toContainEqual(expect.objectContaining({ group: { id: g.id, displayName: g.displayName }, added: [m.id], removed: [] }));
    expect(changes).toContainEqual(expect.objectContaining({ added: [n.id], removed: [m.id], addedCount: 1, removedCount: 1, truncated: false }));
    expect(byType('share.granted')[0]).toMatchObject({ share: { id: share.id, groupId: g.id, lockId: lock.id, role: 'user' } });
    expect(byType('signin.refused')[0]).toMatchObject({ nameId: 'ghost@x', reason: 'unknown_user' });
    for (const { req } of got) {
      expect(req.headers['content-type']).toBe('application/json');
      expect(req.headers['webhook-id']).toMatch(/^evt_\d+_[a-z_.]+$/);
      expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    }
    // A tampered body or a wrong secret does not verify.
    expect(() => verify(secret, { ...got[0]!.req, body: got[0]!.req.body.replace('member', 'memb3r') })).toThrow();
    expect(() => verify('whsec_' + Buffer.alloc(32, 1).toString('base64'), got[0]!.req)).toThrow();

    const log = await deliveriesOf(org.actor, endpoint.id);
    expect(log).toHaveLength(10);
    expect(log.every((d) => d.status === 'succeeded' && d.attempts === 1 && d.lastStatus === 200)).toBe(true);
    // Nothing more on the next pass: each event became its deliveries once.
    await pass();
    expect(rx.on('/ok').length).toBe(before + 10);
  });

  it('sends only the subscribed types, only events after the endpoint was created, and audit.event only when asked', async () => {
    const org = await buildOrg(t.domain);
    const early = await buildMember(t.domain, org.actor);
    const a = await t.domain.webhooks.create(org.actor, { url: `${rx.url}/status/204`, eventTypes: ['member.deleted'] });
    const b = await t.domain.webhooks.create(org.actor, { url: `${rx.url}/status/202`, eventTypes: ['audit.event'] });
    const m = await buildMember(t.domain, org.actor);
    await t.domain.members.delete(org.actor, m.id);
    await pass();
    const da = await deliveriesOf(org.actor, a.endpoint.id);
    expect(da.map((d) => d.eventType)).toEqual(['member.deleted']);
    const db = await deliveriesOf(org.actor, b.endpoint.id);
    // From the transaction that created endpoint b on: its own creation, then the member's creation and deletion.
    expect(db.map((d) => d.eventType)).toEqual(['audit.event', 'audit.event', 'audit.event']);
    const bodies = rx.on('/status/202').slice(-3).map((r) => verify(b.secret, r).data as { action: string; resource: { label: string } });
    expect(bodies.map((x) => x.action).sort()).toEqual(['member.create', 'member.delete', 'webhook.endpoint.create']);
    expect(JSON.stringify(bodies)).not.toContain(early.userName);
  });

  it('delivers an event whose transaction commits after later events were dispatched', async () => {
    const org = await buildOrg(t.domain);
    const { endpoint } = await t.domain.webhooks.create(org.actor, { url: `${rx.url}/status/200`, eventTypes: ['member.created'] });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let slowId = '';
    const slow = t.domain.db.transaction(async (tx) => {
      const { writeAudit } = await import('../../../src/domain/audit/audit.service.js');
      slowId = crypto.randomUUID();
      await writeAudit(tx, org.actor, { action: 'member.create', resourceType: 'member', resourceId: slowId, resourceLabel: 'slow@x' });
      await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    const fast = await buildMember(t.domain, org.actor);
    // The fence holds the fast event back while the slow transaction runs: dispatch now sends nothing of this organisation.
    await deliveryPass(t.domain, sender, null, 5_000);
    expect(await deliveriesOf(org.actor, endpoint.id)).toEqual([]);
    release();
    await slow;
    await pass();
    const sent = (await deliveriesOf(org.actor, endpoint.id)).map((d) => d.messageId);
    expect(sent).toHaveLength(2);
    expect(new Set(sent).size).toBe(2);
    void fast;
  });

  it('turns each event into deliveries once even when several processes dispatch at once', async () => {
    const org = await buildOrg(t.domain);
    const { endpoint } = await t.domain.webhooks.create(org.actor, { url: `${rx.url}/status/200`, eventTypes: ['member.created'] });
    for (let i = 0; i < 30; i++) await buildMember(t.domain, org.actor);
    await waitForFence(t.domain.db);
    const others = [domainWith({}), domainWith({}), domainWith({})];
    await Promise.all(others.map((d) => d.events.dispatch()));
    await Promise.all(others.map((d) => d.events.dispatch()));
    const log = await deliveriesOf(org.actor, endpoint.id);
    expect(log).toHaveLength(30);
    expect(new Set(log.map((d) => d.messageId)).size).toBe(30);
  });
});

describe('secret rotation', () => {
  it('signs with both secrets during the overlap, with the new one only after it', async () => {
    const org = await buildOrg(t.domain);
    const path = `/status/201`;
    const { endpoint, secret: oldSecret } = await t.domain.webhooks.create(org.actor, { url: `${rx.url}${path}`, eventTypes: ['member.created'] });
    const rotated = await t.domain.webhooks.rotateSecret(org.actor, endpoint.id, 3600);
    expect(rotated.previousSecretExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    await buildMember(t.domain, org.actor);
    await pass();
    const during = rx.on(path).at(-1)!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(oldSecret, during).type).toBe('member.created');
    expect(verify(rotated.secret, during).type).toBe('member.created');

    const again = await t.domain.webhooks.rotateSecret(org.actor, endpoint.id, 0);
    expect(again.previousSecretExpiresAt).toBeNull();
    await buildMember(t.domain, org.actor);
    await pass();
    const after = rx.on(path).at(-1)!;
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verify(again.secret, after).type).toBe('member.created');
    expect(() => verify(rotated.secret, after)).toThrow();
    expect(() => verify(oldSecret, after)).toThrow();
  });
});

describe('receiver faults', () => {
  it('retries a 500 with back-off, logs each attempt, and delivers once the receiver recovers', async () => {
    const d = domainWith({ firstRetrySeconds: 0.2, retryFactor: 2 });
    const org = await buildOrg(t.domain);
    const path = `/flaky/2/${crypto.randomUUID()}`;
    const { endpoint } = await d.webhooks.create(org.actor, { url: `${rx.url}${path}`, eventTypes: ['member.created'] });
    await buildMember(t.domain, org.actor);
    await pass(d);
    let [del] = await deliveriesOf(org.actor, endpoint.id);
    expect(del).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500, lastError: 'the receiver answered 500' });
    expect(del!.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now() - 50);
    expect((await d.webhooks.get(org.actor, endpoint.id)).failingSince).not.toBeNull();
    // Not yet due: a pass right away sends nothing.
    await deliveryPass(d, sender, null, 2000);
    expect(rx.on(path)).toHaveLength(1);
    for (let i = 0; i < 30 && del!.status === 'pending'; i++) {
      await new Promise((r) => setTimeout(r, 150));
      await deliveryPass(d, sender, null, 2000);
      [del] = await deliveriesOf(org.actor, endpoint.id);
    }
    expect(del).toMatchObject({ status: 'succeeded', attempts: 3, lastStatus: 200 });
    const detail = await d.webhooks.delivery(org.actor, del!.id);
    expect(detail.attemptLog.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    // The same message every time: one webhook-id, one body.
    expect(new Set(rx.on(path).map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(rx.on(path).map((r) => r.body)).size).toBe(1);
    expect((await d.webhooks.get(org.actor, endpoint.id)).failingSince).toBeNull();
  });

  it('gives up after the retry window, and disables an endpoint that failed for too long', async () => {
    const d = domainWith({ firstRetrySeconds: 0.05, retryFactor: 1, giveUpAfterSeconds: 1, disableAfterSeconds: 3 });
    const org = await buildOrg(t.domain);
    const { endpoint } = await d.webhooks.create(org.actor, { url: `${rx.url}/status/503/${crypto.randomUUID()}`, eventTypes: ['member.created'] });
    await buildMember(t.domain, org.actor);
    await pass(d);
    let first = (await deliveriesOf(org.actor, endpoint.id))[0]!;
    const failingFrom = Date.now();
    for (let i = 0; i < 200 && first.status === 'pending'; i++) {
      await new Promise((r) => setTimeout(r, 60));
      await deliveryPass(d, sender, null, 2000);
      first = (await deliveriesOf(org.actor, endpoint.id))[0]!;
    }
    expect(first.status).toBe('failed');
    const log = await d.webhooks.delivery(org.actor, first.id);
    expect(log.attemptLog).toHaveLength(first.attempts);
    expect(log.attemptLog.every((a) => a.statusCode === 503)).toBe(true);
    // Given up within its window (plus the last attempt), not before.
    expect(first.lastAttemptAt!.getTime() - first.createdAt.getTime()).toBeLessThan(1000 + 5000);
    expect((await d.webhooks.get(org.actor, endpoint.id)).enabled).toBe(true);

    // Still failing after the disable window: the endpoint is disabled, its waiting deliveries fail, the audit says so.
    await new Promise((r) => setTimeout(r, Math.max(0, 3200 - (Date.now() - failingFrom))));
    await buildMember(t.domain, org.actor);
    await pass(d);
    const ep = await d.webhooks.get(org.actor, endpoint.id);
    expect(ep.enabled).toBe(false);
    expect(ep.disabledReason).toMatch(/^every delivery failed since \d{4}-/);
    const audit = await t.domain.audit.list(org.actor, { actionPrefix: 'webhook.endpoint.disable' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorKind: 'system', reason: 'endpoint_failing', resourceId: endpoint.id });
    // Disabled: new events make no deliveries; redelivery asks to enable it first.
    const count = (await deliveriesOf(org.actor, endpoint.id)).length;
    await buildMember(t.domain, org.actor);
    await pass(d);
    expect(await deliveriesOf(org.actor, endpoint.id)).toHaveLength(count);
    await expect(d.webhooks.redeliver(org.actor, first.id)).rejects.toMatchObject({ code: 'endpoint_disabled' });
    // Enabled again (and fixed), the failed deliveries can be sent again in one go.
    await d.webhooks.update(org.actor, endpoint.id, { enabled: true, url: `${rx.url}/status/200` });
    expect((await d.webhooks.get(org.actor, endpoint.id)).failingSince).toBeNull();
    const n = await d.webhooks.redeliverFailed(org.actor, endpoint.id);
    expect(n).toBe(count);
    await pass(d);
    expect((await deliveriesOf(org.actor, endpoint.id)).every((x) => x.status === 'succeeded')).toBe(true);
  });

  it('times out a hanging receiver without holding back healthy endpoints, and takes a slow one that answers in time', async () => {
    // A deadline long enough that a healthy delivery queued behind hanging ones would show (the machine may be slow).
    const patient = createHttpWebhookSender({ timeoutMs: 5000, allowPrivateNetworks: true });
    const org = await buildOrg(t.domain);
    const hang = await t.domain.webhooks.create(org.actor, { url: `${rx.url}/hang`, eventTypes: ['member.created'] });
    const slowPath = `/slow/400/${crypto.randomUUID()}`;
    const slow = await t.domain.webhooks.create(org.actor, { url: `${rx.url}${slowPath}`, eventTypes: ['member.created'] });
    const okPath = `/status/200/${crypto.randomUUID()}`;
    const ok = await t.domain.webhooks.create(org.actor, { url: `${rx.url}${okPath}`, eventTypes: ['member.created'] });
    for (let i = 0; i < 6; i++) await buildMember(t.domain, org.actor);
    await waitForFence(t.domain.db);
    const started = Date.now();
    await deliveryPass(t.domain, patient, null, 30_000).finally(() => patient.close());
    // Each hanging request ended at the sender's deadline (5 s), four at a time: not 6 × 5 s in a row.
    expect(Date.now() - started).toBeLessThan(6 * 5000 - 5000);
    const hung = await deliveriesOf(org.actor, hang.endpoint.id);
    expect(hung.every((d) => d.status === 'pending' && d.lastStatus === null && /no answer within 5000 ms/.test(d.lastError ?? ''))).toBe(true);
    expect((await deliveriesOf(org.actor, slow.endpoint.id)).every((d) => d.status === 'succeeded')).toBe(true);
    expect((await deliveriesOf(org.actor, ok.endpoint.id)).every((d) => d.status === 'succeeded')).toBe(true);
    // The healthy endpoint's requests did not queue behind the hanging ones (which took 5 s each).
    const okTimes = rx.on(okPath).slice(-6).map((r) => r.at - started);
    expect(Math.max(...okTimes)).toBeLessThan(4000);
  });

  it('follows a redirect only to the same origin and only when it keeps the POST', async () => {
    const org = await buildOrg(t.domain);
    const other = await startReceiver();
    try {
      const cases = [
        { url: `${rx.url}/redirect?code=307&to=${encodeURIComponent('/status/200')}`, ok: true },
        { url: `${rx.url}/redirect?code=302&to=${encodeURIComponent('/status/200')}`, ok: false, error: /redirect \(302\) not followed/ },
        { url: `${rx.url}/redirect?code=307&to=${encodeURIComponent(`${other.url}/ok`)}`, ok: false, error: /redirect to another host \(127\.0\.0\.1:\d+\) not followed/ },
        { url: `${rx.url}/redirect?code=308&to=${encodeURIComponent(`http://localhost:${new URL(rx.url).port}/ok`)}`, ok: false, error: /another host/ },
      ];
      const eps = [];
      for (const c of cases) eps.push(await t.domain.webhooks.create(org.actor, { url: c.url, eventTypes: ['member.created'] }));
      await buildMember(t.domain, org.actor);
      await pass();
      for (const [i, c] of cases.entries()) {
        const [d] = await deliveriesOf(org.actor, eps[i]!.endpoint.id);
        if (c.ok) expect(d).toMatchObject({ status: 'succeeded', lastStatus: 200 });
        else {
          expect(d!.status).toBe('pending');
          expect(d!.lastError).toMatch(c.error!);
        }
      }
      expect(other.received).toHaveLength(0);
    } finally {
      await other.close();
    }
  });

  it('refuses private and loopback addresses unless the operator allows them, before any byte is sent', async () => {
    const strict = createHttpWebhookSender({ timeoutMs: 1500, allowPrivateNetworks: false });
    try {
      const port = new URL(rx.url).port;
      const before = rx.received.length;
      for (const url of [`${rx.url}/ok`, `http://localhost:${port}/ok`, `http://[::1]:${port}/ok`, `http://[::ffff:127.0.0.1]:${port}/ok`, `http://10.1.2.3:${port}/ok`]) {
        const r = await strict.send({ url, headers: {}, body: '{}' });
        expect(r.status).toBeNull();
        expect(r.error).toMatch(/^address refused: .*(loopback|private)/);
      }
      expect(rx.received.length).toBe(before);
    } finally {
      strict.close();
    }
    expect(refusedAddress('8.8.8.8', false)).toBeNull();
    expect(refusedAddress('2606:4700::1111', false)).toBeNull();
    for (const a of ['127.0.0.1', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '::1', 'fe80::1', 'fc00::1', '::ffff:10.0.0.1', '0.0.0.0']) {
      expect(refusedAddress(a, false)).not.toBeNull();
    }
    expect(refusedAddress('169.254.169.254', true)).toBeNull();
    expect(refusedAddress('0.0.0.0', true)).not.toBeNull();
  });

  it('reads only the beginning of a huge answer', async () => {
    const started = Date.now();
    const r = await sender.send({ url: `${rx.url}/big`, headers: {}, body: '{}' });
    expect(r.status).toBe(200);
    expect(r.responseExcerpt!.length).toBe(1024);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('redelivery and restarts', () => {
  it('redelivers the same message on demand, also one already delivered', async () => {
    const org = await buildOrg(t.domain);
    const path = `/status/200/${crypto.randomUUID()}`;
    const { endpoint, secret } = await t.domain.webhooks.create(org.actor, { url: `${rx.url}${path}`, eventTypes: ['member.created'] });
    await buildMember(t.domain, org.actor);
    await pass();
    const [d] = await deliveriesOf(org.actor, endpoint.id);
    const first = rx.on(path).at(-1)!;
    await expect(t.domain.webhooks.redeliver(org.actor, crypto.randomUUID())).rejects.toMatchObject({ code: 'webhook_delivery_not_found' });
    const other = await buildOrg(t.domain);
    await expect(t.domain.webhooks.redeliver(other.actor, d!.id)).rejects.toMatchObject({ code: 'webhook_delivery_not_found' });
    expect((await t.domain.webhooks.redeliver(org.actor, d!.id)).status).toBe('pending');
    await pass();
    const second = rx.on(path).at(-1)!;
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.body).toBe(first.body);
    expect(verify(secret, second).type).toBe('member.created');
    expect((await t.domain.webhooks.delivery(org.actor, d!.id)).attemptLog).toHaveLength(2);
    expect((await t.domain.audit.list(org.actor, { actionPrefix: 'webhook.delivery.redeliver' }))).toHaveLength(1);
  });

  it('loses nothing when a sender dies mid-delivery: another one takes the delivery over once its lease ends', async () => {
    // Leases long enough that no pass sees one end on its own; the test ends them explicitly (the clock moving on).
    const d1 = domainWith({ claimSeconds: 600, perEndpointConcurrency: 10 });
    const d2 = domainWith({ claimSeconds: 600, perEndpointConcurrency: 10 });
    const org = await buildOrg(t.domain);
    const path = `/status/200/${crypto.randomUUID()}`;
    const { endpoint } = await d1.webhooks.create(org.actor, { url: `${rx.url}${path}`, eventTypes: ['member.created'] });
    for (let i = 0; i < 5; i++) await buildMember(t.domain, org.actor);
    await waitForFence(t.domain.db);
    await d1.events.dispatch();
    // Process 1 claims the deliveries and then never gets anywhere (as if killed while sending).
    const dead: WebhookSender = { send: () => new Promise(() => undefined) };
    void d1.webhooks.deliverDue(dead, { budgetMs: 100 });
    await waitUntil(async () => (await deliveriesOf(org.actor, endpoint.id)).every((x) => x.attempts === 1));
    // While the lease holds, process 2 does not take them: no duplicate.
    await d2.webhooks.deliverDue(sender, { budgetMs: 500 });
    expect(rx.on(path)).toHaveLength(0);
    expect((await deliveriesOf(org.actor, endpoint.id)).every((x) => x.attempts === 1 && x.status === 'pending')).toBe(true);
    // Process 1's leases end.
    await t.domain.db.sql.run(`update webhook_deliveries set claimed_until = now() - interval '1 second' where organization_id = $1 and endpoint_id = $2`, [org.id, endpoint.id]);
    await d2.webhooks.deliverDue(sender, { budgetMs: 60_000 });
    expect(rx.on(path)).toHaveLength(5);
    const log = await deliveriesOf(org.actor, endpoint.id);
    expect(log.every((x) => x.status === 'succeeded' && x.attempts === 2)).toBe(true);
  });

  it('two senders at once send each delivery once', async () => {
    const org = await buildOrg(t.domain);
    const path = `/status/200/${crypto.randomUUID()}`;
    const { endpoint } = await t.domain.webhooks.create(org.actor, { url: `${rx.url}${path}`, eventTypes: ['member.created'] });
    for (let i = 0; i < 40; i++) await buildMember(t.domain, org.actor);
    await waitForFence(t.domain.db);
    await t.domain.events.dispatch();
    const ids = new Set((await deliveriesOf(org.actor, endpoint.id)).map((d) => d.messageId));
    const before = rx.on(path).length;
    await Promise.all([domainWith({ batchSize: 5 }).webhooks.deliverDue(sender), domainWith({ batchSize: 5 }).webhooks.deliverDue(sender)]);
    const sent = rx.on(path).slice(before).map((r) => String(r.headers['webhook-id']));
    expect(sent).toHaveLength(40);
    expect(new Set(sent)).toEqual(ids);
  });
});
