// The mail outbox through GraphQL and the CLI: "not sent: no SMTP
// configured" is visible, blocked addresses are listed and cleared, settings
// change, and bad input gets a clear error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildMember, buildOrg } from '../../factories/index.js';
import { runCliOn } from '../../setup/cli.js';
import { startHarness, codes, type Harness } from '../../graphql/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const cli = (...argv: string[]) => runCliOn(h.t.url, argv);

describe('mail outbox at the edges', () => {
  it('shows unsent mail, blocked addresses and settings in the CLI and GraphQL', async () => {
    const org = await h.org();
    const m = await buildMember(h.t.domain, org.actor);
    await h.t.domain.admins.grant(org.actor, m.id);
    await h.t.domain.mail.deliverDue(null);
    // An address that bounced earlier (as the sender records it).
    await h.t.domain.db.sql.run(`insert into mail_blocked_addresses (organization_id, address, smtp_code, reason) values ($1, 'gone@acme.example', 550, '5.1.1 User unknown')`, [org.id]);

    const list = await cli('mail', 'list', '--org', (await h.t.domain.organizations.get(org.actor)).domain);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('not sent: no SMTP configured');
    expect(list.stdout).toContain(m.userName);

    const q = await h.gql(`{ mailOutbox { id to template status statusText } blockedMailAddresses { address smtpCode } mailSettings { scimWelcome } }`, {}, { apiKey: org.admin });
    const data = q.body.data as Json;
    expect(data.mailOutbox).toEqual([expect.objectContaining({ to: m.userName, template: 'admin_granted', status: 'UNSENT', statusText: 'not sent: no SMTP configured' })]);
    expect(data.blockedMailAddresses).toEqual([{ address: 'gone@acme.example', smtpCode: 550 }]);
    expect(data.mailSettings).toEqual({ scimWelcome: false });

    const resent = await h.gql(`mutation($id: ID!) { resendMail(id: $id) { status } }`, { id: data.mailOutbox[0].id }, { apiKey: org.admin });
    expect((resent.body.data as Json).resendMail.status).toBe('PENDING');
    const one = await h.gql(`query($id: ID!) { outboxMail(id: $id) { attemptLog { attempt } } }`, { id: data.mailOutbox[0].id }, { apiKey: org.admin });
    expect((one.body.data as Json).outboxMail.attemptLog).toEqual([]);
    const set = await h.gql(`mutation { setMailSettings(scimWelcome: true) { scimWelcome } }`, {}, { apiKey: org.admin });
    expect((set.body.data as Json).setMailSettings.scimWelcome).toBe(true);
    const unblocked = await h.gql(`mutation { unblockMailAddress(address: "GONE@acme.example") }`, {}, { apiKey: org.admin });
    expect((unblocked.body.data as Json).unblockMailAddress).toBe(true);

    const other = await h.org();
    expect(codes(await h.gql(`mutation($id: ID!) { resendMail(id: $id) { id } }`, { id: data.mailOutbox[0].id }, { apiKey: other.admin }))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(`{ mailOutbox { id } }`, {}, { apiKey: org.reader }))).toEqual(['FORBIDDEN']);
    expect(codes(await h.gql(`mutation { unblockMailAddress(address: "gone@acme.example") }`, {}, { apiKey: org.admin }))).toEqual(['NOT_FOUND']);
    expect(codes(await h.gql(`{ mailOutbox(status: LOST) { id } }`, {}, { apiKey: org.admin }))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(codes(await h.gql(`{ mailOutbox(before: "x") { id } }`, {}, { apiKey: org.admin }))).toEqual(['BAD_USER_INPUT']);
  });

  it('CLI: settings, blocked, unblock and resend with clear exit codes', async () => {
    const org = await buildOrg(h.t.domain);
    const on = await cli('mail', 'settings', '--org', org.domain, '--scim-welcome', 'on', '--json');
    expect(on.code).toBe(0);
    expect(JSON.parse(on.stdout)).toMatchObject({ settings: { scimWelcome: true }, smtp: false });
    expect((await cli('mail', 'settings', '--org', org.domain)).stdout).toContain('SCIM welcome mail: on');
    expect((await cli('mail', 'settings', '--org', org.domain, '--scim-welcome', 'maybe')).code).toBe(2);
    expect((await cli('mail', 'list', '--org', org.domain, '--status', 'lost')).code).toBe(2);
    expect((await cli('mail', 'blocked', '--org', org.domain)).stdout.trim()).toBe('(none)');
    const unblock = await cli('mail', 'unblock', '--org', org.domain, '--address', 'nobody@x');
    expect(unblock.code).toBe(1);
    expect(unblock.stderr).toMatch(/Blocked address "nobody@x" not found/);
    expect((await cli('mail', 'resend', '--org', org.domain, '--id', crypto.randomUUID())).code).toBe(1);
    expect((await cli('mail', 'show', '--org', org.domain, '--id', 'nope')).code).toBe(1);
  });
});
