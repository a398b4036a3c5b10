// Serves the real app on 127.0.0.1:0 over a fresh test database and sends
// GraphQL requests to it with an API key or a session cookie.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/http/logger.js';
import { SESSION_COOKIE } from '../../src/domain/session/session.service.js';
import type { Actor } from '../../src/domain/index.js';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';

export interface GqlResponse {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[] };
}

export interface Credentials {
  apiKey?: string;
  session?: string;
}

export interface Harness {
  t: TestDb;
  app: App;
  url: string;
  gql(query: string, variables?: Record<string, unknown>, creds?: Credentials): Promise<GqlResponse>;
  post(body: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  /** An organisation with an admin key, a reader key and a system actor. */
  org(): Promise<{ id: string; actor: Actor; admin: string; reader: string }>;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const appEnv = { NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env };
  // The domain from the same configuration as the app (AUTH_FAILURE_LIMIT, SESSION_*).
  const t = await createTestDb({ env: appEnv });
  const app = await createApp({
    config: loadConfig(appEnv),
    db: t.database.db,
    domain: t.domain,
    logger: createLogger('silent'),
  });
  const server = http.createServer(app.listener);
  server.on('upgrade', app.upgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;

  const post = async (body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, text: await res.text() };
  };

  return {
    t,
    app,
    url,
    post,
    async gql(query, variables, creds = {}) {
      const headers: Record<string, string> = {};
      if (creds.apiKey) headers.authorization = `Bearer ${creds.apiKey}`;
      if (creds.session) headers.cookie = `${SESSION_COOKIE}=${creds.session}`;
      const res = await post(JSON.stringify({ query, variables }), headers);
      return { status: res.status, body: JSON.parse(res.text) as GqlResponse['body'] };
    },
    async org() {
      const o = await buildOrg(t.domain);
      const admin = (await t.domain.apiKeys.create(o.actor, { name: 'admin app', role: 'admin' })).key;
      const reader = (await t.domain.apiKeys.create(o.actor, { name: 'reader app', role: 'reader' })).key;
      return { id: o.id, actor: o.actor, admin, reader };
    },
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
      await t.close();
    },
  };
}

/** The codes of a response's errors. */
export function codes(res: GqlResponse): unknown[] {
  return (res.body.errors ?? []).map((e) => e.extensions?.code);
}
