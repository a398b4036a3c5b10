// Migrates one template database with the real migrations; every test file
// then gets its own copy (CREATE DATABASE ... TEMPLATE), so files never share rows.
import crypto from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';
import { urlFor, withAdmin } from './pg-admin.js';
import { pgbouncerBinary, startPgbouncer, type Pooler } from './poolers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
    runId: string;
    /** Ports of PgBouncer in session and transaction mode in front of the test server (0: not installed). */
    poolerPorts: { session: number; transaction: number };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = crypto.randomBytes(4).toString('hex');
  const template = `gh_tpl_${runId}`;
  await withAdmin((c) => c.query(`create database ${template}`));
  const db = await openDatabase({ url: urlFor(template), dataDir: '/nonexistent', poolSize: 1 });
  await migrate(db.connection);
  await db.close();
  project.provide('templateDb', template);
  project.provide('runId', runId);
  const poolers: Pooler[] = pgbouncerBinary() ? await Promise.all([startPgbouncer('session'), startPgbouncer('transaction')]) : [];
  project.provide('poolerPorts', { session: poolers[0]?.port ?? 0, transaction: poolers[1]?.port ?? 0 });
  return async () => {
    await Promise.all(poolers.map((p) => p.stop()));
    await withAdmin(async (c) => {
      const { rows } = await c.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [`gh\\_%${runId}%`]);
      for (const r of rows) await c.query(`drop database if exists ${r.datname} with (force)`);
    });
  };
}
