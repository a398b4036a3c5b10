// One Gatehouse app (or two sharing a database) plus a test IdP, for the SAML tests.
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import type { Domain } from '../../src/domain/index.js';
import { spUrls, type SpUrls } from '../../src/domain/saml-config/sp-urls.js';
import type { TestDb } from '../setup/test-db.js';
import { startTestApp } from '../setup/test-app.js';

export { me, postAcs, sessionCookie, startLogin } from '../setup/clients.js';

export const PUBLIC_URL = 'https://gatehouse.test';

export interface RunningApp {
  readonly app: App;
  readonly url: string;
  readonly config: Config;
  readonly domain: Domain;
  close(): Promise<void>;
}

/** The app (startTestApp) on the file's database behind PUBLIC_URL; `ownDatabase`: a second process on it. */
export function startApp(t: TestDb, opts: { ownDatabase?: boolean } = {}): Promise<RunningApp> {
  return startTestApp({ db: t, ownDatabase: opts.ownDatabase, env: { PUBLIC_URL, SAML_CLOCK_SKEW_SECONDS: '60' } });
}

export function urlsFor(orgDomain: string): SpUrls {
  return spUrls(PUBLIC_URL, orgDomain);
}

