// The session cookie, read and written in one place for every edge (SAML,
// GraphQL, the admin console): read with the `cookie` package, which never
// throws on a malformed value (`%`, `%zz`, a cut UTF-8 sequence are kept as
// they came and are no session), and set with one set of options.
import { parseCookie } from 'cookie';
import type { CookieOptions } from 'express';
import type { Config } from '../config.js';
import { SESSION_COOKIE } from '../domain/session/session.service.js';

export { SESSION_COOKIE };

/** The session token of a Cookie header, or undefined (none, empty, or not a token at all). */
export function readSessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const value = parseCookie(header)[SESSION_COOKIE];
  // Tokens are printable ASCII; anything else (a value that did not decode) is no session.
  return value && /^[\x21-\x7e]{1,200}$/.test(value) ? value : undefined;
}

/** HttpOnly, SameSite=Lax (the SAML Reply URL is a cross-site POST), Path=/, Secure with an https PUBLIC_URL. */
export function sessionCookieOptions(config: Config, expires?: Date): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', path: '/', secure: config.http.secureCookies, ...(expires ? { expires } : {}) };
}
