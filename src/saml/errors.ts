// The SAML edge answers people in a browser: every refusal is a 4xx HTML page
// (never a redirect, never a stack trace) saying what went wrong.
import type { Response } from 'express';
import { retryAfterSeconds, type DomainError } from '../domain/index.js';
import { httpStatusOf } from '../http/errors.js';
import escapeHtml from 'escape-html';

/** A response the SAML checks refused; `reason` is what the audit log records. */
export class LoginRefused extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly status = 400,
    readonly detail: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'LoginRefused';
  }
}


export function sendPage(res: Response, status: number, title: string, message: string, reason?: string): void {
  res
    .status(status)
    .set('Content-Type', 'text/html; charset=utf-8')
    .set('Cache-Control', 'no-store')
    .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
        `<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}code{background:#eee;padding:0 .2em}</style></head>` +
        `<body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>` +
        (reason ? `<p>Reason: <code>${escapeHtml(reason)}</code>. Your administrator sees the details in the Gatehouse admin console, under SAML single sign-on › Login log.</p>` : '') +
        `</body></html>`,
    );
}

export function sendRefusal(res: Response, e: LoginRefused): void {
  sendPage(res, e.status, 'Sign-in refused', e.message, e.reason);
}

/** Domain errors on SAML routes, mapped exhaustively by kind. */
export function sendDomainError(res: Response, e: DomainError): void {
  const status = httpStatusOf(e.kind);
  // 429 (too many refused sign-ins) and 503 say when to try again, by the catalogue's one rule.
  const retry = retryAfterSeconds(e);
  if (retry !== undefined) res.setHeader('Retry-After', String(retry));
  sendPage(res, status, status === 503 ? 'Sign-in unavailable' : 'Sign-in refused', e.message, e.code);
}
