// SAML 2.0 SP routes, per organisation domain (URLs fixed by design.md):
//   GET  /saml/:domain/metadata  SP metadata; its URL is the SP entity ID (Identifier)
//   GET  /saml/:domain/login     SP-initiated start (HTTP-Redirect AuthnRequest)
//   POST /saml/:domain/acs       Reply URL (HTTP-POST)
//   GET  /me, POST /logout       the session
import express, { type Request, type Response } from 'express';
import type { Config } from '../config.js';
import { DomainError, type Domain } from '../domain/index.js';
import { readSessionCookie, SESSION_COOKIE, sessionCookieOptions } from '../http/session-cookie.js';
import { sendDomainErrorJson } from '../http/errors.js';
import type { Logger } from '../http/logger.js';
import { LoginRefused, sendDomainError, sendPage, sendRefusal } from './errors.js';
import { spUrls } from '../domain/saml-config/sp-urls.js';
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

  router.post('/saml/:domain/acs', async (req, res) => {
    let organizationId: string | null = null;
    try {
      const rt = await domain.saml.runtime(param(req));
      organizationId = rt.organization.id;
      await new Promise<void>((resolve, reject) => parseForm(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
      const body = (req.body ?? {}) as Record<string, unknown>;
      const samlResponse = body.SAMLResponse;
      if (typeof samlResponse !== 'string' || samlResponse === '') throw new LoginRefused('missing_response', 'No SAMLResponse was posted');
      let login;
      try {
        login = await verifyResponse(rt, config, domain, samlResponse);
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
      res.set('Cache-Control', 'no-store').redirect(303, relayState);
    } catch (e) {
      // Refusals of the domain (replay, reuse, unknown or inactive user) were counted and audited there.
      // The edge's own (signature, audience, time...) are counted here: past the limit per client or
      // per organisation the answer is 429 with Retry-After (and the audit trail gets one summary).
      let answer = e;
      const refusal = toRefusal(e);
      if (organizationId && refusal) {
        const { nameId, ...detail } = refusal.detail;
        try {
          await domain.saml.recordLoginFailure(organizationId, { reason: refusal.reason, message: refusal.message, nameId: typeof nameId === 'string' ? nameId : null, detail });
        } catch (err) {
          if (err instanceof DomainError && err.kind === 'rate_limited') answer = err;
          else req.log?.error({ err }, 'could not audit a refused SAML login');
        }
      }
      fail(res, answer);
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

  router.post('/logout', async (req, res) => {
    const token = readSessionCookie(req.headers.cookie);
    try {
      if (token) await domain.sessions.end(token);
      res.clearCookie(SESSION_COOKIE, sessionCookieOptions(config));
      res.status(204).end();
    } catch (e) {
      jsonFail(res, e);
    }
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

class LoginRequired extends Error {}

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
