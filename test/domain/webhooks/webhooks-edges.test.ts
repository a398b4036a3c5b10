// Webhook endpoints through GraphQL and the CLI: every operation, and the
// clear 4xx / exit code for bad input, unknown ids, other tenants and roles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMember, buildOrg } from '../../factories/index.js';
import { runCliOn } from '../../setup/cli.js';
import { startHarness, codes, type Harness } from '../../graphql/harness.js';
import { createHttpWebhookSender } from '../../../src/integrations/webhooks/http-sender.js';
import { deliveryPass } from '../../../src/scheduler/delivery-worker.js';
import { startReceiver, verify, type Receiver } from '../../setup/webhook-receiver.js';
import { waitForFence } from '../../setup/fence.js';

let h: Harness;
let rx: Receiver;
const sender = createHttpWebhookSender({ timeoutMs: 2000, allowPrivateNetworks: true });
beforeAll(async () => {
  h = await startHarness();
  rx = await startReceiver();
});
afterAll(async () => {
  sender.close();
  await rx.close();
  await h.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('webhooks over GraphQL', () => {
  it('creates, lists, updates, rotates, shows the log, redelivers and deletes', async () => {
    const org = await h.org();
    const admin = { apiKey: org.admin };
    const created = await h.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes enabled } } }`,
      { input: { url: `${rx.url}/status/200`, eventTypes: ['member.created'], description: 'HR' } },
      admin,
    );
    expect(created.status).toBe(200);
    const { secret, endpoint } = created.body.data!.createWebhookEndpoint as Json;
    expect(endpoint).toMatchObject({ url: `${rx.url}/status/200`, eventTypes: ['member.created'], enabled: true });

    const types = await h.gql(`{ webhookEventTypes { type description } }`, {}, admin);
    expect((types.body.data!.webhookEventTypes as Json[]).map((x: Json) => x.type)).toContain('member.deactivated');

    await buildMember(h.t.domain, org.actor);
    await waitForFence(h.t.domain.db);
    await deliveryPass(h.t.domain, sender, null, 5000);
    const log = await h.gql(`query($e: ID) { webhookDeliveries(endpointId: $e) { id status eventType messageId attempts lastStatus } }`, { e: endpoint.id }, admin);
    const [d] = log.body.data!.webhookDeliveries as Json[];
    expect(d).toMatchObject({ status: 'SUCCEEDED', eventType: 'member.created', attempts: 1, lastStatus: 200 });
    expect(verify(secret, rx.on('/status/200').at(-1)!).type).toBe('member.created');

    const one = await h.gql(`query($id: ID!) { webhookDelivery(id: $id) { payload attemptLog { attempt statusCode durationMs } } }`, { id: d.id }, admin);
    expect(JSON.parse((one.body.data!.webhookDelivery as Json).payload)).toMatchObject({ type: 'member.created' });
    expect((one.body.data!.webhookDelivery as Json).attemptLog).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200 })]);

    const re = await h.gql(`mutation($id: ID!) { redeliverWebhook(id: $id) { status } }`, { id: d.id }, admin);
    expect((re.body.data!.redeliverWebhook as Json).status).toBe('PENDING');

    const rotated = await h.gql(`mutation($id: ID!) { rotateWebhookSecret(id: $id, overlapSeconds: 60) { secret previousSecretExpiresAt } }`, { id: endpoint.id }, admin);
    expect((rotated.body.data!.rotateWebhookSecret as Json).secret).toMatch(/^whsec_/);
    expect((rotated.body.data!.rotateWebhookSecret as Json).previousSecretExpiresAt).not.toBeNull();

    const upd = await h.gql(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: { enabled: false, eventTypes: ["*"] }) { enabled eventTypes disabledReason } }`, { id: endpoint.id }, admin);
    expect(upd.body.data!.updateWebhookEndpoint).toEqual({ enabled: false, eventTypes: ['*'], disabledReason: 'disabled by an administrator' });
    const list = await h.gql(`{ webhookEndpoints { id enabled } }`, {}, admin);
    expect(list.body.data!.webhookEndpoints).toEqual([{ id: endpoint.id, enabled: false }]);
    const del = await h.gql(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: endpoint.id }, admin);
    expect(del.body.data!.deleteWebhookEndpoint).toBe(true);
  });

  it('answers bad input, unknown ids, other organisations and reader keys with clear errors', async () => {
    const org = await h.org();
    const other = await h.org();
    const admin = { apiKey: org.admin };
    const create = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`;
    const bad = await h.gql(create, { input: { url: 'javascript:alert(1)', eventTypes: ['*'] } }, admin);
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    expect(bad.body.errors![0]!.extensions!.field).toBe('url');
    expect(codes(await h.gql(create, { input: { url: 'https://x.example', eventTypes: ['nope'] } }, admin))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await h.gql(create, { input: { url: 'https://x.example', eventTypes: [null] } }, admin))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await h.gql(create, { input: { url: 42, eventTypes: ['*'] } }, admin))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await h.gql(create, { input: { url: 'https://x.example', eventTypes: ['*'] } }, { apiKey: org.reader }))).toEqual(['FORBIDDEN']);

    const mine = (await h.gql(create, { input: { url: 'https://x.example/h', eventTypes: ['*'] } }, admin)).body.data!.createWebhookEndpoint as Json;
    const theirs = { apiKey: other.admin };
    expect(codes(await h.gql(`query($id: ID!) { webhookEndpoint(id: $id) { id } }`, { id: mine.endpoint.id }, theirs))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, { id: mine.endpoint.id }, theirs))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(`mutation($id: ID!) { redeliverWebhook(id: $id) { id } }`, { id: 'nope' }, admin))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(`query { webhookDeliveries(before: "x") { id } }`, {}, admin))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await h.gql(`mutation($id: ID!) { rotateWebhookSecret(id: $id, overlapSeconds: -5) { secret } }`, { id: mine.endpoint.id }, admin))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await h.gql(`{ webhookEndpoints { id } }`, {}, { apiKey: org.reader }))).toEqual(['FORBIDDEN']);
  });
});

describe('webhook CLI', () => {
  const cli = (...argv: string[]) => runCliOn(h.t.url, argv);

  it('runs the whole life of an endpoint and refuses bad options', async () => {
    const org = await buildOrg(h.t.domain);
    const created = await cli('webhook', 'create', '--org', org.domain, '--url', `${rx.url}/status/200`, '--events', 'member.created,member.deleted', '--json');
    expect(created.code).toBe(0);
    const { endpoint, secret } = created.json();
    expect(endpoint.eventTypes).toEqual(['member.created', 'member.deleted']);
    expect(secret).toMatch(/^whsec_/);
    const text = await cli('webhook', 'list', '--org', org.domain);
    expect(text.stdout).toContain(endpoint.id);
    expect(text.stdout).not.toContain(secret);

    await buildMember(h.t.domain, org.actor);
    await waitForFence(h.t.domain.db);
    await deliveryPass(h.t.domain, sender, null, 5000);
    const deliveries = (await cli('webhook', 'deliveries', '--org', org.domain, '--endpoint', endpoint.id, '--json')).json().deliveries;
    expect(deliveries).toHaveLength(1);
    const detail = await cli('webhook', 'delivery', '--org', org.domain, '--id', deliveries[0].id);
    expect(detail.stdout).toMatch(/member\.created evt_\d+_member\.created: succeeded after 1 attempt/);
    expect((await cli('webhook', 'redeliver', '--org', org.domain, '--id', deliveries[0].id)).code).toBe(0);
    const rotated = (await cli('webhook', 'rotate-secret', '--org', org.domain, '--id', endpoint.id, '--overlap', '2h', '--json')).json();
    expect(new Date(rotated.previousSecretExpiresAt).getTime()).toBeGreaterThan(Date.now() + 7000_000);
    const disabled = (await cli('webhook', 'update', '--org', org.domain, '--id', endpoint.id, '--disable', '--json')).json();
    expect(disabled.endpoint.enabled).toBe(false);
    expect((await cli('webhook', 'redeliver', '--org', org.domain, '--endpoint', endpoint.id, '--failed')).code).toBe(1);
    expect((await cli('webhook', 'update', '--org', org.domain, '--id', endpoint.id, '--enable')).code).toBe(0);
    expect((await cli('webhook', 'events')).stdout).toContain('group.members_changed');

    expect((await cli('webhook', 'rotate-secret', '--org', org.domain, '--id', endpoint.id, '--overlap', 'soon')).code).toBe(2);
    expect((await cli('webhook', 'deliveries', '--org', org.domain, '--status', 'lost')).code).toBe(2);
    expect((await cli('webhook', 'redeliver', '--org', org.domain)).code).toBe(2);
    expect((await cli('webhook', 'update', '--org', org.domain, '--id', endpoint.id, '--enable', '--disable')).code).toBe(2);
    const badUrl = await cli('webhook', 'create', '--org', org.domain, '--url', 'ftp://x', '--events', '*');
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toMatch(/^error: url must be an http\(s\) URL/);
    expect((await cli('webhook', 'delete', '--org', org.domain, '--id', crypto.randomUUID())).code).toBe(1);
    expect((await cli('webhook', 'delete', '--org', org.domain, '--id', endpoint.id)).code).toBe(0);
  });
});
