import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** Run again through PgBouncer in session and in transaction mode (TEST_POOLER; test/setup/poolers.ts). */
const THROUGH_POOLERS = ['test/scim/entra-conversation.test.ts', 'test/graphql/{queries,mutations,errors,auth-and-limits,access-feed}.test.ts'];
/** Run once more through PgBouncer in transaction mode with no LISTEN connection (TEST_POOLER_LISTEN=none). */
const WITHOUT_LISTEN = ['test/scim/{entra-conversation,token-rotation}.test.ts', 'test/graphql/auth-and-limits.test.ts'];

export default defineConfig({
  // Node loads graphql's CommonJS build for every dependency (type-graphql,
  // Apollo); Vite would give our own modules the .mjs build, a second copy
  // whose classes fail graphql's realm checks. One copy, as in production.
  resolve: { alias: [{ find: /^graphql$/, replacement: fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url)) }] },
  test: {
    globalSetup: ['test/setup/global-setup.ts'],
    setupFiles: ['test/setup/per-file.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only queue on the same CPUs and PostgreSQL.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'direct', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'pgbouncer-session', include: THROUGH_POOLERS, env: { TEST_POOLER: 'session' } } },
      { extends: true, test: { name: 'pgbouncer-transaction', include: THROUGH_POOLERS, env: { TEST_POOLER: 'transaction' } } },
      // Transaction mode without DATABASE_LISTEN_URL: credentials checked in the database on every request.
      { extends: true, test: { name: 'pgbouncer-transaction-nolisten', include: WITHOUT_LISTEN, env: { TEST_POOLER: 'transaction', TEST_POOLER_LISTEN: 'none' } } },
    ],
  },
});
