// The SCIM tests' app (startTestApp behind a PUBLIC_URL) and Entra-shaped bodies; the client is test/setup/clients.ts's.
import { afterAll, beforeAll } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { startTestApp } from '../setup/test-app.js';
import { ScimClient } from '../setup/clients.js';
import { buildOrg } from '../factories/index.js';

export { ScimClient, type Reply } from '../setup/clients.js';

export const PUBLIC_URL = 'https://gatehouse.example.test';

export interface ScimServer {
  /** http://127.0.0.1:PORT/scim/v2 */
  readonly url: string;
  close(): Promise<void>;
}

/** The app (startTestApp) on the file's database, as Entra sees it behind PUBLIC_URL. */
export async function startServer(t: TestDb, env: Record<string, string> = {}): Promise<ScimServer> {
  const app = await startTestApp({ db: t, env: { PUBLIC_URL, ...env } });
  return { url: `${app.url}/scim/v2`, close: () => app.close() };
}

/**
 * A test file's database and SCIM app: made before its tests (handed to `use`),
 * closed after them, app first. `let t; let server; scimSuite((s) => ({ t, server } = s));`
 */
export function scimSuite(use: (s: { t: TestDb; server: ScimServer }) => void, env: Record<string, string> = {}): void {
  let s: { t: TestDb; server: ScimServer } | undefined;
  beforeAll(async () => {
    const t = await createTestDb();
    s = { t, server: await startServer(t, env) };
    use(s);
  });
  afterAll(async () => {
    await s?.server.close();
    await s?.t.close();
  });
}

/** An organisation with SCIM enabled and a client holding its token. */
export async function scimOrg(t: TestDb, server: ScimServer) {
  const org = await buildOrg(t.domain);
  const { token } = await t.domain.organizations.enableScim(org.actor);
  return { ...org, token, scim: new ScimClient(server.url, token) };
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

export function patchOp(...ops: Record<string, unknown>[]) {
  return { schemas: [PATCH_OP], Operations: ops };
}

/** The body Entra's default mapping POSTs for a new user. */
export function entraUser(upn: string, extra: Record<string, unknown> = {}) {
  const [given, family] = upn.split('@')[0]!.split('.');
  return {
    schemas: [CORE_USER, ENTERPRISE],
    externalId: upn.split('@')[0],
    userName: upn,
    active: true,
    displayName: `${given} ${family ?? ''}`.trim(),
    emails: [{ primary: true, type: 'work', value: upn }],
    meta: { resourceType: 'User' },
    name: { formatted: `${given} ${family ?? ''}`.trim(), familyName: family ?? 'X', givenName: given },
    roles: [],
    ...extra,
  };
}
