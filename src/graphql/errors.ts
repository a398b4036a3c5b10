// One mapping from domain errors to GraphQL `extensions.code`. A new error
// kind breaks the build here until it is mapped (assertUnreachable). Errors
// that are not domain errors are logged once and answered with a generic
// message: no SQL, no stack trace leaves the server.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { HeaderMap } from '@apollo/server';
import { assertUnreachable, DomainError, Invalid, retryAfterSeconds } from '../domain/errors.js';

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

/** extensions.code and extra facts for a domain error. */
export function extensionsFor(e: DomainError): Record<string, unknown> {
  const base = { reason: e.code, ...e.details };
  switch (e.kind) {
    case 'not_found':
      return { ...base, code: 'NOT_FOUND' };
    case 'invalid':
      return { ...base, code: 'BAD_USER_INPUT', field: e instanceof Invalid ? (e.field ?? null) : null };
    case 'forbidden':
      return { ...base, code: 'FORBIDDEN' };
    case 'unauthenticated':
      return { ...base, code: 'UNAUTHENTICATED' };
    case 'conflict':
      return { ...base, code: 'CONFLICT' };
    case 'rate_limited':
      return { ...base, code: 'RATE_LIMITED', retryAfterSeconds: retryAfterSeconds(e) ?? null };
    case 'unavailable':
      return { ...base, code: 'SERVICE_UNAVAILABLE' };
    default:
      return assertUnreachable(e.kind);
  }
}

/** Apollo's formatError: domain errors → codes; unknown errors → a generic message. */
export function createFormatError(logger: ErrorLogger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof DomainError) {
      return { message: original.message, locations: formatted.locations, path: formatted.path, extensions: extensionsFor(original) };
    }
    // Errors graphql-js, Apollo and this edge raise themselves (syntax,
    // validation, bad variables, authentication, limits) carry their code;
    // Apollo gives everything else INTERNAL_SERVER_ERROR. (No instanceof
    // GraphQLError: a second copy of graphql would defeat it.)
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    logger.error({ err: original }, 'GraphQL resolver failed');
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/** An error raised by the edge itself (authentication, limits) with its HTTP status (and headers, e.g. Retry-After). */
export function edgeError(message: string, code: string, status: number, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): GraphQLError {
  const http = Object.keys(headers).length > 0 ? { status, headers: new HeaderMap(Object.entries(headers)) } : { status };
  return new GraphQLError(message, { extensions: { code, ...extra, http } });
}
