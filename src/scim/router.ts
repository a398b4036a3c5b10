// The SCIM 2.0 edge (`/scim/v2`, Entra's "Tenant URL"), on bare node:http:
// Entra's provisioning cycle is the busiest traffic Gatehouse has, and an
// Express router in front of it costs more CPU than the rest of a request
// (bench/scim measures the "express" floor). The rooms:
//   transport.ts   route table, sending, refusing, streaming
//   users.ts       /Users handlers          groups.ts   /Groups handlers
//   discovery.ts   /ServiceProviderConfig, /Schemas, /ResourceTypes
//   query.ts       filter, sort, paging, projection parameters
//   body.ts        reading the JSON body    rejections.ts  the provisioning log of refusals
// This file wires them: the bearer token picks the organisation, the body is
// read, the handler runs; every rejected request is recorded in the audit
// trail, every accepted change is audited by the domain in its own transaction.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { DomainError, type Actor, type Domain } from '../domain/index.js';
import { clientIp } from '../http/client-ip.js';
import type { RequestScope, Track } from '../http/request-context.js';
import { BodyError, readJsonBody } from './body.js';
import { discoveryRoutes } from './discovery.js';
import { fromDomainError, scimError, scimErrorOf, ScimProtocolError } from './errors.js';
import { groupRoutes } from './groups.js';
import { recordRejection } from './rejections.js';
import { allowHeaders, refuse, resolve, sendError, SCIM_BASE_PATH, type Call, type Method, type Resource, type Route, type RouteTable } from './transport.js';
import { userRoutes } from './users.js';

export { isScimUrl } from './transport.js';

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

export function scimEdge(deps: { domain: Domain; config: Config; track: Track }): RequestListener {
  const { domain, config, track } = deps;
  const ctx = { domain, base: `${config.http.publicUrl}${SCIM_BASE_PATH}` };
  const limit = config.http.bodyLimitBytes;
  const table: RouteTable = new Map<string, readonly [Route, Route?, Route?]>(
    Object.entries({ users: userRoutes(ctx), groups: groupRoutes(ctx), '.search': [rootSearch], ...discoveryRoutes(ctx) }),
  );
  const allowOf = allowHeaders(table);

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
      await recordRejection(domain, call, resource, method.action, e.response);
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
      await recordRejection(domain, call, resource, method.action, err);
      sendError(res, err);
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse, scope: RequestScope, routed: { route?: Route }): Promise<void> {
    const found = resolve(table, req.method, req.url ?? '');
    if ('error' in found) {
      sendError(res, found.error);
      return;
    }
    const { route, id, search } = found;
    routed.route = route;
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
