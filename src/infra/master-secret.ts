// The master key that encrypts secrets at rest. GATEHOUSE_SECRET when set;
// otherwise generated once into DATA_DIR (mode 0600) and reused.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function resolveMasterSecret(configured: string | undefined, dataDir: string, log: (msg: string) => void): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'master.key');
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = crypto.randomBytes(32).toString('base64url');
  try {
    fs.writeFileSync(file, secret + '\n', { flag: 'wx', mode: 0o600 });
    log(`GATEHOUSE_SECRET is not set: generated a master key into ${file} (keep it; back it up with the database)`);
    return secret;
  } catch (e) {
    // Another process generated it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return fs.readFileSync(file, 'utf8').trim();
    throw e;
  }
}
