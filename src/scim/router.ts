// The SCIM 2.0 edge (`/scim/v2`, Entra's "Tenant URL"), on bare node:http:
// Entra's provisioning cycle is the busiest traffic Gatehouse has, and an
// Express router in front of it costs more CPU than the rest of a request
// (bench/scim: "express" floor). Its own routing (a table of four resource
// paths and the discovery documents), body reading (./body.ts), auth and errors.
// Each handler parses, makes one domain call and presents the result; the
// bearer token picks the organisation. Every rejected request is recorded in
// the audit trail (the provisioning log), every accepted change is audited by
// the domain in its own transaction.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { DomainError, type Actor, type Domain } from '../domain/index.js';
import { memberDataFrom, type Member } from '../domain/member/member.model.js';
import type { Group } from '../domain/group/group.model.js';
import type { ResourceQuery } from '../domain/query/filter-ast.js';
import { clientIp } from '../http/client-ip.js';
import type { RequestScope, Track } from '../http/request-context.js';
import { BodyError, discardBody, readJsonBody } from './body.js';
import { fromDomainError, scimError, scimErrorOf, ScimProtocolError, type ScimErrorResponse } from './errors.js';
import { parseAttrPath, parseFilter } from './filter.js';
import { applyUserPatch, groupChangeFromPatch, parsePatchBody, type PatchOperation } from './patch.js';
import { etag, listResponse, parseAttributeList, project, type Projection, toScimGroup, toScimMemberRef, toScimUser, userDoc, wantsAttribute } from './presenters.js';
import {
  DEFAULT_COUNT,
  LIST_RESPONSE_URN,
  MAX_RESULTS,
  SEARCH_REQUEST_URN,
  groupInputFromBody,
  isObject,
  memberInputFromBody,
  memberInputFromDoc,
  resourceTypeDocs,
  schemaDocs,
  serviceProviderConfig,
  type Doc,
} from './schemas.js';

const CONTENT_TYPE = 'application/scim+json; charset=utf-8';
const MEMBER_PAGE = 5000;
export const SCIM_BASE_PATH = '/scim/v2';
const SCIM_URL = /^\/scim\/v2(?=[/?]|$)/i;
/** The scheme and authority of an absolute-form request target (`GET http://host/scim/v2/Users`). */
const ABSOLUTE_FORM = /^[a-z][a-z\d+.-]*:\/\/[^/?]*/i;

/** A request target as origin-form (path and query). */
function originForm(url: string): string {
  return url.charCodeAt(0) === 47 /* / */ ? url : url.replace(ABSOLUTE_FORM, '');
}

/** Whether a request URL is the SCIM edge's (`/scim/v2`, any case, as Express's mount matched it). */
export function isScimUrl(url: string): boolean {
  return SCIM_URL.test(originForm(url));
}

/** What is left of a partly read, refused body is read off up to this much; beyond it the connection closes. */
const DISCARD_MAX_BYTES = 64 * 1024 * 1024;

type Resource = 'user' | 'group';

/** One SCIM request as the handlers see it. */
interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly scope: RequestScope;
  /** The `:id` segment, decoded. */
  readonly id: string | undefined;
  readonly search: string;
  body: unknown;
  actor?: Actor;
  query?: Map<string, string | string[]>;
}

type Handler = (call: Call, actor: Actor) => Promise<void>;

interface Method {
  readonly action: string;
  readonly fn: Handler;
}

/** A path and the methods it has (HEAD is GET without the body). */
interface Route {
  /** The metrics label (a pattern, never a raw path). */
  readonly label: string;
  readonly resource?: Resource;
  readonly methods: Readonly<Record<string, Method>>;
  /** Discovery documents: no token needed. */
  readonly open?: (call: Call) => Promise<void>;
}

