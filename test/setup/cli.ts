// The CLI run in-process against a test database, its output captured.
import { runCli } from '../../src/cli/run.js';
import { TEST_SECRET } from './test-db.js';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (a --json run). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the CLI's JSON, read field by field
  json(): any;
}

/**
 * Runs `gatehouse <argv>` in-process on the database at `url` with the tests'
 * master secret, no data directory and no log; `env` adds to or overrides that.
 */
export async function runCliOn(url: string, argv: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { DATABASE_URL: url, DATA_DIR: '/nonexistent', GATEHOUSE_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...env },
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
