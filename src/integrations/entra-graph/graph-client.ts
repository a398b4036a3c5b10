// Microsoft Graph client for the Entra group import: an outbound edge that
// implements the domain's EntraDirectory port. OAuth 2.0 client credentials
// (application permissions GroupMember.Read.All and User.Read.All),
// then the group's user members page by page (@odata.nextLink). Graph's
// failures become domain errors with a clear code, because an admin reads
// them as the integration's status.
import { Forbidden, Invalid, Unauthenticated, Unavailable } from '../../domain/errors.js';
import type { EntraCredentials, EntraDirectory, EntraGroup, EntraUser, GatehouseEntraApp } from '../../domain/import/import.model.js';

export interface EntraGraphOptions {
  /** e.g. https://graph.microsoft.com (GRAPH_BASE_URL). */
  readonly graphBaseUrl: string;
  /** e.g. https://login.microsoftonline.com (ENTRA_LOGIN_BASE_URL). */
  readonly loginBaseUrl: string;
  /** Gatehouse's own multi-tenant application (ENTRA_APP_CLIENT_ID / ENTRA_APP_CLIENT_SECRET), for "Authorize with Microsoft". */
  readonly app?: { readonly clientId: string; readonly clientSecret: string } | null;
  /** Per HTTP request. */
  readonly timeoutMs?: number;
  /** Retries of one request on 429/5xx/network errors. */
  readonly maxRetries?: number;
  /** A Retry-After longer than this ends the run instead of waiting (the next run retries). */
  readonly maxRetryAfterSeconds?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const SELECT = 'id,userPrincipalName,mail,displayName,givenName,surname,accountEnabled';
const GROUP_SELECT = 'id,displayName,description,mail';
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PUBLIC_GRAPH = 'https://graph.microsoft.com';

/** Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export function createEntraGraphClient(options: EntraGraphOptions): EntraDirectory {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRetries = options.maxRetries ?? 4;
  const maxRetryAfterMs = (options.maxRetryAfterSeconds ?? 120) * 1000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const graphOrigin = new URL(options.graphBaseUrl).origin;
  // The token's audience: Graph itself, or the national cloud's Graph when configured.
  const scope = `${options.graphBaseUrl.startsWith('https://') ? options.graphBaseUrl : PUBLIC_GRAPH}/.default`;

  /** One request with bounded retries on throttling (honouring Retry-After), 5xx, timeouts and network errors. */
  async function send(what: string, url: string, init: RequestInit): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      } catch (e) {
        const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
        if (attempt < maxRetries) {
          await sleep(Math.min(1000 * 2 ** attempt, 30_000));
          continue;
        }
        throw new Unavailable(
          timedOut ? 'entra_timeout' : 'entra_unreachable',
          timedOut ? `${what}: no answer within ${timeoutMs / 1000} s` : `${what}: cannot reach ${new URL(url).origin} (${e instanceof Error ? e.message : String(e)})`,
        );
      }
      if (res.status === 429 || res.status === 503 || res.status === 502 || res.status === 504 || res.status === 500) {
        const wait = parseRetryAfter(res.headers.get('retry-after')) ?? Math.min(1000 * 2 ** attempt, 30_000);
        await res.body?.cancel();
        if (attempt < maxRetries && wait <= maxRetryAfterMs) {
          await sleep(wait);
          continue;
        }
        throw new Unavailable(
          res.status === 429 ? 'entra_throttled' : 'entra_unavailable',
          res.status === 429
            ? `${what}: Microsoft Graph is throttling requests (429, Retry-After ${Math.round(wait / 1000)} s); the next run retries`
            : `${what}: Microsoft answered ${res.status}; the next run retries`,
          { status: res.status, retryAfterSeconds: Math.round(wait / 1000) },
        );
      }
      return res;
    }
  }

  async function token(c: EntraCredentials): Promise<string> {
    const url = `${options.loginBaseUrl}/${encodeURIComponent(c.tenantId)}/oauth2/v2.0/token`;
    const res = await send('Getting a token from Entra', url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: c.clientId, client_secret: c.clientSecret, scope, grant_type: 'client_credentials' }).toString(),
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown; error_description?: unknown; error_codes?: unknown };
    if (res.ok && typeof body.access_token === 'string') return body.access_token;
    const error = str(body.error) ?? '';
    const description = (str(body.error_description) ?? '').split(/\r?\n/)[0]!.slice(0, 300);
    // AADSTS7000215 invalid secret, AADSTS7000222 expired secret: both invalid_client (401).
    const ours = options.app?.clientId === c.clientId;
    if ((res.status === 401 || error === 'invalid_client') && ours) {
      throw new Unauthenticated(
        'entra_secret_invalid',
        `Entra refused Gatehouse's own application credentials (ENTRA_APP_CLIENT_SECRET expired or wrong): tell whoever runs Gatehouse${description ? ` (${description})` : ''}`,
      );
    }
    if (/AADSTS700016/.test(description) && ours) {
      throw new Forbidden(
        'entra_consent_missing',
        `Gatehouse's application is not (or no longer) authorised in the tenant "${c.tenantId}": select Authorize with Microsoft again, signed in as a Global Administrator${description ? ` (${description})` : ''}`,
      );
    }
    if (res.status === 401 || error === 'invalid_client') {
      throw new Unauthenticated('entra_secret_invalid', `Entra refused the client credentials: client secret expired or wrong${description ? ` (${description})` : ''}`);
    }
    if (/AADSTS90002|AADSTS900023/.test(description) || error === 'invalid_tenant') {
      throw new Invalid('entra_tenant_not_found', `Entra does not know the tenant "${c.tenantId}"${description ? ` (${description})` : ''}`, 'tenantId');
    }
    if (/AADSTS700016/.test(description) || error === 'unauthorized_client') {
      throw new Invalid('entra_client_not_found', `Entra does not know the application (client) id "${c.clientId}" in this tenant${description ? ` (${description})` : ''}`, 'clientId');
    }
    throw new Unavailable('entra_token_failed', `Entra answered ${res.status} to the token request${error ? `: ${error}` : ''}${description ? ` (${description})` : ''}`);
  }

  /** Graph's refusal as a domain error an admin can act on. */
  function graphError(status: number, body: { error?: { code?: unknown; message?: unknown } }, groupId?: string): Error {
    const detail = [str(body.error?.code), str(body.error?.message)].filter(Boolean).join(': ').slice(0, 300);
    if (status === 401) {
      return new Unauthenticated('entra_secret_invalid', `Microsoft Graph refused the token: client secret expired or wrong${detail ? ` (${detail})` : ''}`);
    }
    if (status === 403) {
      return new Forbidden(
        'entra_consent_missing',
        `Microsoft Graph refused to list the group: missing GroupMember.Read.All / User.Read.All consent (application permissions with admin consent)${detail ? ` (${detail})` : ''}`,
      );
    }
    if (status === 404 && groupId !== undefined) return new Invalid('entra_group_not_found', `Entra has no group with id "${groupId}"`, 'entraGroupId');
    return new Unavailable('entra_graph_failed', `Microsoft Graph answered ${status}${detail ? ` (${detail})` : ''}`);
  }

  async function getJson(what: string, url: string, accessToken: string, headers: Record<string, string> = {}) {
    const res = await send(what, url, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', ...headers } });
    const body = (await res.json().catch(() => ({}))) as { value?: unknown; '@odata.nextLink'?: unknown; error?: { code?: unknown; message?: unknown } } & Record<string, unknown>;
    return { res, body };
  }

  function toGroup(v: Record<string, unknown> | null | undefined): EntraGroup | null {
    const id = str(v?.id);
    if (!id) return null;
    return { id, displayName: str(v!.displayName) ?? id, description: str(v!.description), mail: str(v!.mail) };
  }

  const app = options.app;
  const gatehouseApp: GatehouseEntraApp | undefined = app
    ? {
        clientId: app.clientId,
        credentials: (tenantId) => ({ tenantId, clientId: app.clientId, clientSecret: app.clientSecret }),
        adminConsentUrl: ({ redirectUri, state }) =>
          // The /organizations endpoint: any work tenant's admin may consent; Microsoft answers with the tenant that did.
          `${options.loginBaseUrl}/organizations/v2.0/adminconsent?${new URLSearchParams({ client_id: app.clientId, redirect_uri: redirectUri, state, scope }).toString()}`,
      }
    : undefined;

  return {
    ...(gatehouseApp ? { gatehouseApp } : {}),
    async searchGroups(credentials, opts) {
      const accessToken = await token(credentials);
      const what = 'Listing groups in Microsoft Graph';
      const search = (opts.search ?? '').trim();
      if (GUID_RE.test(search)) {
        const { res, body } = await getJson(what, `${options.graphBaseUrl}/v1.0/groups/${encodeURIComponent(search)}?$select=${GROUP_SELECT}`, accessToken);
        if (res.status === 404) return [];
        if (!res.ok) throw graphError(res.status, body);
        const g = toGroup(body);
        return g ? [g] : [];
      }
      const q = new URLSearchParams({ $select: GROUP_SELECT, $top: String(opts.top), $orderby: 'displayName', $count: 'true' });
      // $search on displayName matches words by prefix; quotes and backslashes would end the search string.
      const term = search.replace(/["\\]/g, ' ').trim();
      if (term) q.set('$search', `"displayName:${term}"`);
      // $search, $orderby and $count on directory objects are advanced queries: ConsistencyLevel eventual.
      const { res, body } = await getJson(what, `${options.graphBaseUrl}/v1.0/groups?${q.toString()}`, accessToken, { ConsistencyLevel: 'eventual' });
      if (!res.ok) throw graphError(res.status, body);
      if (!Array.isArray(body.value)) throw new Unavailable('entra_graph_failed', 'Microsoft Graph answered without a list of groups');
      return (body.value as Record<string, unknown>[]).map(toGroup).filter((g): g is EntraGroup => g !== null).slice(0, opts.top);
    },
    async groupMembers(credentials, groupId, opts) {
      const accessToken = await token(credentials);
      const users: EntraUser[] = [];
      let url: string | null =
        `${options.graphBaseUrl}/v1.0/groups/${encodeURIComponent(groupId)}/members/microsoft.graph.user?$select=${SELECT}&$top=999`;
      while (url) {
        const { res, body } = await getJson('Reading the group members from Microsoft Graph', url, accessToken);
        if (!res.ok) throw graphError(res.status, body, groupId);
        if (!Array.isArray(body.value)) throw new Unavailable('entra_graph_failed', 'Microsoft Graph answered without a list of members');
        for (const v of body.value as Record<string, unknown>[]) {
          const id = str(v?.id);
          if (!id) continue;
          users.push({
            id,
            userPrincipalName: str(v.userPrincipalName),
            mail: str(v.mail),
            displayName: str(v.displayName),
            givenName: str(v.givenName),
            surname: str(v.surname),
            accountEnabled: typeof v.accountEnabled === 'boolean' ? v.accountEnabled : null,
          });
        }
        await opts.onPage?.(users.length);
        // Past the limit: no need to read further, the caller refuses the run.
        if (users.length > opts.maxUsers) break;
        const next = str(body['@odata.nextLink']);
        // The bearer token goes to Graph only, never to another origin a page might name.
        if (next && new URL(next).origin !== graphOrigin) throw new Unavailable('entra_graph_failed', 'Microsoft Graph returned a next page on another origin');
        url = next;
      }
      return users;
    },
  };
}
