// One Gatehouse app (or two sharing a database) plus a test IdP, for the SAML tests.
import http from 'node:http';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createDomain, type Domain } from '../../src/domain/index.js';
import { createLogger } from '../../src/http/logger.js';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { spUrls, type SpUrls } from '../../src/domain/saml-config/sp-urls.js';
import { TEST_SECRET, type TestDb } from '../setup/test-db.js';

export const PUBLIC_URL = 'https://gatehouse.test';

export interface RunningApp {
  readonly app: App;
  readonly url: string;
  readonly config: Config;
  readonly domain: Domain;
  close(): Promise<void>;
}

export async function startApp(t: TestDb, opts: { ownDatabase?: boolean } = {}): Promise<RunningApp> {
  const config = loadConfig({ NODE_ENV: 'test', PUBLIC_URL, LOG_LEVEL: 'silent', SAML_CLOCK_SKEW_SECONDS: '60' });
  let database: Database | undefined;
  let domain = t.domain;
  let db = t.database.db;
  if (opts.ownDatabase) {
    // A second process: its own pool, its own domain, the same PostgreSQL database.
    database = await openDatabase({ url: t.url, dataDir: '/nonexistent', poolSize: 4 });
    db = database.db;
    domain = createDomain(db, TEST_SECRET);
  }
  const app = await createApp({ config, db, domain, logger: createLogger('silent') });
  const server = http.createServer(app.listener);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    app,
    url,
    config,
    domain,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await app.close();
      await database?.close();
    },
  };
}

export function urlsFor(orgDomain: string): SpUrls {
  return spUrls(PUBLIC_URL, orgDomain);
}

export async function postAcs(base: string, orgDomain: string, samlResponse: string, relayState?: string): Promise<Response> {
  const form = new URLSearchParams({ SAMLResponse: samlResponse });
  if (relayState !== undefined) form.set('RelayState', relayState);
  return fetch(`${base}/saml/${orgDomain}/acs`, {
    method: 'POST',
    body: form,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  });
}

/** The session cookie value from a Set-Cookie header, if any. */
export function sessionCookie(res: Response): string | null {
  for (const c of res.headers.getSetCookie()) {
    const m = /^gatehouse_session=([^;]*)/.exec(c);
    if (m && m[1]) return m[1];
  }
  return null;
}

export async function me(base: string, cookie: string): Promise<Response> {
  return fetch(`${base}/me`, { headers: { cookie: `gatehouse_session=${cookie}` } });
}

/** Starts an SP-initiated login: the redirect to the IdP and the AuthnRequest it carries. */
export async function startLogin(base: string, orgDomain: string, relayState?: string): Promise<{ location: URL; requestId: string; requestXml: string }> {
  const q = relayState === undefined ? '' : `?RelayState=${encodeURIComponent(relayState)}`;
  const res = await fetch(`${base}/saml/${orgDomain}/login${q}`, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  const location = new URL(res.headers.get('location')!);
  const requestXml = zlib.inflateRawSync(Buffer.from(location.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
  const requestId = /\sID="([^"]+)"/.exec(requestXml)![1]!;
  return { location, requestId, requestXml };
}