export function scimEdge(deps: { domain: Domain; config: Config; track: Track }): RequestListener {
  const { domain, config, track } = deps;
  const base = `${config.http.publicUrl}${SCIM_BASE_PATH}`;
  const limit = config.http.bodyLimitBytes;

  // Written straight to Node's response: SCIM sets its own ETags (resource versions).
  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'Content-Type': CONTENT_TYPE, 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
  };
  const sendError = (res: ServerResponse, e: ScimErrorResponse): void => send(res, e.status, e.body, e.headers);

  /** Records a refused request in the provisioning log; never fails the answer. */
  async function recordRejection(call: Call, resource: Resource, action: string, err: ScimErrorResponse): Promise<void> {
    const actor = call.actor;
    if (!actor) return;
    if (call.req.method === 'GET' && err.status === 404) return; // lookups of unknown ids are Entra's normal probing
    const body = call.body;
    let label: string | null = null;
    if (isObject(body)) {
      const key = Object.keys(body).find((k) => k.toLowerCase() === (resource === 'user' ? 'username' : 'displayname'));
      if (key && typeof body[key] === 'string') label = body[key];
    }
    const id = call.id ?? null;
    if (!label && id) {
      try {
        label = resource === 'user' ? (await domain.members.get(actor, id)).userName : (await domain.groups.get(actor, id)).displayName;
      } catch {
        // unknown id: no label
      }
    }
    try {
      await domain.audit.recordFailure(actor, {
        action,
        resourceType: resource === 'user' ? 'member' : 'group',
        resourceId: id,
        resourceLabel: label,
        reason: `${err.body.status}${err.body.scimType ? ` ${err.body.scimType}` : ''}: ${err.body.detail}`,
        detail: { method: call.req.method, path: (call.req.url ?? '').slice(0, 500), request: summarise(body) },
      });
    } catch (e) {
      call.scope.log.warn({ err: e }, 'could not record a rejected SCIM request');
    }
  }

  /**
   * Answers a request whose body was read in part (over the limit, not
   * decodable): Node reads off only a body nobody began to read, so the rest is
   * read off here first, and a client that writes its whole body before it
   * reads gets the answer; a body past DISCARD_MAX_BYTES closes the connection instead.
   */
  async function refuse(call: Call, e: ScimErrorResponse): Promise<void> {
    if (!(await discardBody(call.req, DISCARD_MAX_BYTES))) call.res.setHeader('Connection', 'close');
    sendError(call.res, e);
  }

  /** The organisation the bearer token names; a refusal is answered here (401 with its challenge, or 429). */
  async function authenticate(call: Call): Promise<Actor | undefined> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(call.req.headers.authorization ?? '');
    try {
      // A missing header is a wrong token: the domain answers (and counts) it.
      return (call.actor = await domain.organizations.authenticateScim(m?.[1] ?? '', () => clientIp(call.req)));
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      const err = fromDomainError(e);
      // The body was not read: Node reads it off once the answer is finished (as for a 404 or 405).
      sendError(call.res, { ...err, headers: { ...err.headers, ...(err.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="scim"' } : {}) } });
      return undefined;
    }
  }

  /**
   * A resource request: authenticates, reads the body, runs the handler; a
   * DomainError becomes a SCIM error (recorded), anything else a logged 500.
   */
  async function serveResource(call: Call, resource: Resource, method: Method): Promise<void> {
    const actor = await authenticate(call);
    if (!actor) return;
    const { res } = call;
    try {
      call.body = await readJsonBody(call.req, limit);
    } catch (e) {
      if (!(e instanceof BodyError)) throw e;
      await recordRejection(call, resource, method.action, e.response);
      await refuse(call, e.response);
      return;
    }
    try {
      await method.fn(call, actor);
    } catch (e) {
      if (res.headersSent) {
        call.scope.log.error({ err: e }, 'SCIM response failed while streaming');
        res.destroy();
        return;
      }
      const err = scimErrorOf(e);
      if (!err) {
        call.scope.log.error({ err: e }, 'unhandled SCIM error');
        sendError(res, scimError(500, 'Internal error; the request was not applied'));
        return;
      }
      await recordRejection(call, resource, method.action, err);
      sendError(res, err);
    }
  }

  // ---- Users and Groups ----
  const users: Route = {
    label: `${SCIM_BASE_PATH}/Users`,
    resource: 'user',
    methods: {
      GET: { action: 'scim.user.list', fn: (call, actor) => listUsers(call, actor, urlParams(call)) },
      POST: {
        action: 'scim.user.create',
        async fn(call, actor) {
          const input = memberInputFromBody(call.body);
          const m = await domain.members.create(actor, input, { action: 'scim.user.create', detail: { request: summarise(call.body) } });
          send(call.res, 201, toScimUser(m, base), { Location: `${base}/Users/${m.id}`, ETag: etag(m.version) });
        },
      },
    },
  };
  const user: Route = {
    label: `${SCIM_BASE_PATH}/Users/:id`,
    resource: 'user',
    methods: {
      GET: {
        action: 'scim.user.get',
        async fn(call, actor) {
          const { attributes, excluded } = projection(urlParams(call));
          const m = await domain.members.get(actor, call.id!);
          const [doc] = await usersWithGroups(actor, [m], attributes);
          send(call.res, 200, project(doc!, attributes, excluded), { ETag: etag(m.version) });
        },
      },
      PUT: {
        action: 'scim.user.replace',
        async fn(call, actor) {
          const input = memberInputFromBody(call.body);
          // A PUT without `active` keeps the stored value (never "default true": that would re-activate a leaver).
          const m = await domain.members.update(actor, call.id!, (current) => memberDataFrom({ ...input, active: input.active ?? current.active }), {
            action: 'scim.user.replace',
            detail: { request: summarise(call.body) },
          });
          send(call.res, 200, toScimUser(m, base), { ETag: etag(m.version) });
        },
      },
      PATCH: {
        action: 'scim.user.patch',
        async fn(call, actor) {
          const ops = parsePatchBody(call.body);
          const m = await domain.members.update(actor, call.id!, (current) => memberDataFrom(memberInputFromDoc(applyUserPatch(userDoc(current, base), ops))), {
            action: 'scim.user.patch',
            detail: { operations: summariseOps(ops) },
          });
          const { attributes, excluded } = projection(urlParams(call));
          const [doc] = await usersWithGroups(actor, [m], attributes);
          send(call.res, 200, project(doc!, attributes, excluded), { ETag: etag(m.version) });
        },
      },
      DELETE: {
        action: 'scim.user.delete',
        async fn(call, actor) {
          await domain.members.delete(actor, call.id!, { action: 'scim.user.delete' });
          send(call.res, 204);
        },
      },
    },
  };
  const groups: Route = {
    label: `${SCIM_BASE_PATH}/Groups`,
    resource: 'group',
    methods: {
      GET: { action: 'scim.group.list', fn: (call, actor) => listGroups(call, actor, urlParams(call)) },
      POST: {
        action: 'scim.group.create',
        async fn(call, actor) {
          const input = groupInputFromBody(call.body);
          const g = await domain.groups.create(actor, input, { action: 'scim.group.create', detail: { request: summarise(call.body) } });
          send(call.res, 201, withMemberIds(toScimGroup(g, base), input.memberIds), { Location: `${base}/Groups/${g.id}`, ETag: etag(g.version) });
        },
      },
    },
  };
  const group: Route = {
    label: `${SCIM_BASE_PATH}/Groups/:id`,
    resource: 'group',
    methods: {
      GET: {
        action: 'scim.group.get',
        async fn(call, actor) {
          const { attributes, excluded } = projection(urlParams(call));
          const g = await domain.groups.get(actor, call.id!);
          const { res } = call;
          if (!wantsAttribute('members', attributes, excluded)) {
            send(res, 200, project(toScimGroup(g, base), attributes, excluded), { ETag: etag(g.version) });
            return;
          }
          res.writeHead(200, { 'Content-Type': CONTENT_TYPE, ETag: etag(g.version) });
          await streamGroup(res, actor, g, attributes, excluded);
          res.end();
        },
      },
      PUT: {
        action: 'scim.group.replace',
        async fn(call, actor) {
          const input = groupInputFromBody(call.body);
          const g = await domain.groups.update(
            actor,
            call.id!,
            { displayName: input.displayName, externalId: input.externalId, replaceMembers: input.memberIds },
            { action: 'scim.group.replace', detail: { request: summarise(call.body) } },
          );
          send(call.res, 200, withMemberIds(toScimGroup(g, base), input.memberIds), { ETag: etag(g.version) });
        },
      },
      PATCH: {
        action: 'scim.group.patch',
        async fn(call, actor) {
          const ops = parsePatchBody(call.body);
          const change = groupChangeFromPatch(ops);
          const g = await domain.groups.update(actor, call.id!, change, { action: 'scim.group.patch', detail: { operations: summariseOps(ops) } });
          // Entra prefers 204 for groups: the member list is not sent back.
          send(call.res, 204, undefined, { ETag: etag(g.version) });
        },
      },
      DELETE: {
        action: 'scim.group.delete',
        async fn(call, actor) {
          await domain.groups.delete(actor, call.id!, { action: 'scim.group.delete' });
          send(call.res, 204);
        },
      },
    },
  };

  /** GET /Users and POST /Users/.search: filter, sort, page, project; `groups` only when asked for. */
  async function listUsers(call: Call, actor: Actor, params: Params): Promise<void> {
    const q = listQuery(params);
    const { attributes, excluded } = projection(params);
    const page = await domain.members.search(actor, q);
    const docs = await usersWithGroups(actor, page.members, attributes);
    send(call.res, 200, listResponse(docs.map((d) => project(d, attributes, excluded)), page.totalResults, q.startIndex));
  }

  /** GET /Groups and POST /Groups/.search. */
  async function listGroups(call: Call, actor: Actor, params: Params): Promise<void> {
    const q = listQuery(params);
    const { attributes, excluded } = projection(params);
    const page = await domain.groups.search(actor, q);
    const withMembers = wantsAttribute('members', attributes, excluded);
    const { res } = call;
    if (!withMembers || page.groups.length === 0) {
      const resources = page.groups.map((g) => project(toScimGroup(g, base), attributes, excluded));
      send(res, 200, listResponse(resources, page.totalResults, q.startIndex));
      return;
    }
    // Members are streamed group by group, page by page: never the whole membership in memory.
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE });
    await write(
      res,
      `{"schemas":${JSON.stringify([LIST_RESPONSE_URN])},"totalResults":${page.totalResults},"startIndex":${q.startIndex},"itemsPerPage":${page.groups.length},"Resources":[`,
    );
    for (const [i, g] of page.groups.entries()) {
      if (i > 0) await write(res, ',');
      await streamGroup(res, actor, g, attributes, excluded);
    }
    res.end(']}');
  }

  /**
   * The members as SCIM Users; `groups` (read-only, returned: request) is read
   * and added only when `attributes` names it, in one statement for the page.
   */
  async function usersWithGroups(actor: Actor, members: readonly Member[], attributes: Projection[] | undefined): Promise<Doc[]> {
    const docs = members.map((m) => toScimUser(m, base));
    if (!attributes?.some((a) => a.top === 'groups') || members.length === 0) return docs;
    const byMember = new Map<string, Doc[]>();
    for (const { memberId, group } of await domain.groups.groupsOfMembers(actor, members.map((m) => m.id))) {
      const list = byMember.get(memberId) ?? [];
      list.push({ value: group.id, $ref: `${base}/Groups/${group.id}`, display: group.displayName, type: 'direct' });
      byMember.set(memberId, list);
    }
    return docs.map((d) => {
      const groups = byMember.get(String(d.id));
      return groups ? { ...d, groups } : d;
    });
  }

  // RFC 7644 §3.4.3: a query in a POST body, for filters too long or too private for a URL.
  const searchRoute = (resource: Resource, list: typeof listUsers, label: string): Route => ({
    label: `${SCIM_BASE_PATH}${label}/.search`,
    resource,
    methods: { POST: { action: `scim.${resource}.search`, fn: (call, actor) => list(call, actor, searchParams(call.body)) } },
  });
  // Searching every resource type at once is not offered (ServiceProviderConfig says so).
  const rootSearch: Route = {
    label: `${SCIM_BASE_PATH}/.search`,
    resource: 'user',
    methods: {
      POST: {
        action: 'scim.search',
        async fn() {
          throw new ScimProtocolError('invalidSyntax', 'Searching all resource types at once (POST /.search) is not implemented: POST /Users/.search or /Groups/.search', 501);
        },
      },
    },
  };

  // ---- discovery: no token needed, it describes the service, not a tenant ----
  const discovery = (label: string, doc: (call: Call) => Doc | undefined | Promise<Doc | undefined>, what = 'Document'): Route => ({
    label: `${SCIM_BASE_PATH}${label}`,
    methods: {},
    async open(call) {
      const d = await doc(call);
      if (d) send(call.res, 200, d);
      else sendError(call.res, scimError(404, `${what} ${call.id} not found`));
    },
  });
  /**
   * The custom attribute names of the organisation whose token came with a
   * discovery request (which needs none): the User schema lists them under
   * `metadata`. A missing or refused token just lists none.
   */
  async function metadataKeysOf(call: Call): Promise<string[]> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(call.req.headers.authorization ?? '');
    if (!m) return [];
    try {
      return await domain.members.metadataKeys(await domain.organizations.authenticateScim(m[1]!, () => clientIp(call.req)));
    } catch (e) {
      if (e instanceof DomainError) return [];
      throw e;
    }
  }
  const byId = (docs: Doc[], id: string | undefined) => docs.find((d) => String(d.id).toLowerCase() === id?.toLowerCase());
  const discoveryRoutes = {
    serviceproviderconfig: [discovery('/ServiceProviderConfig', () => serviceProviderConfig(base))],
    schemas: [
      discovery('/Schemas', async (call) => listOf(schemaDocs(base, await metadataKeysOf(call)))),
      discovery('/Schemas/:id', async (call) => byId(schemaDocs(base, await metadataKeysOf(call)), call.id), 'Schema'),
    ],
    resourcetypes: [
      discovery('/ResourceTypes', () => listOf(resourceTypeDocs(base))),
      discovery('/ResourceTypes/:id', (call) => byId(resourceTypeDocs(base), call.id), 'Resource type'),
    ],
  } as const;
  const resourceRoutes = {
    users: [users, user, searchRoute('user', listUsers, '/Users')],
    groups: [groups, group, searchRoute('group', listGroups, '/Groups')],
    '.search': [rootSearch],
  } as const;
  const table = new Map<string, readonly [Route, Route?, Route?]>(Object.entries({ ...resourceRoutes, ...discoveryRoutes }));

  /** The Allow header of each route (a 405 answers with it). */
  const allowOf = new Map<Route, string>([...table.values()].flat().map((r) => [r!, r!.open ? 'GET' : Object.keys(r!.methods).join(', ')]));

  async function serve(req: IncomingMessage, res: ServerResponse, scope: RequestScope, routed: { route?: Route }): Promise<void> {
    const url = originForm(req.url ?? '');
    const q = url.indexOf('?');
    const path = (q < 0 ? url : url.slice(0, q)).replace(SCIM_URL, '');
    const search = q < 0 ? '' : url.slice(q + 1);
    // The segments under /scim/v2; one trailing slash is allowed (as Express's non-strict routing did).
    const segments = (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).split('/');
    const routes = segments[0] === '' && (segments.length === 2 || segments.length === 3) ? table.get(segments[1]!.toLowerCase()) : undefined;
    const isSearch = segments.length === 3 && segments[2] === '.search' && routes?.[2] !== undefined;
    const route = isSearch ? routes![2] : routes?.[segments.length - 2];
    if (!route || (segments.length === 3 && segments[2] === '')) {
      sendError(res, scimError(404, `No SCIM endpoint ${req.method} ${path || '/'}`));
      return;
    }
    routed.route = route;
    let id: string | undefined;
    if (segments.length === 3 && !isSearch) {
      try {
        id = decodeURIComponent(segments[2]!);
      } catch {
        sendError(res, scimError(400, `The path segment ${segments[2]} is not valid percent-encoding`, 'invalidSyntax'));
        return;
      }
    }
    const call: Call = { req, res, scope, id, search, body: undefined };
    const methodName = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    if (route.open && methodName === 'GET') return route.open(call);
    const method = route.methods[methodName];
    if (!method) {
      sendError(res, { ...scimError(405, `${req.method} is not supported on ${route.label.slice(SCIM_BASE_PATH.length)}`), headers: { Allow: allowOf.get(route)! } });
      return;
    }
    await serveResource(call, route.resource!, method);
  }

  async function streamGroup(res: ServerResponse, actor: Actor, g: Group, attributes: ReturnType<typeof parseAttributeList>, excluded: ReturnType<typeof parseAttributeList>): Promise<void> {
    const head = JSON.stringify(project(toScimGroup(g, base), attributes, excluded));
    let after: string | undefined;
    let first = true;
    for (;;) {
      const page = await domain.groups.members(actor, g.id, { afterId: after, limit: MEMBER_PAGE });
      if (first && page.length === 0) {
        // An empty group leaves `members` out, as clients expect of an unassigned attribute.
        await write(res, head);
        return;
      }
      if (first) await write(res, `${head.slice(0, -1)},"members":[`);
      if (page.length > 0) {
        const chunk = page.map((m) => JSON.stringify(toScimMemberRef(m, base))).join(',');
        await write(res, first ? chunk : `,${chunk}`);
        first = false;
      }
      if (page.length < MEMBER_PAGE) break;
      after = page[page.length - 1]!.id;
    }
    await write(res, ']}');
  }

  return (req, res) => {
    const routed: { route?: Route } = {};
    const scope = track(req, res, () => routed.route?.label ?? SCIM_BASE_PATH);
    serve(req, res, scope, routed).catch((e: unknown) => {
      // Only a fault of Gatehouse's own reaches here (the database went away during authentication, say).
      scope.log.error({ err: e }, 'unhandled SCIM error');
      if (res.headersSent) res.destroy();
      else sendError(res, scimError(500, 'Internal error; the request was not applied'));
    });
  };
}

