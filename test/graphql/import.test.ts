// The Entra group import through GraphQL: admin keys create, run, pause and
// delete integrations; readers may not; the secret never comes back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../setup/test-app.js';
import { gql as post } from '../setup/clients.js';
import { buildOrg } from '../factories/index.js';
import { entraUser, type GraphStandIn } from '../setup/graph-stand-in.js';
import { ENTRA_APP, graphEnv, startGraphStandIn } from '../setup/entra.js';

const GROUP = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
let graph: GraphStandIn;
let s: TestApp;

beforeAll(async () => {
  graph = await startGraphStandIn();
  s = await startTestApp({ env: graphEnv(graph) });
});

afterAll(async () => {
  await s.close();
  await graph.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Data = Record<string, any>;

async function gql(key: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await post(`${s.url}/graphql`, query, variables, { apiKey: key });
  return res as { status: number; body: { data?: Data | null; errors?: { extensions?: { code?: string } }[] } };
}

describe('GraphQL: Entra group import', () => {
  it('creates, runs, lists, pauses and deletes an integration', async () => {
    const org = await buildOrg(s.domain);
    const admin = (await s.domain.apiKeys.create(org.actor, { name: 'a', role: 'admin' })).key;
    const reader = (await s.domain.apiKeys.create(org.actor, { name: 'r', role: 'reader' })).key;
    graph.groups.set(GROUP, [entraUser({ userPrincipalName: 'ada@contoso.com' }), entraUser({ userPrincipalName: 'bob@contoso.com' })]);

    const input = { name: 'Staff', ...ENTRA_APP, entraGroupId: GROUP, identifier: 'UPN' };
    const refused = await gql(reader, `mutation($i: CreateImportIntegrationInput!) { createImportIntegration(input: $i) { id } }`, { i: input });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const created = await gql(admin, `mutation($i: CreateImportIntegrationInput!) { createImportIntegration(input: $i) { id name mode paused groupId } }`, { i: input });
    expect(JSON.stringify(created.body.errors)).toBeUndefined();
    const integration = created.body.data!.createImportIntegration;
    expect(integration).toMatchObject({ name: 'Staff', mode: 'USERS_ONLY', paused: false });
    expect(JSON.stringify(created.body)).not.toContain(ENTRA_APP.clientSecret);

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
    // The profiles stay (README, Entra group import).
    expect((await s.domain.members.findByUserName(org.actor, 'ada@contoso.com'))?.userName).toBe('ada@contoso.com');
  });

  it('hides integrations of other organisations', async () => {
    const a = await buildOrg(s.domain);
    const b = await buildOrg(s.domain);
    const keyB = (await s.domain.apiKeys.create(b.actor, { name: 'b', role: 'admin' })).key;
    const i = await s.domain.imports.create(a.actor, { name: 'A', ...ENTRA_APP, entraGroupId: GROUP });
    const res = await gql(keyB, `query($id: ID!) { importIntegration(id: $id) { id } }`, { id: i.id });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await gql(keyB, `{ importIntegrations { id } }`)).body.data!.importIntegrations).toEqual([]);
  });
});
