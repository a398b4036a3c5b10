// The SCIM 2.0 edge (`/scim/v2`, Entra's "Tenant URL"). Each handler parses,
// makes one domain call and presents the result; the bearer token picks the
// organisation. Every rejected request is recorded in the audit trail (the
// provisioning log), every accepted change is audited by the domain in its
// own transaction.
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Config } from '../config.js';
import { DomainError, Invalid, type Actor, type Domain } from '../domain/index.js';
import { memberDataFrom } from '../domain/member/member.model.js';
import type { Group } from '../domain/group/group.service.js';
import type { ResourceQuery } from '../domain/query/filter-ast.js';
import { fromDomainError, scimError, type ScimErrorResponse } from './errors.js';
import { parseAttrPath, parseFilter } from './filter.js';
import { applyUserPatch, groupChangeFromPatch, parsePatchBody, type PatchOperation } from './patch.js';
import { etag, listResponse, parseAttributeList, project, toScimGroup, toScimMemberRef, toScimUser, userDoc, wantsAttribute } from './presenters.js';
import {
  DEFAULT_COUNT,
  LIST_RESPONSE_URN,
  MAX_RESULTS,
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

declare module 'express-serve-static-core' {
  interface Request {
    scimActor?: Actor;
  }
}

type Resource = 'user' | 'group';

export function scimRouter(deps: { domain: Domain; config: Config }): express.Router {
  const { domain, config } = deps;
  const base = `${config.http.publicUrl}/scim/v2`;
  const router = express.Router({ caseSensitive: false });

  router.use(express.json({ type: ['application/json', 'application/scim+json'], limit: config.http.bodyLimitBytes, strict: false }));

  // Written straight to Node's response: SCIM sets its own ETags (resource versions), so
  // Express's send() (a hash of every body for an ETag of its own, charset handling) is not needed.
  const send = (res: Response, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'Content-Type': CONTENT_TYPE, 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
  };
  const sendError = (res: Response, e: ScimErrorResponse): void => send(res, e.status, e.body, e.headers);

  /** Records a refused request in the provisioning log; never fails the answer. */
  async function recordRejection(req: Request, resource: Resource, action: string, err: ScimErrorResponse): Promise<void> {
    const actor = req.scimActor;
    if (!actor) return;
    if (req.method === 'GET' && err.status === 404) return; // lookups of unknown ids are Entra's normal probing
    const body: unknown = req.body;
    let label: string | null = null;
    if (isObject(body)) {
      const key = Object.keys(body).find((k) => k.toLowerCase() === (resource === 'user' ? 'username' : 'displayname'));
      if (key && typeof body[key] === 'string') label = body[key];
    }
    const id = typeof req.params.id === 'string' ? req.params.id : null;
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
        detail: { method: req.method, path: req.originalUrl.slice(0, 500), request: summarise(body) },
      });
    } catch (e) {
      req.log.warn({ err: e }, 'could not record a rejected SCIM request');
    }
  }

  /** The organisation the bearer token names; a refusal is answered here (401 with its challenge, or 429). */
  async function authenticate(req: Request, res: Response): Promise<Actor | undefined> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    try {
      // A missing header is a wrong token: the domain answers (and counts) it.
      return (req.scimActor = await domain.organizations.authenticateScim(m?.[1] ?? '', () => req.ip ?? 'unknown'));
    } catch (e) {
      if (!(e instanceof DomainError)) {
        req.log.error({ err: e }, 'SCIM authentication failed unexpectedly');
        sendError(res, scimError(500, 'Internal error'));
        return undefined;
      }
      const err = fromDomainError(e);
      sendError(res, { ...err, headers: { ...err.headers, ...(err.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="scim"' } : {}) } });
      return undefined;
    }
  }

  /**
   * A resource handler: authenticates, then runs `fn`; a DomainError becomes a
   * SCIM error (recorded), anything else a logged 500.
   */
  const handle =
    (resource: Resource, action: string, fn: (req: Request, res: Response, actor: Actor) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      const actor = await authenticate(req, res);
      if (!actor) return;
      try {
        await fn(req, res, actor);
      } catch (e) {
        if (res.headersSent) {
          req.log.error({ err: e }, 'SCIM response failed while streaming');
          res.destroy();
          return;
        }
        if (!(e instanceof DomainError)) {
          req.log.error({ err: e }, 'unhandled SCIM error');
          sendError(res, scimError(500, 'Internal error; the request was not applied'));
          return;
        }
        const err = fromDomainError(e);
        await recordRejection(req, resource, action, err);
        sendError(res, err);
      }
    };

  // ---- Users and Groups ----
  // One route per path with its methods on it (a method it lacks is 405, with the ones it has). Each handler authenticates first.
  const notAllowed =
    (path: string, allow: string): RequestHandler =>
    (req, res) =>
      sendError(res, { ...scimError(405, `${req.method} is not supported on ${path}`), headers: { Allow: allow } });
  router
    .route('/Users')
    .get(
      handle('user', 'scim.user.list', async (req, res, actor) => {
        const q = listQuery(req);
        const { attributes, excluded } = projection(req);
        const page = await domain.members.search(actor, q);
        const resources = page.members.map((m) => project(toScimUser(m, base), attributes, excluded));
        send(res, 200, listResponse(resources, page.totalResults, q.startIndex));
      }),
    )
    .post(
      handle('user', 'scim.user.create', async (req, res, actor) => {
        const input = memberInputFromBody(req.body);
        const m = await domain.members.create(actor, input, { action: 'scim.user.create', detail: { request: summarise(req.body) } });
        send(res, 201, toScimUser(m, base), { Location: `${base}/Users/${m.id}`, ETag: etag(m.version) });
      }),
    )
    .all(notAllowed('/Users', 'GET, POST'));
  router
    .route('/Users/:id')
    .get(
      handle('user', 'scim.user.get', async (req, res, actor) => {
        const { attributes, excluded } = projection(req);
        const m = await domain.members.get(actor, String(req.params.id));
        send(res, 200, project(toScimUser(m, base), attributes, excluded), { ETag: etag(m.version) });
      }),
    )
    .put(
      handle('user', 'scim.user.replace', async (req, res, actor) => {
        const input = memberInputFromBody(req.body);
        const m = await domain.members.update(actor, String(req.params.id), () => memberDataFrom(input), {
          action: 'scim.user.replace',
          detail: { request: summarise(req.body) },
        });
        send(res, 200, toScimUser(m, base), { ETag: etag(m.version) });
      }),
    )
    .patch(
      handle('user', 'scim.user.patch', async (req, res, actor) => {
        const ops = parsePatchBody(req.body);
        const m = await domain.members.update(actor, String(req.params.id), (current) => memberDataFrom(memberInputFromDoc(applyUserPatch(userDoc(current, base), ops))), {
          action: 'scim.user.patch',
          detail: { operations: summariseOps(ops) },
        });
        const { attributes, excluded } = projection(req);
        send(res, 200, project(toScimUser(m, base), attributes, excluded), { ETag: etag(m.version) });
      }),
    )
    .delete(
      handle('user', 'scim.user.delete', async (req, res, actor) => {
        await domain.members.delete(actor, String(req.params.id), { action: 'scim.user.delete' });
        send(res, 204);
      }),
    )
    .all(notAllowed('/Users/:id', 'GET, PUT, PATCH, DELETE'));
  router
    .route('/Groups')
    .get(
      handle('group', 'scim.group.list', async (req, res, actor) => {
        const q = listQuery(req);
        const { attributes, excluded } = projection(req);
        const page = await domain.groups.search(actor, q);
        const withMembers = wantsAttribute('members', attributes, excluded);
        if (!withMembers || page.groups.length === 0) {
          const resources = page.groups.map((g) => project(toScimGroup(g, base), attributes, excluded));
          send(res, 200, listResponse(resources, page.totalResults, q.startIndex));
          return;
        }
        // Members are streamed group by group, page by page: never the whole membership in memory.
        res.status(200).set('Content-Type', CONTENT_TYPE);
        await write(
          res,
          `{"schemas":${JSON.stringify([LIST_RESPONSE_URN])},"totalResults":${page.totalResults},"startIndex":${q.startIndex},"itemsPerPage":${page.groups.length},"Resources":[`,
        );
        for (const [i, g] of page.groups.entries()) {
          if (i > 0) await write(res, ',');
          await streamGroup(res, actor, g, attributes, excluded);
        }
        res.end(']}');
      }),
    )
    .post(
      handle('group', 'scim.group.create', async (req, res, actor) => {
        const input = groupInputFromBody(req.body);
        const g = await domain.groups.create(actor, input, { action: 'scim.group.create', detail: { request: summarise(req.body) } });
        send(res, 201, withMemberIds(toScimGroup(g, base), input.memberIds), { Location: `${base}/Groups/${g.id}`, ETag: etag(g.version) });
      }),
    )
    .all(notAllowed('/Groups', 'GET, POST'));
  router
    .route('/Groups/:id')
    .get(
      handle('group', 'scim.group.get', async (req, res, actor) => {
        const { attributes, excluded } = projection(req);
        const g = await domain.groups.get(actor, String(req.params.id));
        if (!wantsAttribute('members', attributes, excluded)) {
          send(res, 200, project(toScimGroup(g, base), attributes, excluded), { ETag: etag(g.version) });
          return;
        }
        res.status(200).set({ 'Content-Type': CONTENT_TYPE, ETag: etag(g.version) });
        await streamGroup(res, actor, g, attributes, excluded);
        res.end();
      }),
    )
    .put(
      handle('group', 'scim.group.replace', async (req, res, actor) => {
        const input = groupInputFromBody(req.body);
        const g = await domain.groups.update(
          actor,
          String(req.params.id),
          { displayName: input.displayName, externalId: input.externalId, replaceMembers: input.memberIds },
          { action: 'scim.group.replace', detail: { request: summarise(req.body) } },
        );
        send(res, 200, withMemberIds(toScimGroup(g, base), input.memberIds), { ETag: etag(g.version) });
      }),
    )
    .patch(
      handle('group', 'scim.group.patch', async (req, res, actor) => {
        const ops = parsePatchBody(req.body);
        const change = groupChangeFromPatch(ops);
        const g = await domain.groups.update(actor, String(req.params.id), change, { action: 'scim.group.patch', detail: { operations: summariseOps(ops) } });
        // Entra prefers 204 for groups: the member list is not sent back.
        send(res, 204, undefined, { ETag: etag(g.version) });
      }),
    )
    .delete(
      handle('group', 'scim.group.delete', async (req, res, actor) => {
        await domain.groups.delete(actor, String(req.params.id), { action: 'scim.group.delete' });
        send(res, 204);
      }),
    )
    .all(notAllowed('/Groups/:id', 'GET, PUT, PATCH, DELETE'));

  // ---- discovery ----
  // No token needed: it describes the service, not a tenant. After the resources, which are asked far more.
  router.get('/ServiceProviderConfig', (_req, res) => send(res, 200, serviceProviderConfig(base)));
  router.get('/Schemas', (_req, res) => {
    const docs = schemaDocs(base);
    send(res, 200, listResponse(docs, docs.length, 1));
  });
  router.get('/Schemas/:id', (req, res) => {
    const doc = schemaDocs(base).find((d) => String(d.id).toLowerCase() === String(req.params.id).toLowerCase());
    if (doc) send(res, 200, doc);
    else sendError(res, scimError(404, `Schema ${req.params.id} not found`));
  });
  router.get('/ResourceTypes', (_req, res) => {
    const docs = resourceTypeDocs(base);
    send(res, 200, listResponse(docs, docs.length, 1));
  });
  router.get('/ResourceTypes/:id', (req, res) => {
    const doc = resourceTypeDocs(base).find((d) => String(d.id).toLowerCase() === String(req.params.id).toLowerCase());
    if (doc) send(res, 200, doc);
    else sendError(res, scimError(404, `Resource type ${req.params.id} not found`));
  });

  router.use((req, res) => sendError(res, scimError(404, `No SCIM endpoint ${req.method} ${req.path}`)));

  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    if (res.headersSent) return;
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') return sendError(res, scimError(413, `The request body is larger than ${config.http.bodyLimitBytes} bytes`));
    if (type === 'entity.parse.failed') return sendError(res, scimError(400, 'The request body is not valid JSON', 'invalidSyntax'));
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return sendError(res, scimError(status, String((err as Error).message ?? 'Bad request'), status === 400 ? 'invalidSyntax' : undefined));
    }
    req.log.error({ err }, 'unhandled SCIM error');
    sendError(res, scimError(500, 'Internal error'));
  };
  router.use(onError);

  async function streamGroup(res: Response, actor: Actor, g: Group, attributes: ReturnType<typeof parseAttributeList>, excluded: ReturnType<typeof parseAttributeList>): Promise<void> {
    const head = JSON.stringify(project(toScimGroup(g, base), attributes, excluded));
    await write(res, `${head.slice(0, -1)},"members":[`);
    let after: string | undefined;
    let first = true;
    for (;;) {
      const page = await domain.groups.members(actor, g.id, { afterId: after, limit: MEMBER_PAGE });
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

  return router;
}

function write(res: Response, chunk: string): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => res.once('drain', () => resolve()));
}

