// The notification mails, in plain text and HTML: the organisation's name,
// what was shared (places and locks) and the link to sign in
// (PUBLIC_URL/saml/DOMAIN/login). Values are escaped in the HTML part.
import type { MailTemplate } from './mail.model.js';
import escapeHtml from 'escape-html';
import { spUrls } from '../saml-config/sp-urls.js';

export interface TemplateContext {
  readonly organizationName: string;
  readonly organizationDomain: string;
  readonly publicUrl: string;
  /** The member's display name (or userName), when known. */
  readonly recipientName: string | null;
  readonly data: Record<string, unknown>;
}

export interface RenderedMail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}


/** Header values hold no line breaks (no header injection through a name). */
function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').trim().slice(0, 200);
}

interface Shared {
  readonly places: string[];
  readonly locks: { name: string; place: string | null }[];
  readonly integration: string | null;
}

function sharedOf(data: Record<string, unknown>): Shared {
  const places = Array.isArray(data.places) ? data.places.filter((p): p is string => typeof p === 'string') : [];
  const locks = Array.isArray(data.locks)
    ? data.locks
        .filter((l): l is { name: string; place?: unknown } => typeof l === 'object' && l !== null && typeof (l as { name?: unknown }).name === 'string')
        .map((l) => ({ name: l.name, place: typeof l.place === 'string' ? l.place : null }))
    : [];
  return { places, locks, integration: typeof data.integration === 'string' ? data.integration : null };
}

function page(title: string, paragraphs: string[], link: { href: string; label: string }): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>` +
    `<body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1f2328; max-width: 36rem; margin: 2rem auto; padding: 0 1rem;">` +
    paragraphs.join('') +
    `<p><a href="${escapeHtml(link.href)}" style="display: inline-block; background: #0b5cad; color: #fff; padding: 0.6rem 1.1rem; border-radius: 6px; text-decoration: none;">${escapeHtml(link.label)}</a></p>` +
    `<p style="color: #656d76; font-size: 0.85rem;">Or open ${escapeHtml(link.href)}</p></body></html>`
  );
}

export function renderMail(template: MailTemplate, ctx: TemplateContext): RenderedMail {
  const org = oneLine(ctx.organizationName);
  const hello = ctx.recipientName ? `Hello ${oneLine(ctx.recipientName)},` : 'Hello,';
  const signIn = spUrls(ctx.publicUrl, ctx.organizationDomain).loginUrl;
  switch (template) {
    case 'access_shared': {
      const s = sharedOf(ctx.data);
      const lines = [...s.places.map((p) => `${p} (every door)`), ...s.locks.map((l) => (l.place ? `${l.name} (${l.place})` : l.name))];
      const why = s.integration ? `You get this email because you were added to "${s.integration}" in Microsoft Entra ID.` : null;
      const subject = `${org}: access has been shared with you`;
      return {
        subject,
        text: [hello, '', `${org} has shared access with you:`, ...lines.map((l) => `  - ${l}`), '', `Sign in: ${signIn}`, ...(why ? ['', why] : [])].join('\n'),
        html: page(
          subject,
          [
            `<p>${escapeHtml(hello)}</p>`,
            `<p><strong>${escapeHtml(org)}</strong> has shared access with you:</p>`,
            `<ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`,
            ...(why ? [`<p style="color: #656d76;">${escapeHtml(why)}</p>`] : []),
          ],
          { href: signIn, label: 'Sign in' },
        ),
      };
    }
    case 'admin_granted': {
      const consoleUrl = `${ctx.publicUrl}/admin`;
      const by = typeof ctx.data.grantedBy === 'string' ? oneLine(ctx.data.grantedBy) : null;
      const subject = `${org}: you are now an administrator in Gatehouse`;
      const line = `${by ? `${by} made you` : 'You are now'} an administrator of ${org} in Gatehouse: you can manage single sign-on, provisioning and access in the admin console.`;
      return {
        subject,
        text: [hello, '', line, '', `Admin console: ${consoleUrl}`, `(you sign in through ${signIn})`].join('\n'),
        html: page(subject, [`<p>${escapeHtml(hello)}</p>`, `<p>${escapeHtml(line)}</p>`], { href: consoleUrl, label: 'Open the admin console' }),
      };
    }
    case 'welcome': {
      const subject = `${org}: your Gatehouse account is ready`;
      const line = `${org} has set up your account in Gatehouse, the directory that its doors and locks use. Sign in with your work account.`;
      return {
        subject,
        text: [hello, '', line, '', `Sign in: ${signIn}`].join('\n'),
        html: page(subject, [`<p>${escapeHtml(hello)}</p>`, `<p>${escapeHtml(line)}</p>`], { href: signIn, label: 'Sign in' }),
      };
    }
  }
}
