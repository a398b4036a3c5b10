// SAML single sign-on: what to paste into Entra, the IdP metadata import,
// "Generate Certificate", the refresh, and the login log.
import { readFile } from 'node:fs/promises';
import type { Actor } from '../domain/index.js';
import type { SamlSettings } from '../domain/saml-config/saml.service.js';
import { spUrls } from '../domain/saml-config/sp-urls.js';
import { signOnUrl } from '../domain/saml-config/saml-metadata.js';
import { required, table, UsageError, type CliContext, type Command } from './command.js';

async function describe(ctx: CliContext, actor: Actor, settings?: SamlSettings): Promise<{ json: Record<string, unknown>; text: string }> {
  const org = await ctx.domain.organizations.get(actor);
  const s = settings ?? (await ctx.domain.saml.settings(actor));
  const urls = spUrls(ctx.config.http.publicUrl, org.domain);
  const cert = (c: { fingerprint: string; notAfter: Date; daysLeft: number; warning: string | null }, extra = '') =>
    `  ${c.notAfter.toISOString().slice(0, 10)} (${c.daysLeft} days)${extra}  ${c.fingerprint}${c.warning ? `  WARNING: ${c.warning}` : ''}`;
  const text = [
    `Basic SAML Configuration for Entra (organisation ${org.domain}):`,
    `  Identifier (Entity ID):  ${urls.entityId}`,
    `  Reply URL (ACS):         ${urls.acsUrl}`,
    `  Sign-on URL:             ${urls.loginUrl}`,
    `  Logout Url:              ${urls.logoutUrl}`,
    `  SP metadata URL:         ${urls.metadataUrl}`,
    `  Unique User Identifier:  user.userprincipalname`,
    '',
    'Identity provider:',
    `  Entity ID:          ${s.idpEntityId ?? '(not imported)'}`,
    `  Sign-on endpoint:   ${signOnUrl(s.ssoUrls) ?? '-'}`,
    `  Metadata URL:       ${s.metadataUrl ?? '-'}`,
    `  Metadata fetched:   ${s.metadataFetchedAt?.toISOString() ?? '-'}${s.lastRefreshError ? `  (last refresh failed: ${s.lastRefreshError})` : ''}`,
    `  IdP-initiated:      ${s.allowIdpInitiated ? 'allowed' : 'refused'}`,
    `  Encryption:         ${s.requireEncryption ? 'required (plain assertions are refused)' : 'optional (encrypted assertions are decrypted)'}`,
    'IdP signing certificates (expiry):',
    ...(s.idpCertificates.length ? s.idpCertificates.map((c) => cert(c)) : ['  (none)']),
    'SP certificates (expiry):',
    ...(s.spCertificates.length ? s.spCertificates.map((c) => cert(c, c.active ? ' active ' : ' other  ').replace(/$/, `  id ${c.id}`)) : ['  (none: saml certificate --org DOMAIN)']),
    ...(s.warnings.length ? ['', ...s.warnings.map((w) => `WARNING: ${w}`)] : []),
  ].join('\n');
  return {
    json: {
      identifier: urls.entityId,
      replyUrl: urls.acsUrl,
      signOnUrl: urls.loginUrl,
      logoutUrl: urls.logoutUrl,
      spMetadataUrl: urls.metadataUrl,
      settings: { ...s, spCertificates: s.spCertificates.map(({ pem: _pem, ...c }) => c) },
    },
    text,
  };
}

