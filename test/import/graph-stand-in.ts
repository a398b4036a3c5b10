// A local stand-in for Entra's token endpoint and Microsoft Graph's group
// members listing, on 127.0.0.1 port 0. Tests and the benchmark set its
// directory and its failure modes, and read what it was asked.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EntraUser } from '../../src/domain/import/import.model.js';

export interface StandInApp {
  readonly tenantId: string;
  readonly clientId: string;
  clientSecret: string;
}

export class GraphStandIn {
  url = '';
  /** Entra group id → its user members, in order. */
  readonly groups = new Map<string, EntraUser[]>();
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
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(u.pathname);
    if (token && req.method === 'POST') {
      this.tokenRequests++;
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      const form = new URLSearchParams(raw);
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
