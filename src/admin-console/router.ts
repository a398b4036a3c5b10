// The /admin console edge: serves the front end (bundled at start), the
// one-time bootstrap link, and a small JSON API under /admin/api for the
// console's admin actions. Every /admin/api call needs an admin session (the
// gatehouse_session cookie of a member who is an organisation admin); every
// state change also needs the X-CSRF-Token header (see csrf.ts).
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Config } from '../config.js';
import { DomainError, Invalid, retryAfterSeconds, type Domain } from '../domain/index.js';
import type { AuditFilter } from '../domain/audit/audit.service.js';
import type { AdminActor } from '../domain/admin/admin.service.js';
import { SESSION_COOKIE } from '../domain/session/session.service.js';
import { httpStatusOf } from '../http/errors.js';
import { buildConsoleBundle, type ConsoleBundle } from './bundle.js';
import { csrfTokenFor, requireCsrf } from '../http/csrf.js';
import { readSessionCookie, sessionCookieOptions } from '../http/session-cookie.js';
import { callerKey, runInReadScope } from '../infra/postgres/read-scope.js';
import { guardedJsonParser } from '../http/json-guard.js';
import { consoleHealth } from './health.js';
import { parseScimOverlap } from '../domain/organization/organization.service.js';
import escapeHtml from 'escape-html';
import { FAVICON_SVG, PAGE_CSP, sendHtml, sendRefusalPage } from './pages.js';
import { signOut } from '../saml/logout.js';
import { spUrls } from '../domain/saml-config/sp-urls.js';

export interface AdminConsoleDeps {
  readonly config: Config;
  readonly domain: Domain;
}

declare module 'express-serve-static-core' {
  interface Request {
    admin?: AdminActor;
  }
}