export const samlCommands: Command[] = [
  {
    name: 'saml show',
    usage: 'saml show --org DOMAIN',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      return describe(ctx, await ctx.orgActor(required(o, 'org')));
    },
  },
  {
    name: 'saml import',
    usage: 'saml import --org DOMAIN (--metadata-file FILE | --metadata-url URL)',
    options: { org: { type: 'string' }, 'metadata-file': { type: 'string' }, 'metadata-url': { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const file = o['metadata-file'];
      const url = o['metadata-url'];
      if ((typeof file === 'string') === (typeof url === 'string')) throw new UsageError('give exactly one of --metadata-file or --metadata-url');
      const settings =
        typeof url === 'string'
          ? await ctx.domain.saml.importMetadataUrl(actor, url)
          : await ctx.domain.saml.importMetadataXml(actor, await readFile(String(file), 'utf8').catch((e: Error) => {
              throw new UsageError(`cannot read ${String(file)}: ${e.message}`);
            }));
      return describe(ctx, actor, settings);
    },
  },
  {
    name: 'saml refresh',
    usage: 'saml refresh --org DOMAIN   (fetch the metadata URL again now)',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      return describe(ctx, actor, await ctx.domain.saml.refreshMetadata(actor));
    },
  },
  {
    name: 'saml certificate',
    usage: 'saml certificate --org DOMAIN [--next]   (Generate Certificate: a new SP key; --next: published first, signs once promoted)',
    options: { org: { type: 'string' }, next: { type: 'boolean' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const next = Boolean(o.next);
      const cert = await ctx.domain.saml.generateCertificate(actor, new URL(ctx.config.http.publicUrl).hostname, { next });
      const { pem: _pem, ...info } = cert;
      return {
        json: { certificate: cert.pem, ...info },
        text: next
          ? `${cert.pem.trimEnd()}\n\nNext SP certificate ${cert.id}, valid until ${cert.notAfter.toISOString().slice(0, 10)}. It is published in the SP metadata (signing and encryption) but does not sign yet: give it to Entra, then saml certificate-promote --id ${cert.id}.`
          : `${cert.pem.trimEnd()}\n\nNew SP certificate ${cert.id}, valid until ${cert.notAfter.toISOString().slice(0, 10)}. It now signs AuthnRequests and is published in the SP metadata; older certificates stay published until removed (saml certificate-remove).`,
      };
    },
  },
  {
    name: 'saml certificate-promote',
    usage: 'saml certificate-promote --org DOMAIN --id CERTIFICATE_ID   (the published "next" certificate signs from now on)',
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      await ctx.domain.saml.promoteSpCertificate(actor, required(o, 'id'));
      return describe(ctx, actor);
    },
  },
  {
    name: 'saml certificate-remove',
    usage: 'saml certificate-remove --org DOMAIN --id CERTIFICATE_ID',
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      await ctx.domain.saml.removeSpCertificate(actor, required(o, 'id'));
      return { json: { removed: required(o, 'id') }, text: 'Removed: the certificate is no longer published.' };
    },
  },
  {
    name: 'saml idp-initiated',
    usage: 'saml idp-initiated --org DOMAIN (--allow | --deny)',
    options: { org: { type: 'string' }, allow: { type: 'boolean' }, deny: { type: 'boolean' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      if (Boolean(o.allow) === Boolean(o.deny)) throw new UsageError('give exactly one of --allow or --deny');
      return describe(ctx, actor, await ctx.domain.saml.setIdpInitiated(actor, Boolean(o.allow)));
    },
  },
  {
    name: 'saml encryption',
    usage: 'saml encryption --org DOMAIN (--require | --optional)   (Entra Token encryption: refuse plain assertions or not)',
    options: { org: { type: 'string' }, require: { type: 'boolean' }, optional: { type: 'boolean' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      if (Boolean(o.require) === Boolean(o.optional)) throw new UsageError('give exactly one of --require or --optional');
      return describe(ctx, actor, await ctx.domain.saml.setRequireEncryption(actor, Boolean(o.require)));
    },
  },
  {
    name: 'saml log',
    usage: 'saml log --org DOMAIN [--failed] [--limit N]',
    options: { org: { type: 'string' }, failed: { type: 'boolean' }, limit: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const limit = o.limit === undefined ? 50 : Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive whole number');
      const events = await ctx.domain.saml.loginLog(actor, { failedOnly: Boolean(o.failed), limit });
      const rows = events.map((e) => ({
        at: e.at,
        outcome: e.outcome,
        user: e.resourceLabel,
        reason: e.reason,
        message: typeof e.detail.message === 'string' ? e.detail.message : e.detail.flow ? `${String(e.detail.flow)}-initiated` : null,
      }));
      return { json: { events }, text: table(rows, ['at', 'outcome', 'user', 'reason', 'message']) };
    },
  },
];
