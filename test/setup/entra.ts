// The Graph stand-in (./graph-stand-in.ts) wired to Gatehouse: the app
// registrations the tests use, the environment that points an app at the
// stand-in, the domain's Entra client on it, a test file's database and
// stand-in, and an organisation sharing a place through an import.
import crypto from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import type { Actor, Domain } from '../../src/domain/index.js';
import type { EntraDirectory, EntraUser, ImportIntegration, ImportIntegrationInput } from '../../src/domain/import/import.model.js';
import { createEntraGraphClient, type EntraGraphOptions } from '../../src/integrations/entra-graph/graph-client.js';
import { buildOrg, unique } from '../factories/index.js';
import { entraUser, GraphStandIn, type StandInApp } from './graph-stand-in.js';
import { createTestDb, type TestDb } from './test-db.js';

/** The Entra app registration (tenant, client id, secret) of the tests' integrations: spread it into an integration's input. */
export const ENTRA_APP: Readonly<StandInApp> = Object.freeze({
  tenantId: 'contoso.onmicrosoft.com',
  clientId: '11111111-2222-3333-4444-555555555555',
  clientSecret: 'client-secret-value~1',
});

/** Gatehouse's own multi-tenant application ("Authorize with Microsoft"): ENTRA_APP_CLIENT_ID / ENTRA_APP_CLIENT_SECRET. */
export const GATEHOUSE_APP = Object.freeze({ clientId: 'a1a1a1a1-b2b2-c3c3-d4d4-e5e5e5e5e5e5', clientSecret: 'gatehouse-app-secret' });

/** A tenant named by its GUID (as Microsoft's admin consent answers) and an app registration of its own there. */
export const CONSENT_TENANT_APP: Readonly<StandInApp> = Object.freeze({
  tenantId: '0f0e0d0c-1111-2222-3333-444455556666',
  clientId: '66666666-7777-8888-9999-000000000000',
  clientSecret: 'own-secret',
});

/**
 * A started stand-in for CONSENT_TENANT_APP in which GATEHOUSE_APP is
 * registered, and the environment of an app configured with both.
 */
export async function startConsentStandIn(): Promise<{ graph: GraphStandIn; env: Record<string, string> }> {
  const graph = await startGraphStandIn(CONSENT_TENANT_APP);
  graph.multiTenantApp = { ...GATEHOUSE_APP };
  return { graph, env: { ...graphEnv(graph), ENTRA_APP_CLIENT_ID: GATEHOUSE_APP.clientId, ENTRA_APP_CLIENT_SECRET: GATEHOUSE_APP.clientSecret } };
}

/** A started stand-in that knows `app` (default ENTRA_APP). */
export function startGraphStandIn(app: StandInApp = ENTRA_APP): Promise<GraphStandIn> {
  return new GraphStandIn({ ...app }).start();
}

/** GRAPH_BASE_URL and ENTRA_LOGIN_BASE_URL at the stand-in: the Microsoft Graph of an app (startTestApp's env) and of its domain. */
export function graphEnv(graph: GraphStandIn): Record<string, string> {
  return { GRAPH_BASE_URL: graph.url, ENTRA_LOGIN_BASE_URL: graph.url };
}

/** The domain's Entra client on the stand-in; `options`: retries, Retry-After cap, sleep. */
export function entraDirectoryOn(graph: GraphStandIn, options: Omit<EntraGraphOptions, 'graphBaseUrl' | 'loginBaseUrl'> = {}): EntraDirectory {
  return createEntraGraphClient({ graphBaseUrl: graph.url, loginBaseUrl: graph.url, ...options });
}

/**
 * A test file's database and a stand-in for ENTRA_APP, made before its tests
 * (handed to `use`) and closed after them.
 * `let t; let graph; graphSuite((s) => ({ t, graph } = s));`
 */
export function graphSuite(use: (s: { t: TestDb; graph: GraphStandIn }) => void, opts: { poolSize?: number } = {}): void {
  let s: { t: TestDb; graph: GraphStandIn } | undefined;
  beforeAll(async () => {
    const t = await createTestDb({ poolSize: opts.poolSize });
    s = { t, graph: await startGraphStandIn() };
    use(s);
  });
  afterAll(async () => {
    await s?.graph.stop();
    await s?.t.close();
  });
}

export interface ImportScene {
  readonly org: Awaited<ReturnType<typeof buildOrg>>;
  readonly a: Actor;
  readonly place: { id: string };
  readonly lock: { id: string };
  readonly entraGroupId: string;
  readonly users: EntraUser[];
  readonly integration: ImportIntegration;
}

/**
 * A new organisation with a place and its lock, and an integration (on
 * ENTRA_APP) importing `users` (or that many new ones; default three) from a
 * new stand-in group: sharing the place, or importing users only.
 */
export async function importScene(
  d: Domain,
  graph: GraphStandIn,
  opts: { users?: EntraUser[] | number; identifier?: 'upn' | 'mail'; usersOnly?: boolean } = {},
): Promise<ImportScene> {
  const org = await buildOrg(d);
  const place = await d.places.createPlace(org.actor, { name: unique('HQ') });
  const lock = await d.places.createLock(org.actor, { placeId: place.id, name: 'Front door' });
  const entraGroupId = crypto.randomUUID();
  const users = Array.isArray(opts.users) ? opts.users : Array.from({ length: opts.users ?? 3 }, () => entraUser());
  graph.groups.set(entraGroupId, users);
  const input: ImportIntegrationInput = {
    name: unique('Staff'),
    ...ENTRA_APP,
    entraGroupId,
    identifier: opts.identifier ?? 'upn',
    ...(opts.usersOnly ? { mode: 'users_only' as const } : { targets: [{ placeId: place.id }] }),
  };
  const integration = await d.imports.create(org.actor, input);
  return { org, a: org.actor, place, lock, entraGroupId, users, integration };
}
