// Embedded PostgreSQL: PGlite persisted under DATA_DIR, served in-process over
// the PostgreSQL wire protocol on a Unix socket inside DATA_DIR, so the normal
// pg driver, MikroORM, migrations and constraint errors behave exactly as on a
// real server. PGlite is single-process: a lock file makes sure only one
// process opens the data files, and the CLI connects to the socket of a
// running server instead of opening them itself.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export const SOCKET_PORT = 5432;

/**
 * Server settings of the embedded database. PGlite zeroes its shared buffers
 * at every start in WebAssembly not yet optimised: PostgreSQL's default of
 * 128 MB cost 0.4–0.8 s of each start (most of a later start's PGlite time);
 * 32 MB holds a directory of tens of thousands of members.
 */
const START_SETTINGS = ['-c', 'shared_buffers=32MB'];

export interface EmbeddedPostgres {
  /** Directory holding the socket: pass as `host` to pg. */
  readonly socketDir: string;
  /** True when this process opened PGlite (false: another process serves it). */
  readonly owned: boolean;
  stop(): Promise<void>;
}

export function socketPath(dataDir: string): string {
  return path.join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socket);
    conn.once('connect', () => {
      conn.destroy();
      resolve(true);
    });
    conn.once('error', () => resolve(false));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data-dir lock, or returns false when a live process holds it. */
function acquireLock(lockFile: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx', mode: 0o600 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(fs.readFileSync(lockFile, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) return false;
      fs.rmSync(lockFile, { force: true }); // stale: its process is gone (e.g. kill -9)
    }
  }
  return false;
}

/**
 * Opens (or joins) the embedded database of `dataDir`. With `allowJoin`, a
 * database already served by another process (a running server) is reused
 * through its socket.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  opts: { maxConnections: number; allowJoin: boolean },
): Promise<EmbeddedPostgres> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const socket = socketPath(dataDir);
  const lockFile = path.join(dataDir, 'gatehouse.lock');

  if (!acquireLock(lockFile)) {
    if (opts.allowJoin && (await canConnect(socket))) {
      return { socketDir: dataDir, owned: false, stop: async () => {} };
    }
    throw new Error(
      `The embedded database in ${dataDir} is in use by another process. Stop it, or set DATABASE_URL to use a PostgreSQL server.`,
    );
  }
  fs.rmSync(socket, { force: true });

  const db = await PGlite.create(path.join(dataDir, 'pglite'), { startParams: [...PGlite.defaultStartParams, ...START_SETTINGS] });
  const server = new PGLiteSocketServer({ db, path: socket, maxConnections: opts.maxConnections });
  await server.start();
  fs.chmodSync(socket, 0o600);

  let stopped = false;
  return {
    socketDir: dataDir,
    owned: true,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
      fs.rmSync(socket, { force: true });
      fs.rmSync(lockFile, { force: true });
    },
  };
}
