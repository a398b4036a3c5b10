// Sends mail through an SMTP server with nodemailer (SMTP_URL, MAIL_FROM) and
// classifies what the server answers: a permanent refusal of the recipient
// (5xx at RCPT TO) is a hard bounce, a permanent refusal of the message (5xx
// at DATA) is final, anything else (4xx, no connection, timeouts, refused
// credentials) is worth a retry. smtp:// upgrades with STARTTLS; when the URL
// carries credentials the upgrade is required (credentials never travel in
// clear), unless the URL says ?requireTLS=false. smtps:// is TLS from the start.
import { createRequire } from 'node:module';
import type Nodemailer from 'nodemailer';
import type { MailMessage, MailSendResult, MailTransport } from '../../domain/mail/mail.model.js';

export interface SmtpTransportOptions {
  readonly url: string;
  /** From header: an address or `Name <address>`. */
  readonly from: string;
  /** Connections kept open to the server (default 2). */
  readonly maxConnections?: number;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** What an SMTP failure means for the mail (see MailSendResult). */
export function classifySmtpError(e: SmtpError): { kind: 'bounced' | 'rejected' | 'transient'; smtpCode: number | null; error: string } {
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  const text = (e.response ?? e.message ?? String(e)).replace(/\s+/g, ' ').trim();
  const permanent = code !== null && code >= 500 && code < 600;
  // nodemailer: EENVELOPE = the recipient (or sender) was refused; EMESSAGE = the message was refused at DATA.
  if (permanent && e.code === 'EENVELOPE' && e.command === 'RCPT TO') return { kind: 'bounced', smtpCode: code, error: text };
  if (permanent && e.code === 'EMESSAGE') return { kind: 'rejected', smtpCode: code, error: text };
  if (e.code === 'EAUTH') return { kind: 'transient', smtpCode: code, error: `the SMTP server refused Gatehouse's credentials: ${text}` };
  return { kind: 'transient', smtpCode: code, error: text };
}

export function createSmtpTransport(opts: SmtpTransportOptions): MailTransport & { close(): void } {
  // Loaded here, not at start: only a server with SMTP_URL sends mail.
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof Nodemailer;
  const url = new URL(opts.url);
  const hasAuth = url.username !== '' || url.password !== '';
  const transporter = nodemailer.createTransport({
    url: opts.url,
    pool: true,
    maxConnections: opts.maxConnections ?? 2,
    // Credentials only over TLS: a server without STARTTLS is refused (the URL may say ?requireTLS=false).
    requireTLS: hasAuth && url.protocol === 'smtp:',
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    disableFileAccess: true,
    disableUrlAccess: true,
  } as unknown as Parameters<typeof Nodemailer.createTransport>[0]);
  return {
    async send(message: MailMessage): Promise<MailSendResult> {
      try {
        const info = (await transporter.sendMail({ from: opts.from, to: message.to, subject: message.subject, text: message.text, html: message.html })) as {
          messageId?: string;
          response?: string;
          rejected?: unknown[];
        };
        return { ok: true, messageId: info.messageId ?? null, response: info.response ?? null };
      } catch (e) {
        return { ok: false, ...classifySmtpError(e as SmtpError) };
      }
    },
    close() {
      transporter.close();
    },
  };
}
