// Small server-rendered pages of the console (the bootstrap link's button, a
// refused link, "no organisation found"), styled with the console's own
// stylesheet and icon: no inline script or style, so the console's strict CSP
// holds on them too.
import type { Response } from 'express';
import escapeHtml from 'escape-html';

export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Gatehouse's mark, a house outline: served as /admin/favicon.svg (and /favicon.ico). */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#16243a"/>' +
  '<path d="M7 15.5 16 8l9 7.5V25H19v-6h-6v6H7z" fill="#fff"/></svg>';


/** The document around a page's body (already escaped HTML). */
export function pageHtml(title: string, bodyHtml: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(title)} · Gatehouse</title><link rel="icon" href="/admin/favicon.svg" type="image/svg+xml">` +
    `<link rel="stylesheet" href="/admin/app.css"></head><body>` +
    `<header class="topbar"><div class="brand"><span class="logo" aria-hidden="true">⌂</span><span>Gatehouse</span><span class="crumb">Admin console</span></div></header>` +
    `<main id="main" class="page standalone">${bodyHtml}</main></body></html>`
  );
}

export function sendHtml(res: Response, status: number, title: string, bodyHtml: string): void {
  res
    .status(status)
    .set('Content-Type', 'text/html; charset=utf-8')
    .set('Cache-Control', 'no-store')
    .set('Content-Security-Policy', PAGE_CSP)
    .set('X-Content-Type-Options', 'nosniff')
    // Not no-referrer: Chromium then sends `Origin: null` with the bootstrap form, which the POST refuses.
    .set('Referrer-Policy', 'same-origin')
    .send(pageHtml(title, bodyHtml));
}

/** A refusal in words an admin can act on, with the way back. */
export function sendRefusalPage(res: Response, status: number, title: string, message: string, next: string): void {
  sendHtml(
    res,
    status,
    title,
    `<section class="card card-error" role="alert"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p>${escapeHtml(next)}</p>` +
      `<p><a class="btn" href="/admin">Go to the admin console sign-in</a></p></section>`,
  );
}
