// Per-request plumbing: a request id, a log line and the duration metric, with
// one `finish` listener per request. The request's child logger is made only
// when something logs through it (most requests never do). Framework-free, so
// the SCIM edge (on bare node:http) and the Express app share it.
import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Express, RequestHandler } from 'express';
import { enterOrigin, lazyOrigin } from '../domain/origin.js';
import { clientIp } from './client-ip.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { traceRequest, type TraceIds } from './trace-context.js';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const REQUEST_ID = /^[\w.-]{1,100}$/;

/** One request's id and its logger (a child bound to the id, and the trace's ids when traced, made on first use). */
export class RequestScope {
  #log: Logger | undefined;
  constructor(
    readonly id: string,
    private readonly logger: Logger,
    /** The ids of the request's span when tracing is on (src/http/trace-context.ts). */
    readonly trace: TraceIds | undefined = undefined,
  ) {}
  get log(): Logger {
    return (this.#log ??= this.logger.child({ reqId: this.id, ...this.trace }));
  }
}

/**
 * Starts tracking a request: its id (the caller's `x-request-id` when
 * well-formed), answered in `x-request-id`; when the response is finished, one
 * duration observation labelled `route()` (a pattern, never the raw path) and one log line.
 */
export type Track = (req: IncomingMessage, res: ServerResponse, route: () => string) => RequestScope;

export function requestTracker(logger: Logger, metrics: Metrics): Track {
  return (req, res, route) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const scope = new RequestScope(id, logger, traceRequest(req, id, route));
    res.setHeader('x-request-id', scope.id);
    // The audit events this request writes record its id and client address.
    enterOrigin(lazyOrigin(scope.id, () => clientIp(req)));
    const started = process.hrtime.bigint();
    // The URL as it came (Express rewrites req.url inside mounted routers).
    const url = req.url ?? '';
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const method = req.method ?? 'GET';
      metrics.observe(method, route(), res.statusCode, ms / 1000);
      const level = res.statusCode >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      // The path without the query (SCIM filters carry user names).
      logger[level]({ reqId: scope.id, ...scope.trace, method, path: url.split('?', 1)[0], status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    return scope;
  };
}

const scopeKey = Symbol('requestScope');

/** The tracker as Express middleware: `req.id`, and `req.log` made on first use. */
export function requestContext(app: Express, track: Track): RequestHandler {
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: { [scopeKey]: RequestScope }) {
      return this[scopeKey].log;
    },
  });
  return (req, res, next) => {
    // The matched route pattern (read when the response is finished), never the raw path.
    const scope = track(req, res, () => (req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : req.baseUrl || 'unmatched'));
    (req as unknown as { [scopeKey]: RequestScope })[scopeKey] = scope;
    req.id = scope.id;
    next();
  };
}
