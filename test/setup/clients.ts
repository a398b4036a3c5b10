// Thin protocol clients for a TestApp (./test-app.ts): SCIM, GraphQL, SAML and
// the admin console, each a few lines over fetch.
import zlib from 'node:zlib';
import { csrfTokenFor } from '../../src/http/csrf.js';
import { SESSION_COOKIE } from '../../src/domain/session/session.service.js';
import type { TestApp } from './test-app.js';

// ---- SCIM

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

/** A SCIM client on the app's /scim/v2 with a bearer token (null: none). */
export function scimClient(app: Pick<TestApp, 'url'>, token: string | null): ScimClient {
  return new ScimClient(`${app.url}/scim/v2`, token);
}

// ---- GraphQL

export interface GqlResponse {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[] };
}

export interface Credentials {
  apiKey?: string;
  session?: string;
}

/** POSTs a raw body to a GraphQL endpoint. */
export async function postGraphql(endpoint: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, text: await res.text() };
}

/** One GraphQL operation with an API key or a session cookie. */
export async function gql(endpoint: string, query: string, variables?: Record<string, unknown>, creds: Credentials = {}): Promise<GqlResponse> {
  const headers: Record<string, string> = {};
  if (creds.apiKey) headers.authorization = `Bearer ${creds.apiKey}`;
  if (creds.session) headers.cookie = `${SESSION_COOKIE}=${creds.session}`;
  const res = await postGraphql(endpoint, JSON.stringify({ query, variables }), headers);
  return { status: res.status, body: JSON.parse(res.text) as GqlResponse['body'] };
}

/** The codes of a response's errors. */
export function codes(res: GqlResponse): unknown[] {
  return (res.body.errors ?? []).map((e) => e.extensions?.code);
}

// ---- Admin console

/** A console admin of the organisation: a bootstrap link redeemed into a session, with its CSRF token. */
export async function consoleAdmin(app: Pick<TestApp, 't'>, organizationId: string, userName?: string): Promise<{ session: string; cookie: string; csrf: string; memberId: string }> {
  const link = await app.t.domain.admins.createBootstrapLink(organizationId, { userName });
  const session = (await app.t.domain.admins.redeemBootstrapLink(link.token)).token;
  return { session, cookie: `${SESSION_COOKIE}=${session}`, csrf: csrfTokenFor(session), memberId: link.memberId };
}

// ---- SAML

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