function listOf(docs: Doc[]): Doc {
  return listResponse(docs, docs.length, 1);
}

/** Writes a chunk of a streamed answer; waits when the client reads slowly, fails when it went away. */
function write(res: ServerResponse, chunk: string): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error('the client went away'));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const drained = () => {
      res.off('close', closed);
      resolve();
    };
    const closed = () => {
      res.off('drain', drained);
      reject(new Error('the client went away'));
    };
    res.once('drain', drained).once('close', closed);
  });
}

function withMemberIds(doc: Doc, ids: readonly string[]): Doc {
  return ids.length === 0 ? doc : { ...doc, members: ids.map((id) => ({ value: id })) };
}

/** Where the list parameters come from: the URL (GET) or a SearchRequest body (POST .search). */
interface Params {
  /** A single-valued parameter by case-insensitive name. */
  string(name: string): string | undefined;
  /** `attributes` / `excludedAttributes`: a comma-separated list. */
  list(name: string): string | undefined;
}

/** The query string's parameters; a repeated attributes or excludedAttributes is the comma-joined list (as some client libraries send it). */
function urlParams(call: Call): Params {
  return {
    string: (name) => queryString(call, name),
    list: (name) => {
      const v = parsedQuery(call).get(name.toLowerCase());
      return v === undefined ? undefined : [v].flat().join(',');
    },
  };
}

