// A local stand-in for Entra's token endpoint, its admin consent page
// ("Authorize with Microsoft" for Gatehouse's multi-tenant application) and
// Microsoft Graph's group listing, search and members, on 127.0.0.1 port 0.
// Tests and the benchmark set its directory and its failure modes, and read
// what it was asked.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntraUser } from '../../src/domain/import/import.model.js';

export interface StandInApp {
  readonly tenantId: string;
  readonly clientId: string;
  clientSecret: string;
}

/** Gatehouse's own multi-tenant application, as registered in Microsoft's cloud. */
export interface StandInMultiTenantApp {
  readonly clientId: string;
  clientSecret: string;
}

export interface StandInGroup {
  readonly displayName: string;
  readonly description?: string | null;
  readonly mail?: string | null;
}

export class GraphStandIn {
  url = '';
  /** Entra group id → its user members, in order. */
  readonly groups = new Map<string, EntraUser[]>();
  /** Entra group id → what /v1.0/groups lists of it (groups without an entry are not listed). */
  readonly groupInfo = new Map<string, StandInGroup>();
  /** Gatehouse's multi-tenant application: its tokens need this tenant's admin consent first. */
  multiTenantApp: StandInMultiTenantApp | undefined;
  /** Tenants whose admin consented to the multi-tenant application. */
  readonly consentedTenants = new Set<string>();
  /** What the admin consent page was opened with. */
  readonly consentRequests: URLSearchParams[] = [];
  /** Group listings and searches: the query and whether ConsistencyLevel: eventual was sent. */
  readonly groupQueries: { query: URLSearchParams; consistencyLevel: string | null }[] = [];
  /** Users per page (Graph's own maximum is 999). */
  pageSize = 999;
  /** The token endpoint answers invalid_client with AADSTS7000222 (expired secret) when set. */
  secretExpired = false;
  /** Graph answers 403 (no admin consent for GroupMember.Read.All / User.Read.All). */
  forbidden = false;
  /**
   * The application has GroupMember.Read.All but not User.Read.All: Graph
   * answers 200 with each member reduced to its id (as Microsoft documents
   * for objects the caller may not read).
   */
  idsOnly = false;
  /** The next N member requests answer 429 with this Retry-After. */
  throttle = { times: 0, retryAfter: '1' };
  /** Delay of each member page, to make runs overlap. */
  delayMs = 0;
  readonly requests: { method: string; path: string; query: URLSearchParams }[] = [];
  tokenRequests = 0;
  memberRequests = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Entra group id → most member requests of that group in flight at once. */
  readonly maxInFlightByGroup = new Map<string, number>();
  private readonly inFlightByGroup = new Map<string, number>();
  private server: http.Server | undefined;
  private readonly tokens = new Set<string>();

