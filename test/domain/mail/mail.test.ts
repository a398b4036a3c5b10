// Notification mail end to end, against a local SMTP server (smtp-server):
// written to the outbox in the change's own transaction (an import sharing
// access, a member made admin, an optional SCIM welcome), templates in text
// and HTML, "not sent: no SMTP configured" without a server, hard bounces
// blocking the address until an admin clears it, 4xx and a server that is
// down or refuses retried with back-off, STARTTLS and authentication.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET, type TestDb } from '../../setup/test-db.js';
import { buildMember, buildOrg, unique } from '../../factories/index.js';
import { createDomain, type Domain } from '../../../src/domain/index.js';
import { DEFAULT_MAIL_POLICY, type MailPolicy } from '../../../src/domain/mail/mail.service.js';
import { createSmtpTransport } from '../../../src/integrations/mail/smtp-transport.js';
import { freePort } from '../../setup/net.js';
import { entraUser, type GraphStandIn } from '../../setup/graph-stand-in.js';
import { ENTRA_APP, entraDirectoryOn, graphSuite } from '../../setup/entra.js';
import { startSmtp, type SmtpStandIn } from '../../setup/smtp-stand-in.js';
import { waitForFence } from '../../setup/fence.js';

const PUBLIC_URL = 'https://gatehouse.example.com';

let t: TestDb;
let graph: GraphStandIn;
let smtp: SmtpStandIn;
let d: Domain;

function domainWith(policy: Partial<MailPolicy> = {}): Domain {
  return createDomain(t.database.db, TEST_SECRET, undefined, {
    publicUrl: PUBLIC_URL,
    mailPolicy: { ...DEFAULT_MAIL_POLICY, ...policy },
    entraDirectory: entraDirectoryOn(graph, { maxRetries: 0, maxRetryAfterSeconds: 1 }),
  });
}

function transport(port: number, extra = '') {
  return createSmtpTransport({ url: `smtp://127.0.0.1:${port}?tls.rejectUnauthorized=false${extra}`, from: 'Gatehouse <gatehouse@example.com>' });
}

graphSuite((s) => ({ t, graph } = s));
beforeAll(async () => {
  smtp = await startSmtp();
  d = domainWith();
});
afterAll(async () => {
  await smtp.close();
});

/** The clock moves on: the organisation's mail waiting for a retry is due now. */
async function retryDueNow(orgId: string): Promise<void> {
  await d.db.sql.run(`update mail_outbox set next_attempt_at = now() where organization_id = $1 and status = 'pending'`, [orgId]);
}

/** Seconds until the organisation's (one) pending mail is tried again. */
async function retryInSeconds(orgId: string): Promise<number> {
  const row = await d.db.sql.one<{ s: number }>(`select extract(epoch from next_attempt_at - now())::float8 as s from mail_outbox where organization_id = $1 and status = 'pending'`, [orgId]);
  return row.s;
}

async function outboxOf(orgId: string) {
  return d.db.sql.all<{ id: string; to_address: string; template: string; status: string; data: Record<string, unknown> }>(
    `select id, to_address, template, status, data from mail_outbox where organization_id = $1 order by created_at, to_address`,
    [orgId],
  );
}

