// "Authorize with Microsoft": admin consent for
// Gatehouse's own multi-tenant application against the local stand-in, the
// callback's state rules (single use, bound to the console session and the
// organisation), the group picker (preview and search), an integration on
// Gatehouse's application, and the client-secret path beside it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config.js';
import type { Domain } from '../../../src/domain/index.js';
import { startTestApp, type TestApp } from '../../setup/test-app.js';
import { testDomain } from '../../setup/test-db.js';
import { consoleAdmin as consoleAdminOf } from '../../setup/clients.js';
import { buildOrg } from '../../factories/index.js';
import { entraUser, type GraphStandIn } from '../../setup/graph-stand-in.js';
import { CONSENT_TENANT_APP, GATEHOUSE_APP, graphEnv, startConsentStandIn } from '../../setup/entra.js';

const { tenantId: TENANT, clientId: OWN_CLIENT } = CONSENT_TENANT_APP;
const APP_CLIENT = GATEHOUSE_APP.clientId;
const GROUPS = {
  finance: 'f0000000-0000-4000-8000-000000000001',
  facilities: 'f0000000-0000-4000-8000-000000000002',
  hq: 'f0000000-0000-4000-8000-000000000003',
};

let graph: GraphStandIn;
let s: TestApp;
let domain: Domain;
let base: string;

beforeAll(async () => {
  let env: Record<string, string>;
  ({ graph, env } = await startConsentStandIn());
  // The domain as the server builds it: Graph (and Gatehouse's application) from the configuration.
  s = await startTestApp({ env });
  domain = s.domain;
  base = s.url;
  const names = ['Finance', 'Facilities Team', 'HQ Staff', 'Engineering', 'Marketing', 'Sales', 'Support'];
  const ids = [GROUPS.finance, GROUPS.facilities, GROUPS.hq, ...names.slice(3).map(() => crypto.randomUUID())];
  names.forEach((n, i) => graph.groupInfo.set(ids[i]!, { displayName: n, description: `${n} people` }));
  graph.groups.set(GROUPS.finance, [entraUser({ userPrincipalName: 'fiona@contoso.com' }), entraUser({ userPrincipalName: 'frank@contoso.com' })]);
  graph.groups.set(GROUPS.hq, [entraUser({ userPrincipalName: 'hana@contoso.com' })]);
}, 60_000);

afterAll(async () => {
  await s?.close();
  await graph?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Data = Record<string, any>;
interface Gql {
  status: number;
  data: Data | null | undefined;
  errors: { message: string; extensions?: { code?: string; reason?: string } }[] | undefined;
}

/** A console admin's session (a redeemed bootstrap link). */
const consoleAdmin = (organizationId: string, userName?: string) => consoleAdminOf(s, organizationId, userName);

async function gql(creds: { session: string; csrf: string } | { key: string }, query: string, variables: Record<string, unknown> = {}): Promise<Gql> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if ('key' in creds) headers.authorization = `Bearer ${creds.key}`;
  else Object.assign(headers, { cookie: `gatehouse_session=${creds.session}`, 'x-csrf-token': creds.csrf });
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: Data | null; errors?: Gql['errors'] };
  return { status: res.status, data: body.data, errors: body.errors };
}

