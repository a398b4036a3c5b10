// A database of its own for one test file, copied from the migrated template.
import crypto from 'node:crypto';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import type { Domain, DomainPorts } from '../../src/domain/index.js';
import type { Db } from '../../src/domain/db.js';
import { loadConfig } from '../../src/config.js';
import { createDomainFromConfig } from '../../src/compose.js';
import { urlFor, withAdmin } from './pg-admin.js';
import { throughPooler } from './poolers.js';

export const TEST_SECRET = 'test-master-secret-0123456789abcdef';

export interface TestDb {
  readonly url: string;
  readonly name: string;
  readonly database: Database;
  readonly domain: Domain;
  close(): Promise<void>;
}

/**
 * TEST_POOLER=session|transaction (set by the pgbouncer-* projects of
 * vitest.config.ts): the domain reaches its database through PgBouncer in that
 * mode, as DATABASE_POOL_MODE says, and listens on the direct URL; with
 * TEST_POOLER_LISTEN=none (the pgbouncer-transaction-nolisten project) it has
 * no direct URL, so it listens nowhere and checks credentials in the database.
 */
export function poolerSettings(url: string): { url?: string; poolMode?: 'session' | 'transaction'; listenUrl?: string } {
  const mode = process.env.TEST_POOLER;
  if (mode !== 'session' && mode !== 'transaction') return {};
  const port = inject('poolerPorts')[mode];
  if (!port) throw new Error('TEST_POOLER is set but pgbouncer is not installed (scripts/setup.sh installs it)');
  return { url: throughPooler(url, port), poolMode: mode, listenUrl: process.env.TEST_POOLER_LISTEN === 'none' ? undefined : url };
}

/** Creates a fresh copy of the template database (about 0.1 s). */
export async function createTestDatabaseUrl(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `gh_${inject('runId')}_${crypto.randomBytes(4).toString('hex')}`;
  const template = inject('templateDb');
  // CREATE DATABASE ... TEMPLATE fails while another session is connected to the template: retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await withAdmin((c) => c.query(`create database ${name} template ${template}`));
      break;
    } catch (e) {
      if (attempt > 20 || !/being accessed by other users/.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url: urlFor(name),
    name,
    drop: () => withAdmin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/**
 * The outbound ports a test domain gets beyond its configuration: no Microsoft
 * Graph unless `env` names one (GRAPH_BASE_URL: a stand-in, ./graph-stand-in.ts).
 */
export function testPorts(env: Record<string, string> = {}): { entraDirectory?: undefined } {
  return env.GRAPH_BASE_URL ? {} : { entraDirectory: undefined };
}

/**
 * The domain on `db` as a process configured by NODE_ENV=test and `env` builds it (a second process on a
 * test database); `ports` replace some of its ports (a test's own mail policy).
 */
export function testDomain(db: Db, env: Record<string, string> = {}, ports: DomainPorts = {}): Domain {
  return createDomainFromConfig(db, TEST_SECRET, loadConfig({ NODE_ENV: 'test', IMPORT_SCHEDULER: 'off', ...env }), { ...testPorts(env), ...ports });
}

/**
 * A database of its own and the domain on it, built as the server builds it
 * (`createDomainFromConfig`) from NODE_ENV=test and `env` (e.g. AUTH_FAILURE_LIMIT);
 * Microsoft Graph only where `env` points GRAPH_BASE_URL at a stand-in.
 */
export async function createTestDb(opts: { poolSize?: number; env?: Record<string, string> } = {}): Promise<TestDb> {
  const created = await createTestDatabaseUrl();
  const database = await openDatabase({ url: created.url, dataDir: '/nonexistent', poolSize: opts.poolSize ?? 8, ...poolerSettings(created.url) });
  const domain = testDomain(database.db, opts.env);
  return {
    url: created.url,
    name: created.name,
    database,
    domain,
    async close() {
      await database.close();
      await created.drop();
    },
  };
}
