// SAML 2.0 SP routes, per organisation domain (fixed URLs: README, SAML single sign-on):
//   GET  /saml/:domain/metadata  SP metadata; its URL is the SP entity ID (Identifier)
//   GET  /saml/:domain/login     SP-initiated start (HTTP-Redirect AuthnRequest)
//   POST /saml/:domain/acs       Reply URL (HTTP-POST)
//   GET|POST /saml/:domain/slo   Logout URL (SingleLogoutService: the IdP's LogoutRequest or LogoutResponse)
//   GET  /me, POST /logout       the session (POST /logout goes on to the IdP's single logout when it has one)
import express, { type Request, type Response } from 'express';
import type { Config } from '../config.js';
import { DomainError, type Domain } from '../domain/index.js';
import { readSessionCookie, SESSION_COOKIE, sessionCookieOptions } from '../http/session-cookie.js';
import { sendDomainErrorJson } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import { LoginRefused, sendAutoPost, sendDomainError, sendPage, sendRefusal, sendTestResult } from './errors.js';
import { spUrls } from '../domain/saml-config/sp-urls.js';
import type { LoginFailure } from '../domain/saml-config/saml.service.js';
import { logoutResponseStep, signOut, verifyLogoutMessage, type IdpLogoutStep, type LogoutInput } from './logout.js';
import { ACS_BODY_LIMIT_BYTES, samlFor, spMetadataXml, verifyResponse } from './service-provider.js';

export interface SamlEdgeDeps {
  readonly config: Config;
  readonly domain: Domain;
  readonly logger: Logger;
}