/** A SearchRequest (RFC 7644 §3.4.3) body as list parameters. */
function searchParams(body: unknown): Params {
  if (!isObject(body)) throw new ScimProtocolError('invalidSyntax', 'The body must be a SearchRequest JSON object');
  const schemas = Object.entries(body).find(([k]) => k.toLowerCase() === 'schemas')?.[1];
  if (!Array.isArray(schemas) || !schemas.some((u) => typeof u === 'string' && u.toLowerCase() === SEARCH_REQUEST_URN.toLowerCase())) {
    throw new ScimProtocolError('invalidSyntax', `schemas must include ${SEARCH_REQUEST_URN}`);
  }
  const fields = new Map(Object.entries(body).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    string(name) {
      const v = fields.get(name.toLowerCase());
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'number' && Number.isInteger(v)) return String(v);
      if (typeof v !== 'string') throw new ScimProtocolError('invalidValue', `${name} must be a ${/index|count/i.test(name) ? 'number' : 'string'}`);
      return v;
    },
    list(name) {
      const v = fields.get(name.toLowerCase());
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string') return v;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
      throw new ScimProtocolError('invalidValue', `${name} must be a list of attribute names`);
    },
  };
}

/** The query string by lower-cased name, read once per request; a repeated name keeps every value. */
function parsedQuery(call: Call): Map<string, string | string[]> {
  if (!call.query) {
    const params = new Map<string, string | string[]>();
    for (const [k, v] of new URLSearchParams(call.search)) {
      const key = k.toLowerCase();
      const had = params.get(key);
      params.set(key, had === undefined ? v : [had, v].flat());
    }
    call.query = params;
  }
  return call.query;
}

