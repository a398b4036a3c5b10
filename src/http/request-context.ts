// Per-request plumbing: a request id, a log line and the duration metric, with
// one `finish` listener per request. The request's child logger is made only
// when something logs through it (most requests never do).
import crypto from 'node:crypto';
import type { Express, RequestHandler } from 'express';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

declare module 'express-serve-static-core' {
  interface Request {
    id: string;
    log: Logger;
  }
}

const REQUEST_ID = /^[\w.-]{1,100}$/;
const childLogger = Symbol('log');

export function requestContext(app: Express, logger: Logger, metrics: Metrics): RequestHandler {
  // On the app's request prototype: `req.log` is made on first use.
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: { id: string; [childLogger]?: Logger }) {
      return (this[childLogger] ??= logger.child({ reqId: this.id }));
    },
  });
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    res.setHeader('x-request-id', req.id);
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      metrics.observe(req, res.statusCode, ms / 1000);
      const level = res.statusCode >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      // The path as it came, without the query (SCIM filters carry user names).
      const path = req.originalUrl.split('?', 1)[0];
      logger[level]({ reqId: req.id, method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  };
}
