// Entra group import benchmark: first sync of a 5,000-member group and a
// no-change resync, read from a local Graph stand-in: seconds and statements.
//   npx tsx bench/import/index.ts                 embedded PGlite in a temp dir
//   DATABASE_URL=postgres://... npx tsx bench/import/index.ts
//   BENCH_IMPORT_USERS=1000 (default 5000, the per-integration limit)
import 'reflect-metadata';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { countStatements } from '../../src/infra/postgres/statement-count.js';
import { createDomain, systemActor } from '../../src/domain/index.js';
import { createEntraGraphClient } from '../../src/integrations/entra-graph/graph-client.js';
import { openDatabase } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import { entraUser, GraphStandIn } from '../../test/setup/graph-stand-in.js';

const TENANT = 'bench.onmicrosoft.com';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const SECRET = 'bench-secret';

export async function run(): Promise<void> {
  const users = Math.min(Number(process.env.BENCH_IMPORT_USERS ?? 5000), 5000);
  const url = process.env.DATABASE_URL || undefined;
  const dataDir = url ? '/nonexistent' : fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-import-'));
  const database = await openDatabase({ url, dataDir, poolSize: 4 });
  const graph = await new GraphStandIn({ tenantId: TENANT, clientId: CLIENT_ID, clientSecret: SECRET }).start();
  try {
    await migrate(database.connection);
    const domain = createDomain(database.db, 'bench-master-secret-0123456789abcdef', undefined, {
      entraDirectory: createEntraGraphClient({ graphBaseUrl: graph.url, loginBaseUrl: graph.url }),
    });
    const slug = `bench-import-${crypto.randomBytes(3).toString('hex')}`;
    const org = await domain.organizations.create({ name: slug, domain: slug });
    const actor = systemActor(org.id, 'bench');
    const place = await domain.places.createPlace(actor, { name: 'HQ' });
    const entraGroupId = crypto.randomUUID();
    const group = Array.from({ length: users }, () => entraUser());
    graph.groups.set(entraGroupId, group);
    const integration = await domain.imports.create(actor, {
      name: 'bench',
      tenantId: TENANT,
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      entraGroupId,
      targets: [{ placeId: place.id }],
    });

    const measure = async (label: string) => {
      graph.resetCounters();
      const started = performance.now();
      const { result, statements } = await countStatements(() => domain.imports.run(actor, integration.id));
      const seconds = (performance.now() - started) / 1000;
      if (result.status !== 'success') throw new Error(`${label}: ${result.errorCode} ${result.error}`);
      console.log(
        `${label.padEnd(34)} ${seconds.toFixed(2).padStart(6)} s  ${String(statements).padStart(4)} statements  ` +
          `${String(graph.memberRequests).padStart(2)} Graph pages  added ${result.added}, updated ${result.updated}, removed ${result.removed}`,
      );
    };

    console.log(`Entra import benchmark: ${users} users, ${url ? 'PostgreSQL server' : 'embedded PGlite'}`);
    await measure('first sync');
    await measure('no-change resync');
    // 1 % renamed in Entra and 1 % left the group.
    const k = Math.max(1, Math.floor(users / 100));
    graph.groups.set(entraGroupId, [...group.slice(0, k).map((u) => ({ ...u, displayName: `${u.displayName} (renamed)` })), ...group.slice(k, users - k)]);
    await measure('resync, 1 % renamed + 1 % removed');
  } finally {
    await graph.stop();
    await database.close();
    if (!url) fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