async function callback(session: string | undefined, params: Record<string, string>) {
  const res = await fetch(`${base}/admin/entra/consent/callback?${new URLSearchParams(params).toString()}`, {
    redirect: 'manual',
    headers: session ? { cookie: `gatehouse_session=${session}` } : {},
  });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

const START = `mutation { startEntraAdminConsent { url expiresAt } }`;
const SETUP = `{ entraImportSetup { gatehouseAppClientId consentRedirectUri consentedTenants { tenantId consentedBy } } }`;
const GROUP_SEARCH = `query($i: EntraGroupSearchInput!) { entraGroups(input: $i) { id displayName description } }`;

/** Starts a consent as `admin` and answers it in the stand-in as a Global Administrator would (Accept), returning Microsoft's redirect. */
async function consentInStandIn(admin: { session: string; csrf: string }, decision: 'accept' | 'cancel') {
  const started = await gql(admin, START);
  expect(started.errors).toBeUndefined();
  const url = new URL(started.data!.startEntraAdminConsent.url);
  const form = new URLSearchParams([...url.searchParams.entries(), ['decision', decision]]);
  const answer = await fetch(`${url.origin}${url.pathname}`, { method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  return { started: url, redirect: new URL(answer.headers.get('location')!) };
}

describe('Authorize with Microsoft (admin consent for Gatehouse’s application)', () => {
  it('sends the admin to Microsoft’s admin consent page and records the tenant from the answer, once', async () => {
    const org = await buildOrg(domain);
    const admin = await consoleAdmin(org.id);

    const setup = await gql(admin, SETUP);
    expect(setup.data!.entraImportSetup).toEqual({ gatehouseAppClientId: APP_CLIENT, consentRedirectUri: `${base}/admin/entra/consent/callback`, consentedTenants: [] });

    const { started, redirect } = await consentInStandIn(admin, 'accept');
    expect(`${started.origin}${started.pathname}`).toBe(`${graph.url}/organizations/v2.0/adminconsent`);
    expect(started.searchParams.get('client_id')).toBe(APP_CLIENT);
    expect(started.searchParams.get('redirect_uri')).toBe(`${base}/admin/entra/consent/callback`);
    expect(started.searchParams.get('scope')).toBe('https://graph.microsoft.com/.default');
    expect(started.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(redirect.searchParams.get('admin_consent')).toBe('True');

    const back = await callback(admin.session, Object.fromEntries(redirect.searchParams));
    expect(back.status).toBe(303);
    expect(back.location).toBe(`/admin#import?tenant=${TENANT}&authorized=1`);
    const after = await gql(admin, SETUP);
    expect(after.data!.entraImportSetup.consentedTenants).toEqual([{ tenantId: TENANT, consentedBy: 'bootstrap-admin' }]);

    // The state is single use: the same answer again is refused with a page that says what to do.
    const again = await callback(admin.session, Object.fromEntries(redirect.searchParams));
    expect(again.status).toBe(400);
    expect(again.text).toContain('Start again: Group import → Authorize with Microsoft');
    expect(again.text).toContain('href="/admin#import"');

    const audit = await domain.audit.list(org.actor, { actionPrefix: 'import.consent' });
    expect(audit.map((e) => [e.action, e.outcome, e.resourceId])).toEqual([['import.consent', 'success', TENANT]]);
  });

  it('refuses an answer that comes back in another session, another organisation, without a session, or forged', async () => {
    const org = await buildOrg(domain);
    const other = await buildOrg(domain);
    const alice = await consoleAdmin(org.id, 'alice@contoso.com');
    const bob = await consoleAdmin(org.id, 'bob@contoso.com');
    const eve = await consoleAdmin(other.id, 'eve@fabrikam.com');

    const a = await consentInStandIn(alice, 'accept');
    const params = Object.fromEntries(a.redirect.searchParams);
    const noSession = await callback(undefined, params);
    expect(noSession.status).toBe(401);
    expect(noSession.text).toContain('Sign in to the admin console first');
    // Another organisation's admin: that organisation has no such request.
    expect((await callback(eve.session, params)).status).toBe(400);
    // Another admin of the same organisation: bound to alice's session; spent by the attempt.
    const wrong = await callback(bob.session, params);
    expect(wrong.status).toBe(403);
    expect(wrong.text).toContain('another console session');
    expect((await callback(alice.session, params)).status).toBe(400);

    const forged = await callback(alice.session, { admin_consent: 'True', tenant: TENANT, state: 'x'.repeat(43) });
    expect(forged.status).toBe(400);
    expect((await callback(alice.session, { admin_consent: 'True', tenant: TENANT })).status).toBe(400);
    expect((await gql(alice, SETUP)).data!.entraImportSetup.consentedTenants).toEqual([]);
    expect((await gql(eve, SETUP)).data!.entraImportSetup.consentedTenants).toEqual([]);

    // A tenant that is no GUID in an accepted answer: refused, nothing recorded.
    const b = await consentInStandIn(alice, 'accept');
    const bad = await callback(alice.session, { ...Object.fromEntries(b.redirect.searchParams), tenant: '../evil' });
    expect(bad.status).toBe(403);
    expect((await gql(alice, SETUP)).data!.entraImportSetup.consentedTenants).toEqual([]);
  });

  it('says what to do when the Entra admin declines (and records nothing but the refusal)', async () => {
    const org = await buildOrg(domain);
    const admin = await consoleAdmin(org.id);
    const { redirect } = await consentInStandIn(admin, 'cancel');
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    const page = await callback(admin.session, Object.fromEntries(redirect.searchParams));
    expect(page.status).toBe(403);
    expect(page.text).toContain('Microsoft authorization not given');
    expect(page.text).toContain('Global Administrator');
    expect(page.text).toContain('own app registration');
    expect(page.text).toContain('AADSTS65004');
    expect((await gql(admin, SETUP)).data!.entraImportSetup.consentedTenants).toEqual([]);
    const audit = await domain.audit.list(org.actor, { actionPrefix: 'import.consent' });
    expect(audit.map((e) => e.outcome)).toEqual(['failure']);
  });

  it('starts only from a console session (an API key cannot receive Microsoft’s answer)', async () => {
    const org = await buildOrg(domain);
    const key = (await domain.apiKeys.create(org.actor, { name: 'ops', role: 'admin' })).key;
    const r = await gql({ key }, START);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'entra_consent_needs_session' });
    // Reading the setup is fine with an admin key.
    expect((await gql({ key }, SETUP)).data!.entraImportSetup.gatehouseAppClientId).toBe(APP_CLIENT);
  });
});

describe('group picker and integrations on Gatehouse’s application', () => {
  it('previews a few groups, searches the rest, then imports the picked group with Gatehouse’s application', async () => {
    const org = await buildOrg(domain);
    const admin = await consoleAdmin(org.id);

    const early = await gql(admin, GROUP_SEARCH, { i: { tenantId: TENANT } });
    expect(early.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'entra_tenant_not_consented' });
    const { redirect } = await consentInStandIn(admin, 'accept');
    expect((await callback(admin.session, Object.fromEntries(redirect.searchParams))).status).toBe(303);

    graph.groupQueries.length = 0;
    const preview = await gql(admin, GROUP_SEARCH, { i: { tenantId: TENANT } });
    expect(preview.data!.entraGroups.map((g: Data) => g.displayName)).toEqual(['Engineering', 'Facilities Team', 'Finance', 'HQ Staff', 'Marketing']);
    const found = await gql(admin, GROUP_SEARCH, { i: { tenantId: TENANT, search: 'sup' } });
    expect(found.data!.entraGroups).toEqual([expect.objectContaining({ displayName: 'Support', description: 'Support people' })]);
    const team = await gql(admin, GROUP_SEARCH, { i: { tenantId: TENANT, search: 'team' } });
    expect(team.data!.entraGroups.map((g: Data) => g.id)).toEqual([GROUPS.facilities]);
    // Advanced queries: every listing sent ConsistencyLevel: eventual; a search is Graph's $search on displayName.
    expect(graph.groupQueries.map((q) => q.consistencyLevel)).toEqual(['eventual', 'eventual', 'eventual']);
    expect(graph.groupQueries[1]!.query.get('$search')).toBe('"displayName:sup"');
    expect(graph.groupQueries[0]!.query.get('$top')).toBe('5');
    // An object id pasted in finds that group.
    const byId = await gql(admin, GROUP_SEARCH, { i: { tenantId: TENANT, search: GROUPS.hq } });
    expect(byId.data!.entraGroups.map((g: Data) => g.displayName)).toEqual(['HQ Staff']);
    // A quote cannot end Graph's search string.
    const quoted = await gql(admin, GROUP_SEARCH, { i: { tenantId: TENANT, search: 'fin" OR "x' } });
    expect(quoted.errors).toBeUndefined();

    graph.resetCounters();
    const created = await gql(
      admin,
      `mutation($i: CreateImportIntegrationInput!) { createImportIntegration(input: $i) { id credentials clientId clientSecretSet entraGroupName tenantId } }`,
      { i: { name: 'Finance', tenantId: TENANT, credentials: 'GATEHOUSE_APP', entraGroupId: GROUPS.finance, entraGroupName: 'Finance' } },
    );
    expect(created.errors).toBeUndefined();
    const integration = created.data!.createImportIntegration;
    expect(integration).toMatchObject({ credentials: 'GATEHOUSE_APP', clientId: APP_CLIENT, clientSecretSet: false, entraGroupName: 'Finance', tenantId: TENANT });

    const run = await gql(admin, `mutation($id: ID!) { runImportIntegration(id: $id) { status added created errorCode } }`, { id: integration.id });
    expect(run.data!.runImportIntegration).toEqual({ status: 'success', added: 2, created: 2, errorCode: null });
    // The token came from Gatehouse's application in the consented tenant.
    expect(graph.requests.filter((r) => r.path === `/${TENANT}/oauth2/v2.0/token`)).toHaveLength(1);
    const members = await domain.members.list(org.actor, { first: 10 });
    expect(members.items.map((m) => m.userName).sort()).toEqual(['bootstrap-admin', 'fiona@contoso.com', 'frank@contoso.com']);

    const listed = await gql(admin, `{ importIntegrations { name lastRun { status added } recentRuns { status added errorCode } } }`);
    expect(listed.data!.importIntegrations).toEqual([{ name: 'Finance', lastRun: { status: 'success', added: 2 }, recentRuns: [{ status: 'success', added: 2, errorCode: null }] }]);

    const secret = await gql(admin, `mutation($id: ID!) { setImportClientSecret(id: $id, clientSecret: "x") { id } }`, { id: integration.id });
    expect(secret.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'import_uses_gatehouse_app' });

    // Consent withdrawn in Entra: the run fails with what to do, and the failure is among the recent runs.
    graph.consentedTenants.delete(TENANT);
    const failed = await gql(admin, `mutation($id: ID!) { runImportIntegration(id: $id) { status errorCode error } }`, { id: integration.id });
    expect(failed.data!.runImportIntegration).toMatchObject({ status: 'failed', errorCode: 'entra_consent_missing' });
    expect(failed.data!.runImportIntegration.error).toContain('Authorize with Microsoft again');
    const runs = await gql(admin, `query($id: ID!) { importIntegration(id: $id) { recentRuns(first: 1) { status errorCode } } }`, { id: integration.id });
    expect(runs.data!.importIntegration.recentRuns).toEqual([{ status: 'failed', errorCode: 'entra_consent_missing' }]);
    graph.consentedTenants.add(TENANT);
  });

  it('keeps the client-secret path: own registration lists groups and imports; a wrong secret says so', async () => {
    const org = await buildOrg(domain);
    const key = (await domain.apiKeys.create(org.actor, { name: 'ops', role: 'admin' })).key;
    const own = { ...CONSENT_TENANT_APP };
    const groups = await gql({ key }, GROUP_SEARCH, { i: { ...own, search: 'hq' } });
    expect(groups.data!.entraGroups.map((g: Data) => g.id)).toEqual([GROUPS.hq]);
    const wrong = await gql({ key }, GROUP_SEARCH, { i: { ...own, clientSecret: 'nope' } });
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'entra_secret_invalid' });

    const created = await gql({ key }, `mutation($i: CreateImportIntegrationInput!) { createImportIntegration(input: $i) { id credentials clientSecretSet } }`, {
      i: { name: 'HQ', ...own, entraGroupId: GROUPS.hq, entraGroupName: 'HQ Staff' },
    });
    expect(created.data!.createImportIntegration).toMatchObject({ credentials: 'CLIENT_SECRET', clientSecretSet: true });
    const run = await gql({ key }, `mutation($id: ID!) { runImportIntegration(id: $id) { status added } }`, { id: created.data!.createImportIntegration.id });
    expect(run.data!.runImportIntegration).toEqual({ status: 'success', added: 1 });
  });

  it('refuses bad input with clear errors and writes nothing', async () => {
    const org = await buildOrg(domain);
    const key = (await domain.apiKeys.create(org.actor, { name: 'ops', role: 'admin' })).key;
    const reader = (await domain.apiKeys.create(org.actor, { name: 'r', role: 'reader' })).key;
    const create = (i: Data) => gql({ key }, `mutation($i: CreateImportIntegrationInput!) { createImportIntegration(input: $i) { id } }`, { i });
    const reason = (r: Gql) => [r.errors?.[0]?.extensions?.code, r.errors?.[0]?.extensions?.reason];

    expect(reason(await create({ name: 'A', tenantId: TENANT, credentials: 'GATEHOUSE_APP', entraGroupId: GROUPS.hq }))).toEqual(['FORBIDDEN', 'entra_tenant_not_consented']);
    expect(reason(await create({ name: 'A', tenantId: TENANT, credentials: 'GATEHOUSE_APP', clientSecret: 's', entraGroupId: GROUPS.hq }))).toEqual([
      'BAD_USER_INPUT',
      'invalid_value',
    ]);
    expect(reason(await create({ name: 'A', tenantId: TENANT, entraGroupId: GROUPS.hq }))).toEqual(['BAD_USER_INPUT', 'required']);
    expect(reason(await create({ name: 'A', tenantId: TENANT, clientId: OWN_CLIENT, clientSecret: 's', entraGroupId: GROUPS.hq, entraGroupName: 'x'.repeat(300) }))).toEqual([
      'BAD_USER_INPUT',
      'invalid_value',
    ]);
    expect(reason(await gql({ key }, GROUP_SEARCH, { i: { tenantId: 'a/b' } }))).toEqual(['BAD_USER_INPUT', 'invalid_value']);
    expect(reason(await gql({ key }, GROUP_SEARCH, { i: { tenantId: TENANT, search: 'x'.repeat(121) } }))).toEqual(['BAD_USER_INPUT', 'invalid_value']);
    expect(reason(await gql({ key }, GROUP_SEARCH, { i: { tenantId: TENANT, first: 0 } }))).toEqual(['BAD_USER_INPUT', 'invalid_value']);
    expect(reason(await gql({ key }, GROUP_SEARCH, { i: { tenantId: TENANT, clientId: 'not-a-guid', clientSecret: 's' } }))).toEqual(['BAD_USER_INPUT', 'invalid_value']);
    expect(reason(await gql({ key: reader }, GROUP_SEARCH, { i: { tenantId: TENANT } }))[0]).toBe('FORBIDDEN');
    expect(reason(await gql({ key: reader }, SETUP))[0]).toBe('FORBIDDEN');
    expect(await domain.imports.list(org.actor)).toEqual([]);
  });
});

