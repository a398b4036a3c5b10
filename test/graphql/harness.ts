// The GraphQL tests' view of the one harness (startTestApp): its /graphql
// endpoint, the GraphQL client of test/setup/clients.ts, and an organisation
// with API keys.
import type { App } from '../../src/app.js';
import type { Actor } from '../../src/domain/index.js';
import type { TestDb } from '../setup/test-db.js';
import { startTestApp } from '../setup/test-app.js';
import { gql, postGraphql, type Credentials, type GqlResponse } from '../setup/clients.js';
import { buildOrg } from '../factories/index.js';

export { codes, type Credentials, type GqlResponse } from '../setup/clients.js';

export interface Harness {
  t: TestDb;
  app: App;
  /** http://127.0.0.1:PORT/graphql */
  url: string;
  gql(query: string, variables?: Record<string, unknown>, creds?: Credentials): Promise<GqlResponse>;
  post(body: string, headers?: Record<string, string>): Promise<{ status: number; text: string }>;
  /** An organisation with an admin key, a reader key and a system actor. */
  org(): Promise<{ id: string; actor: Actor; admin: string; reader: string }>;
  close(): Promise<void>;
}

export async function startHarness(env: Record<string, string> = {}): Promise<Harness> {
  const s = await startTestApp({ env });
  const url = `${s.url}/graphql`;
  return {
    t: s.t,
    app: s.app,
    url,
    post: (body, headers) => postGraphql(url, body, headers),
    gql: (query, variables, creds) => gql(url, query, variables, creds),
    async org() {
      const o = await buildOrg(s.t.domain);
      const admin = (await s.t.domain.apiKeys.create(o.actor, { name: 'admin app', role: 'admin' })).key;
      const reader = (await s.t.domain.apiKeys.create(o.actor, { name: 'reader app', role: 'reader' })).key;
      return { id: o.id, actor: o.actor, admin, reader };
    },
    close: () => s.close(),
  };
}