function withMemberIds(doc: Doc, ids: readonly string[]): Doc {
  return ids.length === 0 ? doc : { ...doc, members: ids.map((id) => ({ value: id })) };
}

/** Query parameters by lower-cased name, read once per request (Express parses `req.query` again on every read). */
const queries = new WeakMap<Request, Map<string, unknown>>();

function queryString(req: Request, name: string): string | undefined {
  let params = queries.get(req);
  if (!params) {
    params = new Map();
    for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
      const key = k.toLowerCase();
      // The same name in two cases is the parameter given twice.
      params.set(key, params.has(key) ? [params.get(key), v].flat() : v);
    }
    queries.set(req, params);
  }
  const v = params.get(name.toLowerCase());
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new Invalid('invalid_value', `The query parameter ${name} must be given once`, name);
  return v;
}

function intParam(req: Request, name: string): number | undefined {
  const v = queryString(req, name);
  if (v === undefined || v.trim() === '') return undefined;
  if (!/^-?\d{1,9}$/.test(v.trim())) throw new Invalid('invalid_value', `${name} must be an integer`, name);
  return Number(v);
}

function listQuery(req: Request): ResourceQuery & { startIndex: number } {
  const filterText = queryString(req, 'filter');
  const sortBy = queryString(req, 'sortBy');
  const sortOrder = queryString(req, 'sortOrder');
  if (sortOrder !== undefined && !/^(ascending|descending)$/i.test(sortOrder)) throw new Invalid('invalid_value', 'sortOrder must be ascending or descending', 'sortOrder');
  // RFC 7644 §3.4.2.4: startIndex < 1 is 1, a negative count is 0.
  const startIndex = Math.max(intParam(req, 'startIndex') ?? 1, 1);
  const count = Math.min(Math.max(intParam(req, 'count') ?? DEFAULT_COUNT, 0), MAX_RESULTS);
  return {
    filter: filterText !== undefined && filterText.trim() !== '' ? parseFilter(filterText) : undefined,
    sort: sortBy ? { path: parseAttrPath(sortBy), descending: /^descending$/i.test(sortOrder ?? '') } : undefined,
    startIndex,
    count,
  };
}

function projection(req: Request) {
  return { attributes: parseAttributeList(queryString(req, 'attributes')), excluded: parseAttributeList(queryString(req, 'excludedAttributes')) };
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
