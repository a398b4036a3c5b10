// The SAML tests' scene on startTestApp: the app behind PUBLIC_URL (or two
// sharing a database), the project's test IdP, an organisation trusting it,
// and the checks every sign-in test makes (signed in as whom; refused why).
import crypto from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import type { App } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import type { Actor, Domain } from '../../src/domain/index.js';
import { spUrls, type SpUrls } from '../../src/domain/saml-config/sp-urls.js';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { startTestApp } from '../setup/test-app.js';
import { me, postAcs, sessionCookie } from '../setup/clients.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { TestIdp, type ResponseOptions } from './idp.js';

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

export interface SamlOrg {
  readonly id: string;
  readonly domain: string;
  readonly actor: Actor;
}

export interface SamlSuite {
  readonly t: TestDb;
  readonly a: RunningApp;
  readonly idp: TestIdp;
  /** An organisation trusting `idp`. */
  readonly org: SamlOrg;
  /** The organisation's SP certificate (PEM), with `spCertificate`; '' without. */
  readonly spCert: string;
}

/**
 * A test file's SAML scene, made before its tests (handed to `use`) and closed
 * after them (app, IdP, database): a database whose AUTH_FAILURE_LIMIT is
 * `authFailureLimit` (default: the configured one), the app, a started test
 * IdP and an organisation trusting it (with an SP certificate when asked).
 * `let t; let a; …; samlSuite({}, (s) => ({ t, a, idp, org } = s));`
 */
export function samlSuite(opts: { authFailureLimit?: number; spCertificate?: boolean }, use: (s: SamlSuite) => void): void {
  let t: TestDb | undefined;
  let a: RunningApp | undefined;
  let idp: TestIdp | undefined;
  beforeAll(async () => {
    t = await createTestDb({ env: opts.authFailureLimit === undefined ? {} : { AUTH_FAILURE_LIMIT: String(opts.authFailureLimit) } });
    a = await startApp(t);
    idp = new TestIdp();
    await idp.start();
    const org = await trustingOrg(t.domain, idp, { spCertificate: opts.spCertificate });
    use({ t, a, idp, org, spCert: org.spCert });
  });
  afterAll(async () => {
    await a?.close();
    await idp?.stop();
    await t?.close();
  });
}

/** A new organisation that trusts `idp` (its metadata URL imported), with an SP certificate when asked. */
export async function trustingOrg(d: Domain, idp: TestIdp, opts: { spCertificate?: boolean } = {}): Promise<SamlOrg & { spCert: string }> {
  const org = await buildOrg(d);
  await d.saml.importMetadataUrl(org.actor, idp.metadataUrl);
  const spCert = opts.spCertificate ? (await d.saml.generateCertificate(org.actor, 'gatehouse.test')).pem : '';
  return { ...org, spCert };
}

/** A member of `actor`'s organisation named `<name>.<random>@contoso.com`. */
export function memberNamed(d: Domain, actor: Actor, name: string, extra: { displayName?: string } = {}) {
  return buildMember(d, actor, { userName: `${name}.${crypto.randomBytes(3).toString('hex')}@contoso.com`, ...extra });
}

/** Response options addressed to the organisation's Reply URL and entity ID. */
export function responseTo(orgDomain: string, over: Partial<ResponseOptions> & { nameId: string }): ResponseOptions {
  const u = urlsFor(orgDomain);
  return { acsUrl: u.acsUrl, audience: u.entityId, ...over };
}

/** The organisation's sessions. */
export async function sessionCount(t: TestDb, orgId: string): Promise<number> {
  return (await t.database.db.sql.one<{ n: number }>(`select count(*)::int as n from sessions where organization_id = $1`, [orgId])).n;
}

/** The organisation's last sign-in attempt in the audit trail. */
export async function lastLogin(t: TestDb, orgId: string) {
  const [ev] = await t.domain.saml.loginLog({ kind: 'system', organizationId: orgId, label: 'test' }, { limit: 1 });
  return ev!;
}

/** Posts `samlResponse` to the organisation's Reply URL: a redirect with a session of `userName`. */
export async function expectSignsIn(a: Pick<RunningApp, 'url'>, orgDomain: string, samlResponse: string, userName: string): Promise<void> {
  const res = await postAcs(a.url, orgDomain, samlResponse);
  expect(res.status, await res.clone().text()).toBe(303);
  expect(((await (await me(a.url, sessionCookie(res)!)).json()) as { userName: string }).userName).toBe(userName);
}

/**
 * Posts `samlResponse` to the organisation's Reply URL, which must refuse it:
 * a 4xx HTML page (`status` if given) naming `reason`, no redirect, no cookie,
 * no new session, and the refusal audited with `reason`.
 */
export async function expectAcsRefused(s: { t: TestDb; a: Pick<RunningApp, 'url'> }, org: { id: string; domain: string }, samlResponse: string, reason: string, status?: number) {
  const before = await sessionCount(s.t, org.id);
  const res = await postAcs(s.a.url, org.domain, samlResponse);
  const body = await res.text();
  expect(res.status, body).toBeGreaterThanOrEqual(400);
  expect(res.status, body).toBeLessThan(500);
  if (status) expect(res.status, body).toBe(status);
  expect(res.headers.get('location')).toBeNull();
  expect(res.headers.get('content-type')).toMatch(/text\/html/);
  expect(sessionCookie(res)).toBeNull();
  expect(body).toContain(`<code>${reason}</code>`);
  expect(await sessionCount(s.t, org.id)).toBe(before);
  const ev = await lastLogin(s.t, org.id);
  expect(ev).toMatchObject({ action: 'saml.login', outcome: 'failure', reason });
  return { res, body, ev };
}