/** A query parameter by case-insensitive name; given twice (in any case) is invalid. */
function queryString(call: Call, name: string): string | undefined {
  const v = parsedQuery(call).get(name.toLowerCase());
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new ScimProtocolError('invalidValue', `The query parameter ${name} must be given once`);
  return v;
}

function intParam(params: Params, name: string): number | undefined {
  const v = params.string(name);
  if (v === undefined || v.trim() === '') return undefined;
  if (!/^-?\d{1,9}$/.test(v.trim())) throw new ScimProtocolError('invalidValue', `${name} must be an integer`);
  return Number(v);
}

function listQuery(params: Params): ResourceQuery & { startIndex: number } {
  const filterText = params.string('filter');
  const sortBy = params.string('sortBy');
  const sortOrder = params.string('sortOrder');
  if (sortOrder !== undefined && !/^(ascending|descending)$/i.test(sortOrder)) throw new ScimProtocolError('invalidValue', 'sortOrder must be ascending or descending');
  // RFC 7644 §3.4.2.4: startIndex < 1 is 1, a negative count is 0.
  const startIndex = Math.max(intParam(params, 'startIndex') ?? 1, 1);
  const count = Math.min(Math.max(intParam(params, 'count') ?? DEFAULT_COUNT, 0), MAX_RESULTS);
  return {
    filter: filterText !== undefined && filterText.trim() !== '' ? parseFilter(filterText) : undefined,
    sort: sortBy ? { path: parseAttrPath(sortBy), descending: /^descending$/i.test(sortOrder ?? '') } : undefined,
    startIndex,
    count,
  };
}

function projection(params: Params) {
  return { attributes: parseAttributeList(params.list('attributes')), excluded: parseAttributeList(params.list('excludedAttributes')) };
}

/** What was sent, for the audit trail: long member lists are cut to their first entries. */
function summarise(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 50 ? { first: v.slice(0, 50), count: v.length } : v;
  if (!isObject(v)) return v;
  // Copied only where something was cut: a usual body is logged as it came.
  let out: Record<string, unknown> | undefined;
  for (const [k, val] of Object.entries(v)) {
    const cut = summarise(val);
    if (cut !== val) (out ??= { ...v })[k] = cut;
  }
  return out ?? v;
}

function summariseOps(ops: readonly PatchOperation[]): unknown {
  return ops.slice(0, 100).map((o) => ({ op: o.op, ...(o.pathText ? { path: o.pathText } : {}), ...(o.value !== undefined ? { value: summarise(o.value) } : {}) }));
}