  constructor(readonly app: StandInApp) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  resetCounters(): void {
    this.requests.length = 0;
    this.tokenRequests = 0;
    this.memberRequests = 0;
    this.maxInFlight = 0;
    this.maxInFlightByGroup.clear();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', this.url);
    this.requests.push({ method: req.method ?? '', path: u.pathname, query: u.searchParams });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (u.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (u.pathname === '/organizations/v2.0/adminconsent') return this.consent(req, res, u);
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(u.pathname);
    if (token && req.method === 'POST') {
      this.tokenRequests++;
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      const form = new URLSearchParams(raw);
      const multi = this.multiTenantApp;
      if (multi && form.get('client_id') === multi.clientId) {
        const tenant = decodeURIComponent(token[1]!);
        if (tenant !== this.app.tenantId) return json(400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${tenant}' not found.` });
        if (!this.consentedTenants.has(tenant)) {
          return json(400, { error: 'unauthorized_client', error_description: `AADSTS700016: Application with identifier '${multi.clientId}' was not found in the directory '${tenant}'.` });
        }
        if (form.get('client_secret') !== multi.clientSecret) return json(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
        const t = `tok-${this.tokens.size + 1}-${Math.random().toString(36).slice(2)}`;
        this.tokens.add(t);
        return json(200, { token_type: 'Bearer', expires_in: 3599, access_token: t });
      }
      if (decodeURIComponent(token[1]!) !== this.app.tenantId) {
        return json(400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${token[1]}' not found.` });
      }
      if (form.get('grant_type') !== 'client_credentials' || form.get('client_id') !== this.app.clientId) {
        return json(400, { error: 'unauthorized_client', error_description: 'AADSTS700016: Application not found in the directory.' });
      }
      if (this.secretExpired) {
        return json(401, { error: 'invalid_client', error_description: 'AADSTS7000222: The provided client secret keys for app are expired.' });
      }
      if (form.get('client_secret') !== this.app.clientSecret) {
        return json(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' });
      }
      const t = `tok-${this.tokens.size + 1}-${Math.random().toString(36).slice(2)}`;
      this.tokens.add(t);
      return json(200, { token_type: 'Bearer', expires_in: 3599, access_token: t });
    }
    if ((u.pathname === '/v1.0/groups' || /^\/v1\.0\/groups\/[^/]+$/.test(u.pathname)) && req.method === 'GET') {
      const auth = req.headers.authorization ?? '';
      if (!this.tokens.has(auth.replace(/^Bearer /, ''))) return json(401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } });
      if (this.forbidden) return json(403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } });
      const shape = (id: string, g: StandInGroup) => ({ id, displayName: g.displayName, description: g.description ?? null, mail: g.mail ?? null });
      if (u.pathname !== '/v1.0/groups') {
        const id = decodeURIComponent(u.pathname.slice('/v1.0/groups/'.length));
        const g = this.groupInfo.get(id);
        return g ? json(200, shape(id, g)) : json(404, { error: { code: 'Request_ResourceNotFound', message: `Resource '${id}' does not exist.` } });
      }
      const consistencyLevel = typeof req.headers.consistencylevel === 'string' ? req.headers.consistencylevel : null;
      this.groupQueries.push({ query: u.searchParams, consistencyLevel });
      const search = u.searchParams.get('$search');
      if ((search !== null || u.searchParams.has('$orderby') || u.searchParams.has('$count')) && consistencyLevel !== 'eventual') {
        return json(400, { error: { code: 'Request_UnsupportedQuery', message: "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'" } });
      }
      let list = [...this.groupInfo.entries()];
      if (search !== null) {
        const m = /^"displayName:(.*)"$/.exec(search);
        if (!m) return json(400, { error: { code: 'Request_UnsupportedQuery', message: `Unsupported $search: ${search}` } });
        // Graph tokenises the display name into words and matches each search word as a prefix.
        const words = m[1]!.toLowerCase().split(/\s+/).filter(Boolean);
        list = list.filter(([, g]) => {
          const tokens = g.displayName.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
          return words.every((w) => tokens.some((t) => t.startsWith(w)));
        });
      }
      list.sort((a, b) => a[1].displayName.localeCompare(b[1].displayName));
      const top = Math.min(Number(u.searchParams.get('$top') ?? '100'), 999);
      return json(200, { '@odata.count': list.length, value: list.slice(0, top).map(([id, g]) => shape(id, g)) });
    }
    const members = /^\/v1\.0\/groups\/([^/]+)\/members\/microsoft\.graph\.user$/.exec(u.pathname);
    if (members && req.method === 'GET') {
      this.memberRequests++;
      const auth = req.headers.authorization ?? '';
      if (!this.tokens.has(auth.replace(/^Bearer /, ''))) {
        return json(401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } });
      }
      if (this.forbidden) return json(403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } });
      if (this.throttle.times > 0) {
        this.throttle.times--;
        return json(429, { error: { code: 'TooManyRequests', message: 'Too many requests' } }, { 'retry-after': this.throttle.retryAfter });
      }
      const group = this.groups.get(decodeURIComponent(members[1]!));
      if (!group) return json(404, { error: { code: 'Request_ResourceNotFound', message: 'Resource does not exist.' } });
      const gid = decodeURIComponent(members[1]!);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const g = (this.inFlightByGroup.get(gid) ?? 0) + 1;
      this.inFlightByGroup.set(gid, g);
      this.maxInFlightByGroup.set(gid, Math.max(this.maxInFlightByGroup.get(gid) ?? 0, g));
      try {
        if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
        const skip = Number(u.searchParams.get('$skiptoken') ?? '0');
        const top = Math.min(Number(u.searchParams.get('$top') ?? '100'), this.pageSize);
        const page = group.slice(skip, skip + top);
        const next = skip + top < group.length ? new URL(u.toString()) : null;
        next?.searchParams.set('$skiptoken', String(skip + top));
        return json(200, {
          '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users',
          ...(next ? { '@odata.nextLink': next.toString() } : {}),
          value: page.map((p) => (this.idsOnly ? { '@odata.type': '#microsoft.graph.user', id: p.id } : { '@odata.type': '#microsoft.graph.user', ...p })),
        });
      } finally {
        this.inFlight--;
        this.inFlightByGroup.set(gid, (this.inFlightByGroup.get(gid) ?? 1) - 1);
      }
    }
    json(404, { error: { code: 'NotFound', message: `No stand-in for ${req.method} ${u.pathname}` } });
  }

  /**
   * Microsoft's admin consent page for the multi-tenant application: GET
   * shows "Permissions requested" with Accept and Cancel (as Microsoft's page
   * does, signed in as the tenant's Global Administrator); the POST of either
   * button redirects to redirect_uri as Microsoft does.
   */
  private async consent(req: http.IncomingMessage, res: http.ServerResponse, u: URL): Promise<void> {
    const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const html = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Permissions requested</title><link rel="icon" href="data:,"></head><body>${body}</body></html>`);
    };
    let params = u.searchParams;
    if (req.method === 'POST') {
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      params = new URLSearchParams(raw);
    } else {
      this.consentRequests.push(u.searchParams);
    }
    const clientId = params.get('client_id') ?? '';
    const redirectUri = params.get('redirect_uri') ?? '';
    const state = params.get('state') ?? '';
    if (!this.multiTenantApp || clientId !== this.multiTenantApp.clientId) {
      return html(400, `<h1>Sign in</h1><p>AADSTS700016: Application with identifier '${esc(clientId)}' was not found.</p>`);
    }
    if (!/^https?:\/\//.test(redirectUri)) return html(400, '<h1>Sign in</h1><p>AADSTS50011: The redirect URI is not valid.</p>');
    if (req.method !== 'POST') {
      const hidden = ['client_id', 'redirect_uri', 'state', 'scope'].map((k) => `<input type="hidden" name="${k}" value="${esc(params.get(k) ?? '')}">`).join('');
      return html(
        200,
        `<main><h1>Permissions requested</h1><p>Gatehouse (unverified) wants to: Read all group memberships; Read all users' full profiles.</p>` +
          `<p>Accepting grants these permissions for your whole organisation (${esc(this.app.tenantId)}).</p>` +
          `<form method="post">${hidden}<button name="decision" value="accept" type="submit">Accept</button> <button name="decision" value="cancel" type="submit">Cancel</button></form></main>`,
      );
    }
    const back = new URL(redirectUri);
    if (params.get('decision') === 'accept') {
      this.consentedTenants.add(this.app.tenantId);
      back.searchParams.set('admin_consent', 'True');
      back.searchParams.set('tenant', this.app.tenantId);
      back.searchParams.set('state', state);
      back.searchParams.set('scope', params.get('scope') ?? '');
    } else {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_subcode', 'cancel');
      back.searchParams.set('state', state);
      back.searchParams.set('error_description', 'AADSTS65004: User declined to consent to access the app.');
    }
    res.writeHead(302, { location: back.toString() });
    res.end();
  }
}

let n = 0;
/** An Entra user; userPrincipalName and mail differ on purpose (UPN vs Mail). */
export function entraUser(overrides: Partial<EntraUser> = {}): EntraUser {
  n++;
  const tag = `${n}${Math.random().toString(36).slice(2, 6)}`;
  return {
    id: overrides.id ?? crypto.randomUUID(),
    userPrincipalName: `user${tag}@contoso.onmicrosoft.com`,
    mail: `user${tag}@contoso.com`,
    displayName: `User ${tag}`,
    givenName: 'User',
    surname: tag,
    accountEnabled: true,
    ...overrides,
  };
}
