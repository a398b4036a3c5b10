// The console's health strip, judged from the organisation's state (no browser).
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import { consoleHealth } from '../../src/admin-console/health.js';
import type { AdminActor } from '../../src/domain/admin/admin.service.js';

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(async () => {
  await t.close();
});

async function adminOf(orgId: string): Promise<AdminActor> {
  const link = await t.domain.admins.createBootstrapLink(orgId);
  return { kind: 'admin', organizationId: orgId, id: link.memberId, label: link.userName };
}

const item = async (actor: AdminActor, key: string) => (await consoleHealth(t.domain, actor)).find((i) => i.key === key)!;

describe('console health', () => {
  it('judges each group import on its own last run', async () => {
    const org = await buildOrg(t.domain);
    const admin = await adminOf(org.id);
    expect(await item(admin, 'import')).toMatchObject({ status: 'off' });
    const guid = () => crypto.randomUUID();
    const input = (name: string) => ({ name, tenantId: 'contoso.onmicrosoft.com', clientId: guid(), clientSecret: 's', entraGroupId: guid() });
    const staff = await t.domain.imports.create(admin, input('Staff'));
    const contractors = await t.domain.imports.create(admin, input('Contractors'));
    const setRun = (id: string, status: 'success' | 'failed', error: string | null, minutesAgo: number) =>
      t.domain.db.sql.run(
        `update import_integrations set last_status = $1, last_error = $2, last_started_at = now() - make_interval(mins => $3), last_finished_at = now() - make_interval(mins => $4)
         where organization_id = $5 and id = $6`,
        [status, error, minutesAgo, minutesAgo, org.id, id],
      );
    // Staff failed long ago, Contractors succeeded since: the latest run of "any" integration would hide Staff's failure.
    await setRun(staff.id, 'failed', 'The client secret has expired', 30);
    await setRun(contractors.id, 'success', null, 1);
    const failing = await item(admin, 'import');
    expect(failing).toMatchObject({ status: 'error' });
    expect(failing.summary).toContain('1 of 2 failing: Staff (The client secret has expired)');
    // The failing one deleted: nothing keeps the strip red.
    await t.domain.imports.delete(admin, staff.id);
    expect(await item(admin, 'import')).toMatchObject({ status: 'ok' });
  });

  it('never says sign-in is OK before SAML is set up, and links each piece of advice to the place with the filter applied', async () => {
    const org = await buildOrg(t.domain);
    const admin = await adminOf(org.id);
    const signIn = await item(admin, 'sign_in');
    expect(signIn.status).toBe('off');
    expect(signIn.summary).toMatch(/Not set up yet/);
    const scim = { kind: 'scim' as const, organizationId: org.id, label: 'scim' };
    await t.domain.organizations.enableScim(admin);
    await t.domain.db.sql.run(`update organizations set scim_token_last_used_at = now() where organization_id = $1`, [org.id]);
    await t.domain.audit.recordFailure(scim, { action: 'scim.user.create', resourceLabel: 'x@example.com', reason: 'uniqueness' });
    const items = await consoleHealth(t.domain, admin);
    for (const i of items) if (i.action) expect(i.href, i.key).toMatch(/^#[a-z-]+(\?.+)?$/);
    expect(items.find((i) => i.key === 'scim')).toMatchObject({ status: 'error', href: '#scim?failures=1' });
  });
});
