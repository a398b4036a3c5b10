// The Entra group import through GraphQL: admin keys create, run, pause and
// delete integrations; readers may not; the secret never comes back.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/http/logger.js';
import { createDomain, type Domain } from '../../src/domain/index.js';
import { createEntraGraphClient } from '../../src/integrations/entra-graph/graph-client.js';
import { createTestDb, TEST_SECRET, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import { entraUser, GraphStandIn } from '../setup/graph-stand-in.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = '66666666-7777-8888-9999-000000000000';
const GROUP = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
let t: TestDb;
let graph: GraphStandIn;
let domain: Domain;
let app: App;
let server: http.Server;
let url: string;

beforeAll(async () => {
  t = await createTestDb();
  graph = await new GraphStandIn({ tenantId: TENANT, clientId: CLIENT, clientSecret: 's3cret-value' }).start();
  domain = createDomain(t.database.db, TEST_SECRET, undefined, { entraDirectory: createEntraGraphClient({ graphBaseUrl: graph.url, loginBaseUrl: graph.url }) });
  app = await createApp({ config: loadConfig({ NODE_ENV: 'test', IMPORT_SCHEDULER: 'off' }), db: t.database.db, domain, logger: createLogger('silent') });
  server = http.createServer(app.listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await app.close();
  await graph.stop();
  await t.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Data = Record<string, any>;

async function gql(key: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as { data?: Data | null; errors?: { extensions?: { code?: string } }[] } };
}

describe('GraphQL: Entra group import', () => {
  it('creates, runs, lists, pauses and deletes an integration', async () => {
    const org = await buildOrg(domain);
    const admin = (await domain.apiKeys.create(org.actor, { name: 'a', role: 'admin' })).key;
    const reader = (await domain.apiKeys.create(org.actor, { name: 'r', role: 'reader' })).key;
    graph.groups.set(GROUP, [entraUser({ userPrincipalName: 'ada@contoso.com' }), entraUser({ userPrincipalName: 'bob@contoso.com' })]);

    const input = { name: 'Staff', tenantId: TENANT, clientId: CLIENT, clientSecret: 's3cret-value', entraGroupId: GROUP, identifier: 'UPN' };
    const refused = await gql(reader, `mutation($i: CreateImportIntegrationInput!) { createImportIntegration(input: $i) { id } }`, { i: input });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const created = await gql(admin, `mutation($i: CreateImportIntegrationInput!) { createImportIntegration(input: $i) { id name mode paused groupId } }`, { i: input });
    expect(JSON.stringify(created.body.errors)).toBeUndefined();
    const integration = created.body.data!.createImportIntegration;
    expect(integration).toMatchObject({ name: 'Staff', mode: 'USERS_ONLY', paused: false });
    expect(JSON.stringify(created.body)).not.toContain('s3cret-value');

    const run = await gql(admin, `mutation($id: ID!) { runImportIntegration(id: $id) { status added created removed errorCode } }`, { id: integration.id });
    expect(run.body.data!.runImportIntegration).toMatchObject({ status: 'success', added: 2, created: 2, removed: 0, errorCode: null });

    const list = await gql(admin, `{ importIntegrations { id lastRun { status added total } } }`);
    expect(list.body.data!.importIntegrations).toEqual([{ id: integration.id, lastRun: { status: 'success', added: 2, total: 2 } }]);

    const paused = await gql(admin, `mutation($id: ID!) { pauseImportIntegration(id: $id) { paused } }`, { id: integration.id });
    expect(paused.body.data!.pauseImportIntegration).toEqual({ paused: true });

    const deleted = await gql(admin, `mutation($id: ID!) { deleteImportIntegration(id: $id) }`, { id: integration.id });
    expect(deleted.body.data!.deleteImportIntegration).toBe(true);
    const gone = await gql(admin, `query($id: ID!) { importIntegration(id: $id) { id } }`, { id: integration.id });
    expect(gone.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // The profiles stay (seed 003).
    expect((await domain.members.findByUserName(org.actor, 'ada@contoso.com'))?.userName).toBe('ada@contoso.com');
  });

  it('hides integrations of other organisations', async () => {
    const a = await buildOrg(domain);
    const b = await buildOrg(domain);
    const keyB = (await domain.apiKeys.create(b.actor, { name: 'b', role: 'admin' })).key;
    const i = await domain.imports.create(a.actor, { name: 'A', tenantId: TENANT, clientId: CLIENT, clientSecret: 'x', entraGroupId: GROUP });
    const res = await gql(keyB, `query($id: ID!) { importIntegration(id: $id) { id } }`, { id: i.id });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await gql(keyB, `{ importIntegrations { id } }`)).body.data!.importIntegrations).toEqual([]);
  });
});