export async function adminConsole(deps: AdminConsoleDeps): Promise<express.Router> {
  const { config, domain } = deps;
  const bundle: ConsoleBundle = await buildConsoleBundle(config.env !== 'development');
  const saml = domain.saml;
  const router = express.Router();
  const base = config.http.publicUrl;

  const cookieOptions = (expires?: Date) => sessionCookieOptions(config, expires);

  // --- static front end -------------------------------------------------
  const page = (_req: Request, res: Response) => {
    res
      .set('Content-Type', 'text/html; charset=utf-8')
      .set('Cache-Control', 'no-store')
      .set('Content-Security-Policy', PAGE_CSP)
      .set('X-Content-Type-Options', 'nosniff')
      .set('Referrer-Policy', 'no-referrer')
      .send(SHELL);
  };
  router.get('/admin', page);
  router.get('/admin/', page);
  router.get('/admin/app.js', (_req, res) => {
    res.set('Content-Type', 'text/javascript; charset=utf-8').set('Cache-Control', 'no-cache').set('X-Content-Type-Options', 'nosniff').send(bundle.js);
  });
  router.get('/admin/app.css', (_req, res) => {
    res.set('Content-Type', 'text/css; charset=utf-8').set('Cache-Control', 'no-cache').set('X-Content-Type-Options', 'nosniff').send(bundle.css);
  });

  const favicon = (_req: Request, res: Response) => {
    res.set('Content-Type', 'image/svg+xml').set('Cache-Control', 'public, max-age=86400').set('X-Content-Type-Options', 'nosniff').send(FAVICON_SVG);
  };
  router.get('/admin/favicon.svg', favicon);
  router.get('/favicon.ico', favicon);

  // --- bootstrap link ------------------------------------------------------
  // Opening the link (GET or HEAD: mail scanners, Safe Links and chat
  // previews do it before the person does) only shows a button; the POST of
  // that button spends the link.
  router.get('/admin/bootstrap', (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token.slice(0, 200) : '';
    if (!token) {
      sendRefusalPage(res, 400, 'Admin link incomplete', 'This address has no admin link in it.', 'Open the whole link you were sent, or ask for a new one.');
      return;
    }
    sendHtml(
      res,
      200,
      'Sign in to the admin console',
      `<section class="card"><h1>Sign in to the admin console</h1>` +
        `<p>This one-time link signs you in to Gatehouse’s admin console. It works once, within 15 minutes of being created.</p>` +
        `<form method="post" action="/admin/bootstrap"><input type="hidden" name="token" value="${escapeHtml(token)}">` +
        `<button type="submit" class="btn btn-primary" id="bootstrap-continue">Sign in to the admin console</button></form></section>`,
    );
  });
  const bootstrapForm = express.urlencoded({ extended: false, limit: 4096, parameterLimit: 4 });
  router.post('/admin/bootstrap', bootstrapForm, async (req, res) => {
    const token = typeof (req.body as { token?: unknown } | undefined)?.token === 'string' ? String((req.body as { token: string }).token) : '';
    // Only this site's own page may post a link (no signing someone in to another organisation from elsewhere).
    const origin = req.get('origin');
    if (origin && origin !== new URL(base).origin && origin !== `${req.protocol}://${req.get('host')}`) {
      sendRefusalPage(res, 403, 'Admin link refused', 'This sign-in was sent from another site.', 'Open the link you were sent directly.');
      return;
    }
    try {
      const session = await domain.admins.redeemBootstrapLink(token, req.ip ?? 'unknown');
      res.cookie(SESSION_COOKIE, session.token, cookieOptions(session.expiresAt));
      res.set('Cache-Control', 'no-store').set('Referrer-Policy', 'no-referrer').redirect(303, '/admin');
      return;
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      const retry = retryAfterSeconds(e);
      if (retry !== undefined) res.setHeader('Retry-After', String(retry));
      sendRefusalPage(
        res,
        httpStatusOf(e.kind),
        'Admin link refused',
        e.kind === 'rate_limited' ? 'Too many refused links from your network: wait a minute and try again.' : e.message,
        'If single sign-on is already set up, sign in with it instead.',
      );
    }
  });

  // --- sign-in: from what the admin knows (an email address or its domain) to the organisation's SAML start
  router.get('/admin/sign-in', async (req, res) => {
    const q = typeof req.query.org === 'string' ? req.query.org : '';
    try {
      const org = await domain.admins.findOrganizationForSignIn(q);
      // Relative (no PUBLIC_URL): the browser stays on the host it reached the console on.
      const url = `${spUrls('', org.domain).loginUrl}?RelayState=${encodeURIComponent('/admin')}`;
      // The console's own form asks for JSON and navigates itself (one redirect less on the way to Entra).
      if (req.accepts(['html', 'json']) === 'json') res.set('Cache-Control', 'no-store').json({ url, organization: org.name });
      else res.set('Cache-Control', 'no-store').redirect(303, url);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      if (req.accepts(['html', 'json']) === 'json') {
        res.status(404).json({ error: 'organization_not_found', message: `No organisation on this Gatehouse matches “${q.trim().slice(0, 100)}”. Type your work email address.` });
        return;
      }
      sendRefusalPage(
        res,
        404,
        'Organisation not found',
        `No organisation on this Gatehouse matches “${q.trim().slice(0, 100)}”.`,
        'Type your work email address (for example alice@contoso.com). If you are not an administrator yet, ask one to make you one.',
      );
    }
  });

  // --- "Authorize with Microsoft": Microsoft's admin consent answer ----------
  // Microsoft redirects the admin's browser here with ?admin_consent=True&tenant=…&state=…
  // (or ?error=…&error_description=…&state=…). The state is single use and bound to the
  // console session that started it; success records the tenant and returns to the
  // group picker, anything else is a page that says what to do.
  router.get('/admin/entra/consent/callback', async (req, res) => {
    const q = (k: string) => (typeof req.query[k] === 'string' ? String(req.query[k]).slice(0, 2000) : undefined);
    const back = `<p><a class="btn btn-primary" href="/admin#import">Back to Group import</a></p>`;
    const page = (status: number, title: string, message: string, next: string) =>
      sendHtml(
        res,
        status,
        title,
        `<section class="card card-error" role="alert" id="consent-result"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p>${escapeHtml(next)}</p>${back}</section>`,
      );
    const token = readSessionCookie(req.headers.cookie);
    if (!token) {
      page(401, 'Sign in to the admin console first', 'Microsoft sent its answer to a browser that is not signed in to the Gatehouse admin console.', 'Sign in to the console, then select Authorize with Microsoft again.');
      return;
    }
    try {
      const actor = await domain.admins.authenticate(token);
      const { tenantId } = await domain.imports.completeConsent(actor, {
        sessionToken: token,
        state: q('state') ?? '',
        tenant: q('tenant'),
        adminConsent: q('admin_consent'),
        error: q('error'),
        errorDescription: q('error_description'),
      });
      res.set('Cache-Control', 'no-store').set('Referrer-Policy', 'no-referrer').redirect(303, `/admin#import?tenant=${encodeURIComponent(tenantId)}&authorized=1`);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      if (e.code === 'entra_consent_denied') {
        page(403, 'Microsoft authorization not given', e.message, 'Nothing was connected. The Group import page still offers both ways to connect.');
      } else if (e.code === 'entra_consent_state_invalid' || e.code === 'entra_consent_session_mismatch') {
        page(httpStatusOf(e.kind), 'Authorization link expired or already used', e.message, 'Nothing was connected.');
      } else {
        page(httpStatusOf(e.kind), 'Authorization not completed', e.message, 'Sign in to the admin console as an administrator, then select Authorize with Microsoft again.');
      }
    }
  });

  // --- JSON API ------------------------------------------------------------
  const api = express.Router();
  api.use(guardedJsonParser(Math.min(config.http.bodyLimitBytes, 2 * 1024 * 1024)));
  api.use(async (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    const token = readSessionCookie(req.headers.cookie);
    if (!token) {
      res.status(401).json({ error: 'no_session', message: 'Not signed in' });
      return;
    }
    try {
      req.admin = await domain.admins.authenticate(token);
    } catch (e) {
      next(e);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !requireCsrf(req, res, token)) return;
    // Signed in: the console's lists may read from a replica that has replayed this admin's writes; its changes go to the primary.
    runInReadScope({ caller: callerKey(token), lagTolerant: req.method === 'GET' }, next);
  });
  const h =
    (fn: (req: Request, res: Response, actor: AdminActor) => Promise<unknown>) =>
    async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      try {
        const body = await fn(req, res, req.admin!);
        if (!res.headersSent) res.json(body);
      } catch (e) {
        next(e);
      }
    };

  api.get(
    '/session',
    h(async (req, _res, actor) => {
      const org = await domain.organizations.get(actor);
      return {
        admin: { id: actor.id, userName: actor.label },
        organization: { id: org.id, name: org.name, domain: org.domain },
        csrfToken: csrfTokenFor(readSessionCookie(req.headers.cookie)!),
      };
    }),
  );
  // Sign out, as POST /logout does (the same use case, signOut): the session ends; when it was made
  // by a SAML sign-in and the IdP lists a SingleLogoutService, `next` says where the browser goes on
  // to: the IdP's HTTP-Redirect endpoint with the signed LogoutRequest in its URL (Entra's binding),
  // or the HTTP-POST endpoint with the form fields to post. Else `next` is null.
  api.post(
    '/logout',
    h(async (req, res) => {
      // Back from the IdP (its LogoutResponse carries the RelayState), the browser lands on the console's sign-in.
      const step = await signOut(
        config,
        domain,
        readSessionCookie(req.headers.cookie)!,
        (err) => req.log?.error({ err }, 'could not start single logout at the identity provider'),
        '/admin',
      );
      res.clearCookie(SESSION_COOKIE, cookieOptions());
      return { ok: true, next: step };
    }),
  );
  api.get(
    '/health',
    h(async (_req, _res, actor) => ({ items: await consoleHealth(domain, actor) })),
  );

  // SCIM: the status is read through GraphQL (scimStatus { tenantUrl }); the token is made, rotated and ended here.
  const tenantUrl = `${base}/scim/v2`;
  api.post(
    '/scim/token',
    h(async (_req, _res, actor) => {
      // Enables SCIM if needed and issues a new token (rotating any previous one).
      const { token, status } = await domain.organizations.enableScim(actor);
      return { token, status, tenantUrl };
    }),
  );
  api.post(
    '/scim/rotate',
    h(async (req, _res, actor) => {
      // A new token while the current one keeps working for the overlap (no gap in provisioning).
      const overlap = (req.body as { overlap?: unknown } | undefined)?.overlap;
      const minutes = parseScimOverlap(typeof overlap === 'string' ? overlap : '24h');
      const { token, status } = await domain.organizations.rotateScimToken(actor, minutes);
      return { token, status, tenantUrl };
    }),
  );
  api.post(
    '/scim/revoke-previous',
    h(async (_req, _res, actor) => ({ ...(await domain.organizations.revokePreviousScimToken(actor)), tenantUrl })),
  );
  api.post(
    '/scim/disable',
    h(async (_req, _res, actor) => ({ status: await domain.organizations.disableScim(actor), tenantUrl })),
  );

  // The mass-deprovision guard: its settings and the decisions (each answers what it holds now; the console reads it through GraphQL).
  const guardView = async (actor: AdminActor) => {
    const [settings, held] = await Promise.all([domain.guard.settings(actor), domain.guard.list(actor, 'held', 1000)]);
    const names = await domain.admins.labels(actor, held.flatMap((c) => (c.groupId ? [c.groupId] : [])).slice(0, 1000));
    return { settings, held: held.map((c) => ({ ...c, groupLabel: c.groupId ? (names[c.groupId]?.label ?? null) : null })) };
  };
  api.post(
    '/guard/settings',
    h(async (req, _res, actor) => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      const num = (k: string) => (b[k] === undefined ? undefined : (b[k] as number));
      await domain.guard.updateSettings(actor, {
        enabled: b.enabled === undefined ? undefined : (b.enabled as boolean),
        thresholdPercent: num('thresholdPercent'),
        minCount: num('minCount'),
        windowMinutes: num('windowMinutes'),
      });
      return guardView(actor);
    }),
  );
  const heldIds = (req: Request): string[] | null => {
    const ids = (req.body as { ids?: unknown } | undefined)?.ids;
    if (ids === undefined || ids === null) return null;
    if (!Array.isArray(ids)) throw new Invalid('invalid_value', 'ids must be a list of held change ids', 'ids');
    return ids as string[];
  };
  api.post(
    '/guard/approve',
    h(async (req, _res, actor) => ({ decision: await domain.guard.approve(actor, heldIds(req)), ...(await guardView(actor)) })),
  );
  api.post(
    '/guard/discard',
    h(async (req, _res, actor) => ({ decision: await domain.guard.discard(actor, heldIds(req)), ...(await guardView(actor)) })),
  );

  // SAML: the settings are read through GraphQL (samlSettings); the changes are made here.
  api.post(
    '/saml/metadata',
    h(async (req, _res, actor) => {
      const body = (req.body ?? {}) as { url?: unknown; xml?: unknown };
      if (typeof body.url === 'string' && body.url.trim() !== '') return { settings: await saml.importMetadataUrl(actor, body.url.trim()) };
      if (typeof body.xml === 'string' && body.xml.trim() !== '') return { settings: await saml.importMetadataXml(actor, body.xml) };
      throw new Invalid('metadata_required', 'Paste the App Federation Metadata URL or upload the metadata XML', 'url');
    }),
  );
  api.post(
    '/saml/refresh',
    h(async (_req, _res, actor) => ({ settings: await saml.refreshMetadata(actor) })),
  );
  api.post(
    '/saml/certificate',
    h(async (req, _res, actor) => {
      const org = await domain.organizations.get(actor);
      // `next`: published only (rollover: tell Entra first, then promote it).
      const next = (req.body as { next?: unknown } | undefined)?.next === true;
      await saml.generateCertificate(actor, `${org.domain} Gatehouse SAML`, { next });
      return { settings: await saml.settings(actor) };
    }),
  );
  api.post(
    '/saml/certificate/:id/promote',
    h(async (req, _res, actor) => {
      await saml.promoteSpCertificate(actor, String(req.params.id));
      return { settings: await saml.settings(actor) };
    }),
  );
  api.post(
    '/saml/certificate/:id/remove',
    h(async (req, _res, actor) => {
      await saml.removeSpCertificate(actor, String(req.params.id));
      return { settings: await saml.settings(actor) };
    }),
  );
  api.post(
    '/saml/idp-initiated',
    h(async (req, _res, actor) => {
      const allow = (req.body as { allow?: unknown } | undefined)?.allow;
      if (typeof allow !== 'boolean') throw new Invalid('allow_required', 'Send {"allow": true} or {"allow": false}', 'allow');
      return { settings: await saml.setIdpInitiated(actor, allow) };
    }),
  );

  // Logs: read through GraphQL (auditEvents with subjects, the names of the ids each entry carries); exported here.
  api.get('/logs/export', async (req, res, next) => {
    try {
      const actor = req.admin!;
      const format = req.query.format === 'csv' ? 'csv' : 'jsonl';
      const kind = logKind(req.query.log);
      const { items: events } = await domain.audit.page(actor, { ...logFilter(req.query, kind), limit: EXPORT_LIMIT });
      const name = `gatehouse-${kind}-log-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.${format}`;
      res.set('Content-Disposition', `attachment; filename="${name}"`);
      if (format === 'jsonl') {
        res.set('Content-Type', 'application/x-ndjson; charset=utf-8').send(events.map((e) => JSON.stringify(e)).join('\n') + (events.length ? '\n' : ''));
      } else {
        const cols = ['id', 'at', 'actorKind', 'actorLabel', 'action', 'outcome', 'resourceType', 'resourceId', 'resourceLabel', 'reason', 'detail'] as const;
        const cell = (v: unknown) => {
          const t = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
          // Quoted always; a leading = + - @ is defused for spreadsheets.
          return `"${(/^[=+\-@]/.test(t) ? `'${t}` : t).replace(/"/g, '""')}"`;
        };
        res.set('Content-Type', 'text/csv; charset=utf-8').send([cols.join(','), ...events.map((e) => cols.map((c) => cell(e[c])).join(','))].join('\r\n') + '\r\n');
      }
    } catch (e) {
      next(e);
    }
  });

  // People and access: read through GraphQL (members with organizationAdmin, groups, places, shares, whoCanOpen); the admin role is set here.
  api.post(
    '/members/:id/admin',
    h(async (req, _res, actor) => {
      const on = (req.body as { admin?: unknown } | undefined)?.admin;
      if (typeof on !== 'boolean') throw new Invalid('admin_required', 'Send {"admin": true} or {"admin": false}', 'admin');
      if (on) await domain.admins.grant(actor, String(req.params.id));
      else await domain.admins.revoke(actor, String(req.params.id));
      return { ok: true };
    }),
  );
  api.use((req, res) => {
    res.status(404).json({ error: 'not_found', message: `No route for ${req.method} /admin/api${req.path}` });
  });
  router.use('/admin/api', api);
  return router;

}

