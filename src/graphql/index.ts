// The GraphQL edge at /graphql: Apollo Server 5 on Express 5, schema built
// code-first with type-graphql. Authentication turns the request into an
// Actor (API key or member session); every rule is the domain's.
import crypto from 'node:crypto';
import express, { type ErrorRequestHandler, type Request } from 'express';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Config } from '../config.js';
import type { Domain } from '../domain/index.js';
import type { Actor } from '../domain/actor.js';
import { DomainError, retryAfterSeconds } from '../domain/errors.js';
import { readSessionCookie } from '../http/session-cookie.js';
import { callerKey, currentReadScope, runInReadScope } from '../infra/postgres/read-scope.js';
import { guardedJsonParser, HostileJson, parseJsonGuarded } from '../http/json-guard.js';
import { hasValidCsrf } from '../http/csrf.js';
import { httpStatusOf } from '../http/errors.js';
import { contextFor, type GraphqlContext } from './context.js';
import { createFormatError, edgeError, extensionsFor, type ErrorLogger } from './errors.js';
import { buildGraphqlSchema } from './schema.js';
import { costLimitPlugin, depthLimitRule } from './limits.js';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { getOperationAST, getVariableValues, parse, specifiedRules, validate, GraphQLError, type ExecutionResult } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { createHandler as createSseHandler } from 'graphql-sse/lib/use/express';
import { AccessHub } from './access-stream.js';

export interface GraphqlEdge {
  readonly router: express.Router;
  /** WebSocket upgrades on /graphql: subscriptions over graphql-ws. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The push of per-lock changes of this process. */
  readonly hub: AccessHub;
  close(): Promise<void>;
}

export async function createGraphqlEdge(deps: { config: Config; domain: Domain; logger: ErrorLogger }): Promise<GraphqlEdge> {
  const { config, domain, logger } = deps;
  const schema = await buildGraphqlSchema();
  const server = new ApolloServer<GraphqlContext>({
    schema,
    introspection: true,
    // src/server.ts owns SIGTERM/SIGINT and stops this server in its graceful shutdown.
    stopOnTerminationSignals: false,
    // Never by default (the quick start runs with NODE_ENV unset): ERROR_STACK_TRACES=on asks for them.
    includeStacktraceInErrorResponses: config.errorStackTraces,
    validationRules: [depthLimitRule()],
    // No HTTP caching hints: the cache-control plugin would wrap every field.
    plugins: [replicaReadsPlugin(), costLimitPlugin(), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled()],
    formatError: createFormatError(logger),
  });
  await server.start();

  const formatError = createFormatError(logger);
  const formatResult = <T extends ExecutionResult>(result: T): T =>
    result.errors ? { ...result, errors: result.errors.map((e) => formatError(e.toJSON(), e)) as unknown as GraphQLError[] } : result;
  const hub = new AccessHub(domain.db, domain, { warn: (obj, msg) => logger.error(obj, msg) });
  const rules = [...specifiedRules, depthLimitRule()];
  /**
   * Parses and validates a subscription request (the same depth limit as
   * queries) and its variables; errors (BAD_USER_INPUT for variables, as
   * Apollo answers queries), or the document.
   */
  const prepare = (query: unknown, variables: Record<string, unknown> | null | undefined, operationName: string | null | undefined) => {
    if (typeof query !== 'string' || query.length > 100_000) return [new GraphQLError('query must be a string of at most 100000 characters')];
    try {
      const document = parse(query);
      const errors = validate(schema, document, rules);
      if (errors.length > 0) return [...errors];
      const operation = getOperationAST(document, operationName ?? undefined);
      const coerced = operation ? getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}) : undefined;
      if (coerced?.errors) return coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'BAD_USER_INPUT' } }));
      return document;
    } catch (e) {
      return [e instanceof GraphQLError ? e : new GraphQLError('The query is not valid GraphQL')];
    }
  };

  // graphql-ws: the same path, the same credentials (connectionParams.authorization, or the upgrade's
  // Authorization header or session cookie). Bad input fails one subscription, never the socket server.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.http.bodyLimitBytes });
  const actors = new WeakMap<object, Actor>();
  const ws = useServer<Record<string, unknown> | undefined, { request: IncomingMessage }>(
    {
      schema,
      onConnect: async (ctx) => {
        const auth = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization ?? ctx.extra.request.headers.authorization;
        try {
          actors.set(ctx.extra, await authenticateWith(domain, typeof auth === 'string' ? auth : undefined, ctx.extra.request.headers.cookie, ctx.extra.request.socket.remoteAddress));
          return true;
        } catch {
          return false; // closes with 4403 Forbidden
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        const actor = actors.get(ctx.extra);
        if (!actor) return [new GraphQLError('Not authenticated')];
        const document = prepare(payload.query, payload.variables, payload.operationName);
        if (Array.isArray(document)) return document;
        return { schema, document, variableValues: payload.variables ?? undefined, operationName: payload.operationName ?? undefined, contextValue: { ...contextFor(domain, actor, config.http.publicUrl), hub } };
      },
      onNext: (_ctx, _id, _payload, _args, result) => formatResult(result),
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => new GraphQLError(e.message, { extensions: e.extensions })),
    },
    wss,
  );

  // graphql-sse: the same subscription over Server-Sent Events (Accept: text/event-stream), for proxies that drop WebSockets.
  const sseActors = new WeakMap<object, Actor>();
  const sse = createSseHandler({
    schema,
    authenticate: async (req) => {
      try {
        sseActors.set(req.raw, await authenticate(domain, req.raw as Request));
      } catch (e) {
        const status = e instanceof GraphQLError && typeof (e.extensions.http as { status?: number } | undefined)?.status === 'number' ? (e.extensions.http as { status: number }).status : 401;
        return [JSON.stringify({ errors: [{ message: e instanceof Error ? e.message : 'Not authenticated', extensions: { code: 'UNAUTHENTICATED' } }] }), { status, statusText: 'Unauthorized' }];
      }
      return req.headers.get('x-graphql-event-stream-token') ?? crypto.randomUUID();
    },
    onSubscribe: (req, params) => {
      const actor = sseActors.get(req.raw);
      if (!actor) return [null, { status: 401, statusText: 'Unauthorized' }];
      const document = prepare(params.query, params.variables, params.operationName);
      if (Array.isArray(document)) return [JSON.stringify({ errors: document.map((e) => formatError(e.toJSON(), e)) }), { status: 400, statusText: 'Bad Request', headers: { 'content-type': 'application/json' } }];
      return { schema, document, variableValues: params.variables ?? undefined, operationName: params.operationName ?? undefined, contextValue: { ...contextFor(domain, actor, config.http.publicUrl), hub } };
    },
    onNext: (_ctx, _req, result) => formatResult(result as ExecutionResult),
  });

  const router = express.Router();
  router.use(guardedJsonParser(config.http.bodyLimitBytes));
  // Queries may read from a replica (replicaReadsPlugin decides once the operation is known).
  router.use((_req, _res, next) => runInReadScope({ caller: undefined, lagTolerant: false }, next));
  router.use((req, res, next) => {
    if (!(req.get('accept') ?? '').includes('text/event-stream')) return next();
    sse(req, res).catch(next);
  });
  // GET carries variables and extensions as JSON in the query string: the same guards.
  router.use((req, _res, next) => {
    if (req.method !== 'GET') return next();
    try {
      for (const key of ['variables', 'extensions']) {
        const v = req.query[key];
        if (typeof v === 'string') parseJsonGuarded(v);
      }
    } catch (e) {
      if (e instanceof HostileJson) return next(e);
      // Not JSON: Apollo answers it as a bad request.
    }
    next();
  });
  router.use(
    expressMiddleware(server, {
      context: async ({ req }) => {
        const actor = await authenticate(domain, req);
        // A console admin's session: "Authorize with Microsoft" binds its consent request to it.
        const sessionToken = actor.kind === 'admin' ? readSessionCookie(req.get('cookie')) : undefined;
        return { ...contextFor(domain, actor, config.http.publicUrl), ...(sessionToken ? { sessionToken } : {}) };
      },
    }),
  );
  // Body parser failures (malformed JSON, oversize body) answered in GraphQL's shape.
  const onBodyError: ErrorRequestHandler = (err, _req, res, next) => {
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : undefined;
    if (!status) return next(err);
    const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
    const message =
      status === 413 ? `The request body is larger than ${config.http.bodyLimitBytes} bytes` : err instanceof HostileJson ? err.message : 'The request body is not valid JSON';
    res.status(status).json({ errors: [{ message, extensions: { code } }] });
  };
  router.use(onBodyError);
  return {
    router,
    hub,
    upgrade(req, socket, head) {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/graphql') {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
    },
    async close() {
      hub.close();
      await ws.dispose();
      await server.stop();
    },
  };
}