describe('mail written with the change', () => {
  it('an import that shares access mails everyone it adds, once; "import as users only" mails nobody', async () => {
    const org = await buildOrg(d, 'Acme <Labs> & Co');
    const place = await d.places.createPlace(org.actor, { name: 'HQ' });
    const other = await d.places.createPlace(org.actor, { name: 'Depot' });
    const lock = await d.places.createLock(org.actor, { placeId: other.id, name: 'Gate <B>' });
    const users = [entraUser(), entraUser(), entraUser({ userPrincipalName: undefined, mail: undefined })];
    const entraGroupId = crypto.randomUUID();
    graph.groups.set(entraGroupId, users);
    const integration = await d.imports.create(org.actor, {
      name: unique('Staff'),
      ...ENTRA_APP,
      entraGroupId,
      targets: [{ placeId: place.id }, { lockId: lock.id }],
    });
    const r = await d.imports.run(org.actor, integration.id);
    expect(r.status).toBe('success');
    const queued = await outboxOf(org.id);
    expect(queued.map((m) => m.to_address).sort()).toEqual(users.slice(0, 2).map((u) => u.userPrincipalName!.toLowerCase() === u.userPrincipalName ? u.userPrincipalName : u.userPrincipalName).sort());
    expect(queued.every((m) => m.template === 'access_shared' && m.status === 'pending')).toBe(true);
    expect(queued[0]!.data).toEqual({ integration: integration.name, places: ['HQ'], locks: [{ name: 'Gate <B>', place: 'Depot' }] });
    // A resync adds nobody: no new mail.
    await d.imports.run(org.actor, integration.id);
    expect(await outboxOf(org.id)).toHaveLength(2);

    const tx = transport(smtp.port);
    try {
      const before = smtp.messages.length;
      const round = await d.mail.deliverDue(tx, { budgetMs: 10_000 });
      expect(round).toMatchObject({ sent: 2, failed: 0 });
      const got = smtp.messages.slice(before);
      expect(got).toHaveLength(2);
      const m = got[0]!;
      expect(m.subject).toBe('Acme <Labs> & Co: access has been shared with you');
      expect(m.from!.text).toBe('"Gatehouse" <gatehouse@example.com>');
      expect(m.text).toContain('Acme <Labs> & Co has shared access with you:');
      expect(m.text).toContain('  - HQ (every door)');
      expect(m.text).toContain('  - Gate <B> (Depot)');
      expect(m.text).toContain(`Sign in: ${PUBLIC_URL}/saml/${org.domain}/login`);
      expect(m.html).toContain('<strong>Acme &lt;Labs&gt; &amp; Co</strong>');
      expect(m.html).toContain('<li>Gate &lt;B&gt; (Depot)</li>');
      expect(m.html).toContain(`href="${PUBLIC_URL}/saml/${org.domain}/login"`);
      expect(m.html).not.toContain('<B>');
      const list = await d.mail.list(org.actor);
      expect(list.every((x) => x.status === 'sent' && x.statusText === 'sent' && x.attempts === 1)).toBe(true);
    } finally {
      tx.close();
    }

    const usersOnly = await d.imports.create(org.actor, { name: unique('Visitors'), ...ENTRA_APP, entraGroupId: crypto.randomUUID(), mode: 'users_only' });
    graph.groups.set((await d.imports.get(org.actor, usersOnly.id)).entraGroupId, [entraUser()]);
    await d.imports.run(org.actor, usersOnly.id);
    expect(await outboxOf(org.id)).toHaveLength(2);
  });

  it('a member made console admin is told; a grant that fails writes no mail', async () => {
    const org = await buildOrg(d);
    const m = await buildMember(d, org.actor, { displayName: 'Ada\r\nBcc: evil@x' });
    await d.admins.grant({ kind: 'admin', organizationId: org.id, id: crypto.randomUUID(), label: 'root@acme' }, m.id);
    await expect(d.admins.grant(org.actor, crypto.randomUUID())).rejects.toMatchObject({ code: 'member_not_found' });
    // Granting again changes nothing and mails nobody.
    await d.admins.grant(org.actor, m.id);
    const queued = await outboxOf(org.id);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ to_address: m.userName, template: 'admin_granted', data: { grantedBy: 'root@acme' } });
    const tx = transport(smtp.port);
    try {
      const before = smtp.messages.length;
      await d.mail.deliverDue(tx);
      const msg = smtp.messages.slice(before)[0]!;
      expect(msg.subject).toContain('you are now an administrator');
      // The display name's line break cannot add a header.
      expect(msg.text).toContain('Hello Ada Bcc: evil@x,');
      expect(msg.headers.get('bcc')).toBeUndefined();
      expect(msg.text).toContain(`${PUBLIC_URL}/admin`);
    } finally {
      tx.close();
    }
  });

  it('welcomes members Entra provisions through SCIM only when the organisation asks for it', async () => {
    const org = await buildOrg(d);
    const scim = { kind: 'scim' as const, organizationId: org.id, label: 'scim' };
    await d.members.create(scim, { userName: `${unique('before')}@acme.example` }, { action: 'scim.user.create' });
    expect(await d.mail.setSettings(org.actor, { scimWelcome: true })).toEqual({ scimWelcome: true });
    const m = await d.members.create(scim, { userName: `${unique('new')}@acme.example`, emails: [{ value: 'home@example.net', type: 'home' }, { value: 'work@acme.example', type: 'work' }] }, { action: 'scim.user.create' });
    await d.members.create(org.actor, { userName: `${unique('byadmin')}@acme.example` });
    await waitForFence(d.db);
    await d.events.dispatch();
    const queued = await outboxOf(org.id);
    expect(queued.map((q) => [q.template, q.to_address])).toEqual([['welcome', 'work@acme.example']]);
    await d.mail.setSettings(org.actor, { scimWelcome: false });
    await d.members.create(scim, { userName: `${unique('after')}@acme.example` }, { action: 'scim.user.create' });
    await waitForFence(d.db);
    await d.events.dispatch();
    expect(await outboxOf(org.id)).toHaveLength(1);
    void m;
  });
});