const EXPORT_LIMIT = 10_000;
type LogKind = 'provisioning' | 'sign-in' | 'admin' | 'all';

function logKind(v: unknown): LogKind {
  return v === 'sign-in' || v === 'admin' || v === 'all' ? v : 'provisioning';
}

/** The console's log filter from its query string: ?q=&failures=1&since=ISO&until=ISO (the old ?member= is q). */
function logFilter(q: Request['query'], kind: LogKind): AuditFilter {
  const date = (v: unknown, field: string) => {
    const t = str(v);
    if (!t) return undefined;
    const d = new Date(t);
    if (Number.isNaN(d.getTime())) throw new Invalid('invalid_date', `${field} is not a date`, field);
    return d;
  };
  return {
    provisioning: kind === 'provisioning' || undefined,
    actionPrefix: kind === 'sign-in' ? 'saml.' : undefined,
    adminActivity: kind === 'admin' || undefined,
    search: (str(q.q) || str(q.member)).trim() || undefined,
    outcome: q.failures === '1' ? 'failure' : undefined,
    since: date(q.since, 'since'),
    until: date(q.until, 'until'),
  };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.slice(0, 512) : '';
}


const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Gatehouse · SSO &amp; SCIM</title>
<link rel="icon" href="/admin/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/admin/app.css">
<script src="/admin/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<div id="app" aria-busy="true"><p class="loading" role="status">Loading the admin console…</p></div>
<noscript>The admin console needs JavaScript.</noscript>
</body>
</html>`;