describe('configuration', () => {
  it('needs ENTRA_APP_CLIENT_ID and ENTRA_APP_CLIENT_SECRET together, the id a GUID', () => {
    expect(() => loadConfig({ NODE_ENV: 'test', ENTRA_APP_CLIENT_ID: APP_CLIENT })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'test', ENTRA_APP_CLIENT_SECRET: 'x' })).toThrow(ConfigError);
    expect(() => loadConfig({ NODE_ENV: 'test', ENTRA_APP_CLIENT_ID: 'gatehouse', ENTRA_APP_CLIENT_SECRET: 'x' })).toThrow(/GUID/);
    expect(loadConfig({ NODE_ENV: 'test' }).import.app).toBeNull();
  });

  it('without Gatehouse’s application, Authorize with Microsoft is not offered and says to use an own registration', async () => {
    const plain = testDomain(s.t.database.db, graphEnv(graph));
    const org = await buildOrg(plain);
    const link = await plain.admins.createBootstrapLink(org.id);
    const started = await plain.admins.redeemBootstrapLink(link.token);
    const actor = await plain.admins.authenticate(started.token);
    expect((await plain.imports.consentSetup(actor)).gatehouseAppClientId).toBeNull();
    await expect(plain.imports.startConsent(actor, { sessionToken: started.token, redirectUri: `${base}/admin/entra/consent/callback` })).rejects.toMatchObject({
      code: 'entra_app_not_configured',
      message: expect.stringContaining('own app registration'),
    });
  });
});