describe('sending and its faults', () => {
  it('without an SMTP server, mail stays in the outbox as "not sent: no SMTP configured", and is sent on resend once there is one', async () => {
    const org = await buildOrg(d);
    const m = await buildMember(d, org.actor);
    await d.admins.grant(org.actor, m.id);
    const r = await d.mail.deliverDue(null);
    expect(r.unsent).toBeGreaterThanOrEqual(1);
    const [mail] = await d.mail.list(org.actor);
    expect(mail).toMatchObject({ status: 'unsent', statusText: 'not sent: no SMTP configured' });
    // Not picked up again by itself.
    const tx = transport(smtp.port);
    try {
      await d.mail.deliverDue(tx);
      expect((await d.mail.list(org.actor))[0]!.status).toBe('unsent');
      await d.mail.resend(org.actor, mail!.id);
      await d.mail.deliverDue(tx);
      expect((await d.mail.list(org.actor))[0]).toMatchObject({ status: 'sent' });
    } finally {
      tx.close();
    }
  });

  it('a hard bounce blocks the address: later mail to it is not sent until an admin clears it', async () => {
    const org = await buildOrg(d);
    const m = await buildMember(d, org.actor);
    smtp.bouncing.add(m.userName.toLowerCase());
    await d.admins.grant(org.actor, m.id);
    const tx = transport(smtp.port);
    try {
      await d.mail.deliverDue(tx);
      const [bounced] = await d.mail.list(org.actor);
      expect(bounced).toMatchObject({ status: 'failed', lastSmtpCode: 550 });
      expect(bounced!.lastError).toMatch(/User unknown/);
      const blocked = await d.mail.blocked(org.actor);
      expect(blocked).toEqual([expect.objectContaining({ address: m.userName.toLowerCase(), smtpCode: 550, mailId: bounced!.id })]);
      const audit = await d.audit.list(org.actor, { actionPrefix: 'mail.address.block' });
      expect(audit[0]).toMatchObject({ outcome: 'failure', reason: 'hard_bounce', resourceLabel: m.userName.toLowerCase() });
      const detail = await d.mail.get(org.actor, bounced!.id);
      expect(detail.attemptLog).toEqual([expect.objectContaining({ attempt: 1, outcome: 'bounced', smtpCode: 550 })]);

      // Blocked: the next mail to the address never reaches the server.
      const rcptsBefore = smtp.rcpts.length;
      await d.admins.revoke(org.actor, m.id);
      await d.admins.grant(org.actor, m.id);
      await d.mail.deliverDue(tx);
      expect(smtp.rcpts.length).toBe(rcptsBefore);
      const [second] = await d.mail.list(org.actor);
      expect(second).toMatchObject({ status: 'blocked', attempts: 0 });
      expect(second!.statusText).toMatch(/^not sent: the address is blocked \(550 /);

      // Cleared by an admin, fixed mailbox: the resend goes out.
      smtp.bouncing.delete(m.userName.toLowerCase());
      await expect(d.mail.unblock(org.actor, 'nobody@x')).rejects.toMatchObject({ code: 'blocked_address_not_found' });
      await d.mail.unblock(org.actor, m.userName.toUpperCase());
      expect(await d.mail.blocked(org.actor)).toEqual([]);
      await d.mail.resend(org.actor, second!.id);
      await d.mail.deliverDue(tx);
      expect((await d.mail.list(org.actor))[0]!.status).toBe('sent');
    } finally {
      tx.close();
    }
  });

  it('retries a deferred recipient (451) with back-off and sends it once the server takes it', async () => {
    // A retry a minute later: never due again within one pass; the test moves the clock on explicitly.
    const fast = domainWith({ firstRetrySeconds: 60, retryFactor: 1 });
    const org = await buildOrg(d);
    const m = await buildMember(d, org.actor);
    smtp.deferring.add(m.userName.toLowerCase());
    await d.admins.grant(org.actor, m.id);
    const tx = transport(smtp.port);
    try {
      await fast.mail.deliverDue(tx);
      let [mail] = await fast.mail.list(org.actor);
      expect(mail).toMatchObject({ status: 'pending', attempts: 1, lastSmtpCode: 451 });
      expect(mail!.statusText).toMatch(/^retrying: .*Mailbox busy/);
      expect(await retryInSeconds(org.id)).toBeGreaterThan(30);
      expect(await fast.mail.blocked(org.actor)).toEqual([]);
      // Not due yet: another pass leaves it alone.
      await fast.mail.deliverDue(tx);
      expect((await fast.mail.list(org.actor))[0]).toMatchObject({ status: 'pending', attempts: 1 });
      smtp.deferring.delete(m.userName.toLowerCase());
      await retryDueNow(org.id);
      await fast.mail.deliverDue(tx);
      [mail] = await fast.mail.list(org.actor);
      expect(mail).toMatchObject({ status: 'sent', attempts: 2 });
      expect((await fast.mail.get(org.actor, mail!.id)).attemptLog.map((a) => a.outcome)).toEqual(['retry', 'sent']);
    } finally {
      tx.close();
    }
  });

  it('a server that is down, or refuses the connection, is retried until the retry window ends', async () => {
    const fast = domainWith({ firstRetrySeconds: 60, retryFactor: 1, giveUpAfterSeconds: 3600 });
    const org = await buildOrg(d);
    const m = await buildMember(d, org.actor);
    await d.admins.grant(org.actor, m.id);
    const down = transport(await freePort());
    const refusing = await startSmtp({ greeting: 'refuse' });
    const refusingTx = transport(refusing.port);
    try {
      await fast.mail.deliverDue(down);
      let [mail] = await fast.mail.list(org.actor);
      expect(mail).toMatchObject({ status: 'pending', attempts: 1 });
      expect(mail!.lastError).toMatch(/ECONNREFUSED|connect/i);
      await retryDueNow(org.id);
      await fast.mail.deliverDue(refusingTx);
      [mail] = await fast.mail.list(org.actor);
      expect(mail).toMatchObject({ status: 'pending', attempts: 2 });
      expect(mail!.lastError).toMatch(/554|unavailable/i);
      // The retry window (an hour from the first attempt) ends: the next failure is the last.
      await d.db.sql.run(`update mail_outbox set retry_from = now() - interval '2 hours', next_attempt_at = now() where organization_id = $1`, [org.id]);
      await fast.mail.deliverDue(down);
      [mail] = await fast.mail.list(org.actor);
      expect(mail).toMatchObject({ status: 'failed', attempts: 3 });
      // Never blocked: a server that is down says nothing about the mailbox.
      expect(await fast.mail.blocked(org.actor)).toEqual([]);
    } finally {
      down.close();
      refusingTx.close();
      await refusing.close();
    }
  });

  it('authenticates only over STARTTLS, and says so when credentials are refused', async () => {
    const secure = await startSmtp({ auth: { user: 'gate', pass: 's3cret' } });
    const plain = await startSmtp({ auth: { user: 'gate', pass: 's3cret' }, starttls: false });
    const org = await buildOrg(d);
    const m = await buildMember(d, org.actor);
    const send = (url: string) => {
      const tx = createSmtpTransport({ url, from: 'gatehouse@example.com' });
      return tx.send({ to: m.userName, subject: 's', text: 't', html: '<p>t</p>' }).finally(() => tx.close());
    };
    try {
      expect(await send(`smtp://gate:s3cret@127.0.0.1:${secure.port}?tls.rejectUnauthorized=false`)).toMatchObject({ ok: true });
      expect(secure.messages).toHaveLength(1);
      const wrong = await send(`smtp://gate:nope@127.0.0.1:${secure.port}?tls.rejectUnauthorized=false`);
      expect(wrong).toMatchObject({ ok: false, kind: 'transient' });
      expect((wrong as { error: string }).error).toMatch(/refused Gatehouse's credentials/);
      // No STARTTLS offered: the credentials are not sent in clear.
      const clear = await send(`smtp://gate:s3cret@127.0.0.1:${plain.port}`);
      expect(clear).toMatchObject({ ok: false, kind: 'transient' });
      expect(plain.messages).toHaveLength(0);
      // Unless the operator says so in the URL.
      expect(await send(`smtp://gate:s3cret@127.0.0.1:${plain.port}?requireTLS=false`)).toMatchObject({ ok: true });
    } finally {
      await secure.close();
      await plain.close();
    }
  });
});
