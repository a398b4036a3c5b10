// The GraphQL edge at /graphql: Apollo Server 5 on Express 5, schema built
// code-first with type-graphql. Authentication turns the request into an
// Actor (API key or member session); every rule is the domain's.
import express, { type ErrorRequestHandler, type Request } from 'express';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Config } from '../config.js';
import type { Domain } from '../domain/index.js';
import type { Actor } from '../domain/actor.js';
import { DomainError, retryAfterSeconds } from '../domain/errors.js';
import { readSessionCookie } from '../http/session-cookie.js';
import { guardedJsonParser, HostileJson, parseJsonGuarded } from '../http/json-guard.js';
import { hasValidCsrf } from '../http/csrf.js';
import { httpStatusOf } from '../http/errors.js';
import { contextFor, type GraphqlContext } from './context.js';
import { createFormatError, edgeError, extensionsFor, type ErrorLogger } from './errors.js';
import { buildGraphqlSchema } from './schema.js';
import { costLimitPlugin, depthLimitRule } from './limits.js';

export interface GraphqlEdge {
  readonly router: express.Router;
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
    plugins: [costLimitPlugin(), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled()],
    formatError: createFormatError(logger),
  });
  await server.start();

  const router = express.Router();
  router.use(guardedJsonParser(config.http.bodyLimitBytes));
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
  router.use(expressMiddleware(server, { context: async ({ req }) => contextFor(domain, await authenticate(domain, req), config.http.publicUrl) }));
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
  return { router, close: () => server.stop() };
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
