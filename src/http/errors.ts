// HTTP status of a domain error kind, for plain JSON routes (/me, /readyz...).
// Each edge (SCIM, GraphQL, SAML) has its own mapping in its protocol.
import type { ErrorRequestHandler, Response } from 'express';
import { assertUnreachable, DomainError, retryAfterSeconds, type DomainErrorKind } from '../domain/errors.js';

export function httpStatusOf(kind: DomainErrorKind): number {
  switch (kind) {
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'invalid':
      return 400;
    case 'forbidden':
      return 403;
    case 'unauthenticated':
      return 401;
    case 'rate_limited':
      return 429;
    case 'unavailable':
      return 503;
    default:
      return assertUnreachable(kind);
  }
}

/** Answers a domain error as JSON `{ error: code, message }` with its status and the Retry-After rule. */
export function sendDomainErrorJson(res: Response, e: DomainError): void {
  const retry = retryAfterSeconds(e);
  if (retry !== undefined) res.setHeader('Retry-After', String(retry));
  res.status(httpStatusOf(e.kind)).json({ error: e.code, message: e.message });
}

/** Last-resort handler: domain errors by kind, body-parser errors as 4xx, anything else a logged 500. */
export const jsonErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (res.headersSent) return;
  if (err instanceof DomainError) return sendDomainErrorJson(res, err);
  const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
  if (status >= 500) req.log?.error({ err }, 'unhandled error');
  res.status(status).json({
    error: status >= 500 ? 'internal_error' : (err?.type ?? 'bad_request'),
    message: status >= 500 ? 'Internal error' : String(err?.message ?? 'Bad request'),
  });
};
