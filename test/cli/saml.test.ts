import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import { loadConfig } from '../../src/config.js';
import { systemActor } from '../../src/domain/index.js';
import { samlCommands } from '../../src/cli/saml.js';
import type { CliContext } from '../../src/cli/command.js';
import { TestIdp } from '../saml/idp.js';

let t: TestDb;
let idp: TestIdp;
let ctx: CliContext;
beforeAll(async () => {
  t = await createTestDb();
  idp = new TestIdp();
  await idp.start();
  ctx = {
    config: loadConfig({ PUBLIC_URL: 'https://gatehouse.example.com' }),
    domain: t.domain,
    json: false,
    write: () => undefined,
    note: () => undefined,
    async orgActor(d) {
      return systemActor((await t.domain.organizations.findByDomain(d!)).id, 'cli');
    },
  };
});
afterAll(async () => {
  await idp.stop();
  await t.close();
});

function cmd(name: string) {
  return samlCommands.find((c) => c.name === name)!;
}

describe('saml CLI', () => {
  it('import, certificate, show, idp-initiated, log', async () => {
    const org = await buildOrg(t.domain);
    const imported = await cmd('saml import').run(ctx, { org: org.domain, 'metadata-url': idp.metadataUrl });
    expect(imported.json).toMatchObject({
      identifier: `https://gatehouse.example.com/saml/${org.domain}/metadata`,
      replyUrl: `https://gatehouse.example.com/saml/${org.domain}/acs`,
      signOnUrl: `https://gatehouse.example.com/saml/${org.domain}/login`,
      settings: { idpEntityId: idp.entityId, metadataUrl: idp.metadataUrl },
    });
    const cert = await cmd('saml certificate').run(ctx, { org: org.domain });
    expect(cert.text).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(JSON.stringify(cert.json)).not.toMatch(/PRIVATE KEY/);

    const shown = await cmd('saml show').run(ctx, { org: org.domain });
    expect(shown.text).toContain(`Identifier (Entity ID):  https://gatehouse.example.com/saml/${org.domain}/metadata`);
    expect(shown.text).toContain(`Reply URL (ACS):         https://gatehouse.example.com/saml/${org.domain}/acs`);
    expect(shown.text).toContain(`Sign-on URL:             https://gatehouse.example.com/saml/${org.domain}/login`);
    expect(shown.text).toMatch(/IdP signing certificates \(expiry\):\n {2}20\d\d-\d\d-\d\d \(\d+ days\)/);
    expect(JSON.stringify(shown.json)).not.toMatch(/PRIVATE KEY/);
    const spCerts = (shown.json.settings as { spCertificates: { subject: string }[] }).spCertificates;
    expect(spCerts[0]!.subject).toContain('CN=gatehouse.example.com');

    const encrypted = await cmd('saml encryption').run(ctx, { org: org.domain, require: true });
    expect((encrypted.json.settings as { requireEncryption: boolean }).requireEncryption).toBe(true);
    expect(encrypted.text).toContain('Encryption:         required');
    await expect(cmd('saml encryption').run(ctx, { org: org.domain })).rejects.toThrow(/exactly one/);

    const denied = await cmd('saml idp-initiated').run(ctx, { org: org.domain, deny: true });
    expect((denied.json.settings as { allowIdpInitiated: boolean }).allowIdpInitiated).toBe(false);
    await expect(cmd('saml idp-initiated').run(ctx, { org: org.domain, allow: true, deny: true })).rejects.toThrow(/exactly one/);

    await t.domain.saml.recordLoginFailure(org.id, { reason: 'wrong_audience', message: 'Audience mismatch: expected A, got B', nameId: 'x@y.z' });
    const log = await cmd('saml log').run(ctx, { org: org.domain, failed: true });
    expect(log.text).toMatch(/failure\s+x@y\.z\s+wrong_audience\s+Audience mismatch: expected A, got B/);
    expect((log.json.events as unknown[]).length).toBe(1);

    const refreshed = await cmd('saml refresh').run(ctx, { org: org.domain });
    expect(refreshed.json).toMatchObject({ settings: { lastRefreshError: null } });
  });
});
