// The `import` CLI commands, run as a process against the test database and the Graph stand-in.
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, TEST_SECRET, type TestDb } from '../setup/test-db.js';
import { buildOrg } from '../factories/index.js';
import { entraUser, GraphStandIn } from '../setup/graph-stand-in.js';

const TENANT = 'contoso.onmicrosoft.com';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';

let t: TestDb;
let graph: GraphStandIn;

beforeAll(async () => {
  t = await createTestDb();
  graph = await new GraphStandIn({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: 'right' }).start();
});
afterAll(async () => {
  await graph.stop();
  await t.close();
});

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', ...args],
      {
        env: { PATH: process.env.PATH, DATABASE_URL: t.url, GATEHOUSE_SECRET: TEST_SECRET, GRAPH_BASE_URL: graph.url, ENTRA_LOGIN_BASE_URL: graph.url, LOG_LEVEL: 'silent' },
        timeout: 60_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('import CLI', () => {
  it('creates, runs (one JSON object; exit 1 when the run fails) and shows an integration', async () => {
    const org = await buildOrg(t.domain);
    const place = await t.domain.places.createPlace(org.actor, { name: 'HQ' });
    const group = crypto.randomUUID();
    graph.groups.set(group, [entraUser(), entraUser()]);

    const created = await cli(['import', 'create', '--org', org.domain, '--name', 'Staff', '--tenant', TENANT, '--client-id', CLIENT_ID, '--client-secret', 'wrong', '--group', group, '--place', place.id, '--json']);
    expect(created.code).toBe(0);
    const integration = JSON.parse(created.stdout).integration;
    expect(integration).toMatchObject({ name: 'Staff', mode: 'grant_shares', identifier: 'upn', targets: [{ placeId: place.id, lockId: null, role: 'user' }] });
    expect(created.stdout).not.toContain('wrong');

    const failed = await cli(['import', 'run', '--org', org.domain, '--integration', integration.id, '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).run).toMatchObject({ status: 'failed', errorCode: 'entra_secret_invalid' });

    graph.app.clientSecret = 'wrong';
    const ok = await cli(['import', 'run', '--org', org.domain, '--integration', integration.id, '--json']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(ok.stdout).run).toMatchObject({ status: 'success', added: 2, created: 2 });

    const shown = await cli(['import', 'show', '--org', org.domain, '--integration', integration.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/last run\s+success/);
    expect(shown.stdout).toMatch(/2 in the group: 2 added, 0 updated, 0 removed/);

    const usage = await cli(['import', 'create', '--org', org.domain, '--name', 'x', '--tenant', TENANT, '--client-id', CLIENT_ID, '--client-secret', 's', '--group', group]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--users-only/);
  }, 180_000); // five CLI processes, each starting tsx

  it('import create --gatehouse-app needs Gatehouse’s own application (and says what to use instead)', async () => {
    const org = await buildOrg(t.domain);
    const r = await cli(['import', 'create', '--org', org.domain, '--name', 'Staff', '--tenant', TENANT, '--gatehouse-app', '--group', crypto.randomUUID(), '--users-only']);
    expect(r.code).not.toBe(0);
    expect(r.stderr + r.stdout).toMatch(/ENTRA_APP_CLIENT_ID[\s\S]*own app registration/);
    expect(await t.domain.imports.list(org.actor)).toEqual([]);
  }, 60_000);
});
