// What a failing statement means to the domain. Errors the server reports
// (pg's DatabaseError, with its SQLSTATE and constraint name) pass through as
// they are, for the domain to read (src/domain/db-errors.ts), except those
// saying the server is going away. A lost or refused connection, and no
// connection within the timeout, become Unavailable (503 at every edge).
import pg from 'pg';
import { Unavailable } from '../../domain/errors.js';

export function databaseUnavailable(): Unavailable {
  return new Unavailable('database_unavailable', 'The database is not reachable; retry shortly');
}

/** SQLSTATE classes of a connection going away: 08 (connection exception), 57P01..57P03 (shutdown, cannot connect now). */
function connectionLost(sqlState: string): boolean {
  return sqlState.startsWith('08') || sqlState === '57P01' || sqlState === '57P02' || sqlState === '57P03';
}

/** Node's socket errors (refused, reset, no socket file for the embedded database). */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Translates an error of a statement. `connectionEnded` says whether the
 * connection it ran on has ended (pg rejects what was in flight on a dead
 * connection with a plain Error).
 */
export function translateQueryError(e: unknown, connectionEnded: boolean): unknown {
  if (e instanceof pg.DatabaseError) return e.code !== undefined && connectionLost(e.code) ? databaseUnavailable() : e;
  const code = (e as { code?: unknown } | null)?.code;
  if (connectionEnded || (typeof code === 'string' && SOCKET_ERRORS.has(code))) return databaseUnavailable();
  return e;
}

/** Translates an error of getting a connection: whatever it is, there is none to be had. */
export function translateConnectError(_e: unknown): unknown {
  return databaseUnavailable();
}
