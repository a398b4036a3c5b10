// One builder of the domain from the configuration, used by the server, the CLI
// and the tests (a CLI that built its domain with default policies ignored
// SESSION_* and AUTH_FAILURE_LIMIT).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl, TEST_SECRET } from './setup/test-db.js';
import { buildMember, buildOrg } from './factories/index.js';
import { loadConfig } from '../src/config.js';
import { createDomainFromConfig } from '../src/compose.js';
import { RateLimited } from '../src/domain/index.js';
import { openDatabase, type Database } from '../src/infra/postgres/database.js';

const ROOT = path.resolve(import.meta.dirname, '..');
let database: Database;
let drop: () => Promise<void>;

beforeAll(async () => {
  const created = await createTestDatabaseUrl();
  drop = created.drop;
  database = await openDatabase({ url: created.url, dataDir: '/nonexistent', poolSize: 4 });
});
afterAll(async () => {
  await database.close();
  await drop();
});

describe('createDomainFromConfig', () => {
  it('applies AUTH_FAILURE_LIMIT and the session timeouts of the configuration', async () => {
    const config = loadConfig({ NODE_ENV: 'test', AUTH_FAILURE_LIMIT: '2', SESSION_IDLE_MINUTES: '5', SESSION_ABSOLUTE_HOURS: '1' });
    const domain = createDomainFromConfig(database.db, TEST_SECRET, config);
    expect(domain.policies).toEqual({ sessions: { idleMinutes: 5, absoluteHours: 1 }, authFailures: { maxFailures: 2, windowSeconds: 60 } });

    const bucket = `compose-test:${Date.now()}`;
    await domain.rateLimits.recordFailure(bucket);
    await domain.rateLimits.recordFailure(bucket);
    await expect(domain.rateLimits.recordFailure(bucket)).rejects.toBeInstanceOf(RateLimited);

    const org = await buildOrg(domain);
    const member = await buildMember(domain, org.actor);
    const session = await domain.sessions.start(org.id, member.id);
    const hours = (session.expiresAt.getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(0.9);
    expect(hours).toBeLessThanOrEqual(1);
  });

  it('is how the server, the CLI and the tests build the domain (none calls createDomain with defaults)', () => {
    for (const file of ['src/server.ts', 'src/cli/run.ts', 'test/setup/test-db.ts']) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      expect(text, file).toMatch(/createDomainFromConfig\(/);
      expect(text, file).not.toMatch(/\bcreateDomain\(/);
    }
  });
});
