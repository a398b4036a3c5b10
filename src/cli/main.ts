// `npm run cli -- <group> <command> [--options] [--json]`
import 'reflect-metadata';
import { runCli } from './run.js';

runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}).then(
  // Writes to pipes and files are synchronous on Linux, so exiting at once loses no output.
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    process.exit(1);
  },
);