/** A WebSocket's credentials: an API key (Bearer), else the session cookie (a plain member: no console rights). */
/**
 * Once the operation is known (after authentication): a query's lag-tolerant
 * reads may go to a read replica that has replayed this caller's writes; a
 * mutation's go to the primary, and its writes are remembered for the caller.
 */
function replicaReadsPlugin(): ApolloServerPlugin<GraphqlContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(rc) {
          const scope = currentReadScope();
          if (!scope) return;
          const headers = rc.request.http?.headers;
          scope.caller = callerKey(headers?.get('authorization') ?? readSessionCookie(headers?.get('cookie')));
          scope.lagTolerant = rc.operation?.operation === 'query';
        },
      };
    },
  };
}

async function authenticateWith(domain: Domain, authorization: string | undefined, cookie: string | undefined, ip: string | undefined): Promise<Actor> {
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw new Error('bad authorization');
    return domain.apiKeys.authenticate(m[1]!, ip ?? 'unknown');
  }
  const token = readSessionCookie(cookie);
  if (token) return domain.sessions.authenticate(token);
  throw new Error('no credentials');
}

/** `Authorization: Bearer <api key>`, else the session cookie; otherwise UNAUTHENTICATED. */
async function authenticate(domain: Domain, req: Request): Promise<Actor> {
  try {
    const auth = req.get('authorization');
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (!m) throw edgeError('The Authorization header must be "Bearer <api key>"', 'UNAUTHENTICATED', 401);
      return await domain.apiKeys.authenticate(m[1]!, req.ip ?? 'unknown');
    }
    const token = readSessionCookie(req.get('cookie'));
    if (token) {
      // A console admin's session acts with admin rights only with the CSRF header (src/http/csrf.ts);
      // without it, the same cookie is a plain member session (viewer).
      const member = await domain.sessions.authenticate(token);
      return hasValidCsrf(req, token) ? await domain.admins.elevate(member) : member;
    }
  } catch (e) {
    if (e instanceof DomainError) {
      // 429 (and 503) with Retry-After, by the catalogue's one rule.
      const retry = retryAfterSeconds(e);
      throw edgeError(e.message, String(extensionsFor(e).code), httpStatusOf(e.kind), { reason: e.code, ...(retry !== undefined ? { retryAfterSeconds: retry } : {}) }, retry !== undefined ? { 'retry-after': String(retry) } : {});
    }
    throw e;
  }
  throw edgeError('Send an API key as "Authorization: Bearer <key>" or sign in', 'UNAUTHENTICATED', 401);
}
