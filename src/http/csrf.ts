// CSRF protection for cookie-authenticated requests. The session cookie is
// SameSite=Lax (the SAML Reply URL needs it), which already keeps it off
// cross-site POSTs; on top of that every state-changing request made with the
// cookie must carry `X-CSRF-Token`, a value derived from the session token
// (SHA-256 of it, so it is unguessable without the cookie, which scripts cannot
// read: httpOnly). The console reads it from GET /admin/api/session, which
// another origin cannot read (no CORS). Bearer-token calls (API keys) carry no
// cookie and are not affected. Shared HTTP plumbing: the admin console requires
// it; the GraphQL edge grants admin rights to a cookie session only with it.
import crypto from 'node:crypto';
import type { Request, Response } from 'express';

export const CSRF_HEADER = 'x-csrf-token';

export function csrfTokenFor(sessionToken: string): string {
  return crypto.createHash('sha256').update(`gatehouse-csrf:${sessionToken}`, 'utf8').digest('base64url');
}

function csrfMatches(req: Request, sessionToken: string): boolean {
  const sent = req.get(CSRF_HEADER);
  if (!sent) return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(csrfTokenFor(sessionToken));
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Answers 403 and returns false when the header is missing or wrong. */
export function requireCsrf(req: Request, res: Response, sessionToken: string): boolean {
  if (csrfMatches(req, sessionToken)) return true;
  res.status(403).json({ error: 'csrf_token_invalid', message: `State-changing requests need the ${CSRF_HEADER} header of this session (see GET /admin/api/session)` });
  return false;
}

/**
 * For edges that accept the session cookie besides bearer credentials
 * (GraphQL): true when the request proves it comes from the console. A cookie
 * session gets admin rights there only with it; without it the session stays
 * a plain member session (Apollo's own CSRF prevention still applies).
 */
export function hasValidCsrf(req: Request, sessionToken: string): boolean {
  return csrfMatches(req, sessionToken);
}
