// A running Gatehouse on port 0 and a small SCIM client for the tests.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/http/logger.js';
import type { TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';

export const PUBLIC_URL = 'https://gatehouse.example.test';

export interface ScimServer {
  /** http://127.0.0.1:PORT/scim/v2 */
  readonly url: string;
  close(): Promise<void>;
}

export async function startServer(t: TestDb, env: Record<string, string> = {}): Promise<ScimServer> {
  const config = loadConfig({ NODE_ENV: 'test', PUBLIC_URL, LOG_LEVEL: 'silent', ...env });
  const app = await createApp({ config, db: t.database.db, domain: t.domain, logger: createLogger('silent') });
  const server = http.createServer(app.listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/scim/v2`,
    async close() {
      await app.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export interface Reply {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly headers: Headers;
  readonly text: string;
}

export class ScimClient {
  constructor(
    readonly url: string,
    readonly token: string | null,
  ) {}

  async raw(method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Reply> {
    const res = await fetch(this.url + path, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}),
        ...headers,
      },
      body,
    });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, headers: res.headers, text };
  }

  get(path: string): Promise<Reply> {
    return this.raw('GET', path);
  }
  post(path: string, body: unknown): Promise<Reply> {
    return this.raw('POST', path, JSON.stringify(body));
  }
  put(path: string, body: unknown): Promise<Reply> {
    return this.raw('PUT', path, JSON.stringify(body));
  }
  patch(path: string, body: unknown): Promise<Reply> {
    return this.raw('PATCH', path, JSON.stringify(body));
  }
  delete(path: string): Promise<Reply> {
    return this.raw('DELETE', path);
  }
  /** GET /Users?filter=… with the filter URL-encoded. */
  filter(resource: 'Users' | 'Groups', filter: string, extra = ''): Promise<Reply> {
    return this.get(`/${resource}?filter=${encodeURIComponent(filter)}${extra}`);
  }
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
