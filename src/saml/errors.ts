// The SAML edge answers people in a browser: every refusal is a 4xx HTML page
// (never a redirect, never a stack trace) saying what went wrong.
import type { Response } from 'express';
import { retryAfterSeconds, type DomainError } from '../domain/index.js';
import { httpStatusOf } from '../http/errors.js';
import crypto from 'node:crypto';
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

/**
 * An HTTP-POST binding step (SAML 2.0 bindings §3.5): a page whose form posts
 * the signed message to the IdP, submitted by a script the CSP allows by nonce
 * (with a button when scripts are off); the form may go to that origin only.
 */
export function sendAutoPost(res: Response, action: string, fields: Readonly<Record<string, string>>): void {
  const nonce = crypto.randomBytes(16).toString('base64');
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  res
    .status(200)
    .set('Content-Type', 'text/html; charset=utf-8')
    .set('Cache-Control', 'no-store')
    .set('Content-Security-Policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; form-action ${new URL(action).origin}`)
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signing out</title></head>` +
        `<body><form method="post" action="${escapeHtml(action)}">${inputs}<noscript><p>Signing you out at your identity provider: select Continue.</p></noscript>` +
        `<button type="submit">Continue</button></form><script nonce="${nonce}">document.forms[0].submit()</script></body></html>`,
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

/** What to change, in Entra's words, for each reason a sign-in is refused. */
const ENTRA_ADVICE: Record<string, string> = {
  unknown_user:
    'In Entra: Single sign-on › Attributes & Claims › Unique User Identifier must be user.userprincipalname, and the user must be provisioned to Gatehouse (Provisioning › assign the user or a group, then Provision on demand).',
  inactive_user: 'The member is deactivated in Gatehouse: in Entra, check the user is enabled and still assigned to the application, then wait for the next provisioning cycle.',
  wrong_audience: 'In Entra: Basic SAML Configuration › Identifier (Entity ID) must be exactly the Identifier shown in the admin console.',
  wrong_destination: 'In Entra: Basic SAML Configuration › Reply URL must be exactly the Reply URL shown in the admin console.',
  wrong_recipient: 'In Entra: Basic SAML Configuration › Reply URL must be exactly the Reply URL shown in the admin console.',
  invalid_signature: 'Entra signed with a certificate Gatehouse does not have: in the admin console, select Refresh now (or paste the App Federation Metadata Url again).',
  wrong_issuer: 'The response comes from another Entra application or tenant: paste this application’s App Federation Metadata Url in the admin console again.',
  expired: 'The clocks differ or the answer took too long: try again; if it persists, check the server clock.',
  status_not_success: 'Entra refused the sign-in: check the user is assigned to the application (Users and groups) and may sign in.',
  idp_initiated_disabled: 'Sign-ins started in My Apps are turned off for this organisation: start from the Sign-on URL, or allow them in the admin console.',
};

export interface TestResult {
  readonly outcome: 'success' | 'failure';
  readonly reason: string | null;
  readonly message: string | null;
  readonly nameId: string | null;
  readonly member: { readonly userName: string; readonly displayName: string | null; readonly active: boolean } | null;
  readonly attributes: readonly [string, readonly string[]][];
}

export function sendTestResult(res: Response, r: TestResult): void {
  const ok = r.outcome === 'success';
  const row = (k: string, v: string) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`;
  const advice = r.reason ? (ENTRA_ADVICE[r.reason] ?? null) : null;
  res
    .status(200)
    .set('Content-Type', 'text/html; charset=utf-8')
    .set('Cache-Control', 'no-store')
    .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Test sign-in: ${ok ? 'passed' : 'failed'}</title>` +
        `<link rel="icon" href="/admin/favicon.svg" type="image/svg+xml">` +
        `<style>:root{color-scheme:light dark}body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;line-height:1.45}` +
        `.verdict{padding:.75rem 1rem;border-radius:8px;border-left:6px solid ${ok ? '#137333' : '#b3261e'};background:${ok ? '#e6f4ea' : '#fce8e6'};color:#1c2430}` +
        `table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #8884;vertical-align:top;overflow-wrap:anywhere}th{width:35%}</style></head>` +
        `<body><h1>Test sign-in</h1><p class="verdict" id="test-verdict" data-outcome="${r.outcome}"><strong>${ok ? 'Passed' : 'Failed'}.</strong> ` +
        `${escapeHtml(ok ? `${r.member?.userName ?? ''} could sign in to Gatehouse.` : (r.message ?? 'The sign-in was refused.'))}</p>` +
        (advice ? `<p id="test-advice"><strong>What to change:</strong> ${escapeHtml(advice)}</p>` : '') +
        `<h2>What Entra sent</h2><table><tbody>${row('NameID (Unique User Identifier)', r.nameId ?? '(not read: the response was refused before)')}` +
        r.attributes.map(([k, v]) => row(k, v.join(', '))).join('') +
        `</tbody></table><h2>Member matched</h2><p id="test-member">${escapeHtml(r.member ? `${r.member.userName}${r.member.displayName ? ` (${r.member.displayName})` : ''}${r.member.active ? '' : ', deactivated'}` : 'None: no member has this userName.')}</p>` +
        `<p>This test signed nobody in and changed no session. You can close this window.</p></body></html>`,
    );
}