/** The SAML routes. Their background work (the daily metadata refresh, purges) is the scheduler's (src/scheduler/jobs.ts). */
export function samlRoutes(deps: SamlEdgeDeps): { router: express.Router } {
  const { config, domain, logger } = deps;
  const router = express.Router();
  const parseForm = express.urlencoded({ extended: false, limit: ACS_BODY_LIMIT_BYTES, parameterLimit: 10 });

  router.get('/saml/:domain/metadata', async (req, res) => {
    try {
      const rt = await domain.saml.runtime(param(req));
      res.set('Content-Type', 'application/samlmetadata+xml; charset=utf-8').send(spMetadataXml(rt, config));
    } catch (e) {
      fail(res, e);
    }
  });

  router.get('/saml/:domain/login', async (req, res) => {
    try {
      const rt = await domain.saml.runtime(param(req));
      if (!rt.ssoUrl || rt.idpCertificates.length === 0) {
        sendPage(res, 409, 'Single sign-on is not set up', 'This organisation has not imported its identity provider metadata yet.', 'not_configured');
        return;
      }
      const relayState = safeRelayState(typeof req.query.RelayState === 'string' ? req.query.RelayState : undefined, config.http.publicUrl);
      const url = await samlFor(rt, config, domain).getAuthorizeUrlAsync(relayState, undefined, {});
      res.set('Cache-Control', 'no-store').redirect(302, url);
    } catch (e) {
      fail(res, e);
    }
  });

  // "Test sign-in" from the admin console: an admin's own session starts it; the answer gets a
  // result page and never a session (theirs or anyone's). See testSignInPage.
  router.get('/saml/:domain/test', async (req, res) => {
    try {
      const token = readSessionCookie(req.headers.cookie);
      const admin = token ? await domain.admins.authenticate(token).catch(() => null) : null;
      const rt = await domain.saml.runtime(param(req));
      if (!admin || admin.organizationId !== rt.organization.id) {
        sendPage(res, 403, 'Test sign-in', 'Only an administrator of this organisation, signed in to the admin console, can start a test sign-in.');
        return;
      }
      if (!rt.ssoUrl || rt.idpCertificates.length === 0) {
        sendPage(res, 409, 'Single sign-on is not set up', 'Import the identity provider metadata in the admin console first.', 'not_configured');
        return;
      }
      const url = await samlFor(rt, config, domain, { testStartedBy: admin.id }).getAuthorizeUrlAsync('', undefined, {});
      res.set('Cache-Control', 'no-store').redirect(302, url);
    } catch (e) {
      fail(res, e);
    }
  });

  router.post('/saml/:domain/acs', async (req, res) => {
    let organizationId: string | null = null;
    try {
      const rt = await domain.saml.runtime(param(req));
      organizationId = rt.organization.id;
      await new Promise<void>((resolve, reject) => parseForm(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
      const body = (req.body ?? {}) as Record<string, unknown>;
      const samlResponse = body.SAMLResponse;
      if (typeof samlResponse !== 'string' || samlResponse === '') throw new LoginRefused('missing_response', 'No SAMLResponse was posted');
      // The request it answers, looked up once (node-saml's InResponseTo checks reuse it).
      const answered = inResponseToOf(samlResponse);
      const request = answered ? await domain.saml.authnRequest(rt.organization.id, answered) : null;
      const known = answered ? { id: answered, createdAt: request?.createdAt ?? null } : undefined;
      if (request?.test) {
        await testSignIn(domain, res, rt.organization.id, samlResponse, () => verifyResponse(rt, config, domain, samlResponse, { known }));
        return;
      }
      let login;
      try {
        login = await verifyResponse(rt, config, domain, samlResponse, { known });
      } catch (e) {
        // Signed by a certificate the stored metadata does not list: Entra may have rolled its
        // certificate over. One bounded, rate-limited refetch of the metadata URL, then one retry.
        if (!(e instanceof LoginRefused && e.reason === 'invalid_signature' && e.detail.unknownCertificate === true)) throw e;
        if (!(await domain.saml.refetchOnUnknownCertificate(rt.organization.id))) throw e;
        login = await verifyResponse(await domain.saml.runtime(param(req)), config, domain, samlResponse);
      }
      // Request id, replay cache, identity rule, session: one statement in the domain (which audits its refusals).
      const { session } = await domain.saml.completeLogin(rt.organization.id, login);
      res.cookie(SESSION_COOKIE, session.token, sessionCookieOptions(config, session.expiresAt));
      const relayState = safeRelayState(typeof body.RelayState === 'string' ? body.RelayState : undefined, config.http.publicUrl);
      // A bare 303 (no negotiated body: the browser follows Location).
      res.status(303).location(relayState).set('Cache-Control', 'no-store').end();
    } catch (e) {
      // Refusals of the domain (replay, reuse, unknown or inactive user) were counted and audited there.
      // The edge's own (signature, audience, time...) are counted here: past the limit per client or
      // per organisation the answer is 429 with Retry-After (and the audit trail gets one summary).
      const org = organizationId;
      fail(res, org ? await counted(req, e, (f) => domain.saml.recordLoginFailure(org, f)) : e);
    }
  });

  router.get('/me', async (req, res) => {
    const token = readSessionCookie(req.headers.cookie);
    try {
      if (!token) throw new LoginRequired();
      const actor = await domain.sessions.authenticate(token);
      res.set('Cache-Control', 'no-store').json(await domain.saml.signedInMember(actor));
    } catch (e) {
      if (e instanceof LoginRequired || (e instanceof DomainError && (e.kind === 'unauthenticated' || e.kind === 'not_found'))) {
        res.status(401).json({ error: 'unauthenticated', message: 'Not signed in' });
        return;
      }
      jsonFail(res, e);
    }
  });

  // Sign-out: the Gatehouse session ends here; when single logout is on, the browser goes on to
  // the IdP with a signed LogoutRequest naming the session's NameID and SessionIndex (303 to its
  // HTTP-Redirect endpoint, or a self-submitting form to its HTTP-POST one), else the answer is 204.
  router.post('/logout', async (req, res) => {
    try {
      const idpLogout = await signOut(config, domain, readSessionCookie(req.headers.cookie), (err) =>
        req.log?.error({ err }, 'could not start single logout at the identity provider'),
      );
      res.clearCookie(SESSION_COOKIE, sessionCookieOptions(config));
      if (idpLogout) toIdp(res, idpLogout);
      else res.status(204).end();
    } catch (e) {
      jsonFail(res, e);
    }
  });

  // The Logout URL: the IdP's LogoutRequest (it ended the person's session elsewhere) or its
  // LogoutResponse (to a sign-out started here), HTTP-Redirect (GET) or HTTP-POST. Refusals count
  // against the client and the organisation as refused sign-ins do (429 past the limit).
  const slo = async (req: Request, res: Response, read: () => Promise<LogoutInput>) => {
    let organizationId: string | null = null;
    try {
      const rt = await domain.saml.runtime(param(req));
      organizationId = rt.organization.id;
      const message = await verifyLogoutMessage(rt, config, domain, await read());
      if (message.kind === 'response') {
        await domain.saml.completeLogout(rt.organization.id, message.inResponseTo);
        res.set('Cache-Control', 'no-store').redirect(303, safeRelayState(message.relayState, config.http.publicUrl));
        return;
      }
      const { memberId } = await domain.saml.idpLogout(rt.organization.id, {
        requestId: message.id,
        nameId: message.nameId,
        replayUntil: message.replayUntil,
        sessionIndex: message.sessionIndex,
      });
      res.clearCookie(SESSION_COOKIE, sessionCookieOptions(config));
      const answer = await logoutResponseStep(rt, config, domain, message.id, message.relayState, memberId !== null);
      if (answer) toIdp(res, answer);
      else sendPage(res, 200, 'Signed out', 'You are signed out of Gatehouse.');
    } catch (e) {
      // The domain's refusals (replayed request, unknown InResponseTo) were counted and audited there.
      const org = organizationId;
      fail(res, org ? await counted(req, e, (f) => domain.saml.recordLogoutFailure(org, f)) : e);
    }
  };
  router.get('/saml/:domain/slo', async (req, res) => {
    const q = req.originalUrl.indexOf('?');
    await slo(req, res, async () => ({ binding: 'redirect', rawQuery: q < 0 ? '' : req.originalUrl.slice(q + 1) }));
  });
  router.post('/saml/:domain/slo', async (req, res) => {
    await slo(req, res, async () => {
      await new Promise<void>((resolve, reject) => parseForm(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
      return { binding: 'post', form: (req.body ?? {}) as Record<string, unknown> };
    });
  });

  /** A JSON route's failure: a domain error by the shared mapping, anything else a logged 500. */
  function jsonFail(res: Response, e: unknown): void {
    if (e instanceof DomainError) return sendDomainErrorJson(res, e);
    logger.error({ err: e }, 'SAML request failed');
    res.status(500).json({ error: 'internal_error', message: 'Internal error' });
  }

  function fail(res: Response, e: unknown): void {
    const refusal = toRefusal(e);
    if (refusal) return sendRefusal(res, refusal);
    if (e instanceof DomainError) return sendDomainError(res, e);
    logger.error({ err: e }, 'SAML request failed');
    sendPage(res, 500, 'Sign-in failed', 'Something went wrong on our side; try again shortly.');
  }

  return { router };
}

  /** The result of a test sign-in, on its own page: pass or fail, why, and what to change in Entra. */
async function testSignIn(domain: Domain, res: Response, organizationId: string, samlResponse: string, verify: () => Promise<{ nameId: string } & Parameters<Domain['saml']['completeTestLogin']>[1]>): Promise<void> {
    let nameId: string | null = null;
    let result: { outcome: 'success' | 'failure'; reason: string | null; message: string | null; member: { userName: string; displayName: string | null; active: boolean } | null };
    try {
      const login = await verify();
      nameId = login.nameId;
      result = await domain.saml.completeTestLogin(organizationId, login);
    } catch (e) {
      const refusal = toRefusal(e);
      if (!refusal) throw e;
      await domain.saml.recordLoginFailure(organizationId, { reason: refusal.reason, message: refusal.message, nameId: null, detail: { test: true } }).catch(() => undefined);
      result = { outcome: 'failure', reason: refusal.reason, message: refusal.message, member: null };
    }
    sendTestResult(res, { ...result, nameId, attributes: attributesOf(samlResponse) });
  }

class LoginRequired extends Error {}

/** Sends the browser on to the IdP's SingleLogoutService by its binding. */
function toIdp(res: Response, step: IdpLogoutStep): void {
  if (step.binding === 'redirect') res.set('Cache-Control', 'no-store').redirect(303, step.url);
  else sendAutoPost(res, step.url, step.fields);
}

/**
 * Counts and audits the edge's own refusal `e` (signature, audience, time...)
 * through `record`; past the limit per client or per organisation the answer
 * becomes the domain's RateLimited (429 with Retry-After). Anything else is answered as it is.
 */
async function counted(req: Request, e: unknown, record: (f: LoginFailure) => Promise<void>): Promise<unknown> {
  const refusal = toRefusal(e);
  if (!refusal) return e;
  const { nameId, ...detail } = refusal.detail;
  try {
    await record({ reason: refusal.reason, message: refusal.message, nameId: typeof nameId === 'string' ? nameId : null, detail });
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'rate_limited') return err;
    req.log?.error({ err }, 'could not audit a refused SAML message');
  }
  return e;
}

/** The InResponseTo of the Response element, read without trusting it (it only picks the page). */
function inResponseToOf(samlResponse: string): string | null {
  try {
    const xml = Buffer.from(samlResponse, 'base64').toString('utf8').slice(0, 20_000);
    return /<(?:\w+:)?Response\b[^>]*\sInResponseTo="([^"]{1,200})"/.exec(xml)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** The attributes (claims) of the response, for the test result page only. */
function attributesOf(samlResponse: string): [string, string[]][] {
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
  const out: [string, string[]][] = [];
  const re = /<(?:\w+:)?Attribute\b[^>]*\bName="([^"]{1,300})"[^>]*>([\s\S]*?)<\/(?:\w+:)?Attribute>/g;
  for (let m = re.exec(xml); m && out.length < 50; m = re.exec(xml)) {
    const values = [...m[2]!.matchAll(/<(?:\w+:)?AttributeValue\b[^>]*>([\s\S]*?)<\/(?:\w+:)?AttributeValue>/g)].map((v) => v[1]!.trim().slice(0, 300));
    out.push([m[1]!, values]);
  }
  return out;
}

function param(req: Request): string {
  return String(req.params.domain ?? '');
}

/** Body-parser errors (too large, bad encoding) become refusals too. */
function toRefusal(e: unknown): LoginRefused | null {
  if (e instanceof LoginRefused) return e;
  const err = e as { type?: string; status?: number; message?: string };
  if (err?.type === 'entity.too.large') return new LoginRefused('oversize', `The posted response is larger than ${ACS_BODY_LIMIT_BYTES} bytes`, 413);
  if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500 && err.type) {
    return new LoginRefused('malformed_request', `The posted form could not be read (${err.type})`, err.status);
  }
  return null;
}


/**
 * RelayState may only send the browser to a path of this site: it must start
 * with one "/", carry no backslash or control character, and resolve to the
 * public origin. Anything else becomes "/".
 */
export function safeRelayState(value: string | undefined, publicUrl: string): string {
  if (!value || value.length > 1024) return '/';
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || hasControlCharacter(value)) return '/';
  try {
    const base = new URL(publicUrl);
    const target = new URL(value, base);
    // Dot segments may resolve to `//host` (`/.//evil.example`): a protocol-relative target is another site.
    if (target.origin !== base.origin || target.pathname.startsWith('//')) return '/';
    return target.pathname + target.search + target.hash;
  } catch {
    return '/';
  }
}

function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export { spUrls };
