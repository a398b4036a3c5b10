// `npm run statements:snapshot`: records the SQL statements this release
// sends to PostgreSQL and writes them to
// test/resilience/previous-release-statements.json, which
// test/resilience/expand-contract.test.ts prepares against a database migrated
// to the newest schema: during a rolling deploy the previous release runs
// these against the next release's schema, so each must still parse there.
//
// Run it when a release ships (on its commit, tests green), and never in the
// same change as a migration: the snapshot is then the previous release's as
// far as the next migration is concerned. It runs the test files below with
// RECORD_STATEMENTS set (test/setup/record-statements.ts records every
// statement text a test worker sends) and keeps the data statements (select,
// insert, update, delete, with) that carry no inlined id: the application's,
// whose values are always bound; a test's own ad-hoc SQL with inlined ids is
// left out, and so are pg-boss's statements (its `pgboss` schema is pg-boss's
// to create and migrate). Statements the files below never run are not in the snapshot.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrationsList } from '../migrations/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SNAPSHOT = path.join(ROOT, 'test/resilience/previous-release-statements.json');

/** Files whose runs cover the application's statements: SCIM, GraphQL, the console, SAML, access, audit, webhooks, mail, import, the jobs. */
const FILES = [
  'test/scim/entra-conversation.test.ts',
  'test/scim/token-rotation.test.ts',
  'test/scim/deprovisioning.test.ts',
  'test/scim/mass-deprovision.test.ts',
  'test/scim/compliance.test.ts',
  'test/graphql/queries.test.ts',
  'test/graphql/mutations.test.ts',
  'test/graphql/access-feed.test.ts',
  'test/graphql/subscriptions.test.ts',
  'test/graphql/console-pages.test.ts',
  'test/graphql/guard.test.ts',
  'test/graphql/import.test.ts',
  'test/admin-console/admin-api.test.ts',
  'test/saml/sso.test.ts',
  'test/domain/access',
  'test/domain/audit',
  'test/domain/webhooks',
  'test/domain/mail',
  'test/domain/import',
  'test/domain/credentials.test.ts',
  'test/scheduler',
];

export interface StatementSnapshot {
  /** The commit the statements were recorded on. */
  readonly commit: string;
  readonly recordedAt: string;
  /** The migrations that commit had (its schema). */
  readonly migrations: readonly string[];
  readonly statements: readonly string[];
}

/** A data statement of the application (values bound, never an inlined id). */
export function keep(text: string): boolean {
  return (
    /^\s*(with|select|insert|update|delete)\b/i.test(text) &&
    !/'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-/i.test(text) &&
    !/\bgh_[0-9a-f]{8}_/.test(text) &&
    // pg-boss's own statements on its own schema, which pg-boss creates and migrates itself.
    !/\bpgboss\./i.test(text)
  );
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-statements-'));
  try {
    const run = spawnSync('npx', ['vitest', 'run', ...FILES, '--project', 'direct'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, RECORD_STATEMENTS: dir } });
    if (run.status !== 0) throw new Error(`the recording run failed (exit ${run.status}): fix the tests first, a snapshot is taken of a green release`);
    const all = new Set<string>();
    for (const f of fs.readdirSync(dir)) for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) if (line) all.add(JSON.parse(line) as string);
    const statements = [...all].filter(keep).sort();
    const snapshot: StatementSnapshot = {
      commit: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(),
      recordedAt: new Date().toISOString(),
      migrations: migrationsList.map((m) => m.name),
      statements,
    };
    fs.writeFileSync(SNAPSHOT, `${JSON.stringify(snapshot, null, 1)}\n`);
    process.stdout.write(`${statements.length} statements (of ${all.size} recorded) written to ${path.relative(ROOT, SNAPSHOT)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
