// Embedded PostgreSQL: PGlite persisted under DATA_DIR, served over the
// PostgreSQL wire protocol on a Unix socket inside DATA_DIR, so the normal pg
// driver, MikroORM, migrations and constraint errors behave exactly as on a
// real server. PGlite is single-process: a lock file makes sure only one
// process opens the data files, and the CLI connects to the socket of a
// running server instead of opening them itself.
//
// PGlite and its socket run in a worker thread of their own: opening the data
// directory (about a second and a half of CPU in WebAssembly) then overlaps
// with the main thread loading and building the rest of the server, and every
// statement PGlite runs later leaves the main thread free for requests.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DEFAULT_TEMPLATE_DIR, isEmptyDataDir, templateMismatch } from './template.js';

export const SOCKET_PORT = 5432;

/**
 * Server settings of the embedded database. PGlite zeroes its shared buffers
 * at every start in WebAssembly not yet optimised: PostgreSQL's default of
 * 128 MB was most of a later start's PGlite time;
 * 32 MB holds a directory of tens of thousands of members.
 */
const START_SETTINGS = ['-c', 'shared_buffers=32MB'];

export interface EmbeddedPostgres {
  /** Directory holding the socket: pass as `host` to pg. */
  readonly socketDir: string;
  /** True when this process opened PGlite (false: another process serves it). */
  readonly owned: boolean;
  /**
   * How an empty data directory was created at this start: copied from the
   * build's template (./template.ts) or by initdb (with why the template was
   * not used); undefined when the database was there already.
   */
  readonly created?: { readonly from: 'template' } | { readonly from: 'initdb'; readonly reason: string };
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
  opts: {
    maxConnections: number;
    allowJoin: boolean;
    /** The template a first start copies (default: dist/pglite-template); false: always initdb. */
    template?: string | false;
  },
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

  const pgdata = path.join(dataDir, 'pglite');
  let created: EmbeddedPostgres['created'];
  let template: string | undefined;
  if (isEmptyDataDir(pgdata)) {
    const dir = opts.template ?? DEFAULT_TEMPLATE_DIR;
    const mismatch = dir === false ? 'no template asked for' : templateMismatch(dir);
    if (mismatch === undefined) template = path.join(dir as string, 'pgdata');
    created = mismatch === undefined ? { from: 'template' } : { from: 'initdb', reason: mismatch };
  }
  let worker;
  try {
    worker = await startWorker({ dataDir: pgdata, socket, maxConnections: opts.maxConnections, startParams: START_SETTINGS, template });
  } catch (e) {
    fs.rmSync(lockFile, { force: true });
    throw e;
  }
  let stopped = false;
  return {
    socketDir: dataDir,
    owned: true,
    created,
    async stop() {
      if (stopped) return;
      stopped = true;
      await worker.stop();
      fs.rmSync(socket, { force: true });
      fs.rmSync(lockFile, { force: true });
    },
  };
}

/**
 * The worker's code. Plain JavaScript evaluated as a script, importing the
 * two packages by file URL: the same under tsx, vitest and the compiled build,
 * with no worker file of its own to locate or compile.
 */
const WORKER_CODE = `
const { parentPort, workerData: w } = require('node:worker_threads');
const fs = require('node:fs');
let db, server;

// PGlite is one session; pglite-socket shares it between connections message
// by message, keeping one connection on it only inside a transaction. A
// connection's extended-protocol batch (Parse, Bind, Describe, Execute ... Sync)
// could then be cut by another's: its Bind bound the other's unnamed
// statement ("portal cannot be run", "bind message supplies 2 parameters", or
// another statement run with its parameters). This queue keeps the session
// with a connection from the first message of a batch to its Sync, and
// through a transaction; a connection that goes away mid-batch or
// mid-transaction is ended with Sync or ROLLBACK, so the next one starts clean.
// (It also goes on after a message that throws; pglite-socket's stopped.)
const BATCH_CONTINUES = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]); // Parse, Bind, Describe, Execute, Close, Flush
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);
class BatchQueue {
  constructor(db) { this.db = db; this.queue = []; this.processing = false; this.owner = null; }
  enqueue(handlerId, message, onData) {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.run();
    });
  }
  next() {
    if (this.owner === null) return this.queue.shift();
    const i = this.queue.findIndex((q) => q.handlerId === this.owner);
    return i === -1 ? undefined : this.queue.splice(i, 1)[0];
  }
  async run() {
    if (this.processing) return;
    this.processing = true;
    try {
      for (let item = this.next(); item; item = this.next()) {
        let bytes = 0;
        try {
          await this.db.runExclusive(() => this.db.execProtocolRawStream(item.message, { onRawData: (d) => { bytes += d.length; item.onData(d); } }));
        } catch (e) {
          this.owner = this.db.isInTransaction() ? item.handlerId : null;
          item.reject(e);
          continue;
        }
        this.owner = BATCH_CONTINUES.has(item.message[0]) || this.db.isInTransaction() ? item.handlerId : null;
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  }
  getQueueLength() { return this.queue.length; }
  clearQueueForHandler(handlerId) {
    this.queue = this.queue.filter((q) => (q.handlerId === handlerId ? (q.reject(new Error('Handler disconnected')), false) : true));
  }
  async clearTransactionIfNeeded(handlerId) {
    if (this.owner !== handlerId) return;
    // Wait for a message of this connection still running, then end what it left open.
    while (this.processing) await new Promise((r) => setImmediate(r));
    if (this.owner !== handlerId) return;
    await this.db.runExclusive(() => this.db.execProtocolRawStream(SYNC, { onRawData: () => undefined }));
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK');
    this.owner = null;
    void this.run();
  }
}

parentPort.on('message', async (m) => {
  if (m !== 'stop') return;
  try {
    await server?.stop();
    await db?.close();
    parentPort.postMessage({ stopped: true });
  } catch (e) {
    parentPort.postMessage({ stopped: true, error: String(e && e.stack || e) });
  }
  parentPort.close();
});
(async () => {
  if (w.template) {
    // A first start: the build's migrated template, copied under another name and renamed at the end.
    const partial = w.dataDir + '.template-' + process.pid;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.cpSync(w.template, partial, { recursive: true, mode: fs.constants.COPYFILE_FICLONE }); // a reflink where the file system has them
    fs.rmSync(w.dataDir, { recursive: true, force: true });
    fs.renameSync(partial, w.dataDir);
  }
  const { PGlite } = await import(w.pglite);
  const { PGLiteSocketServer } = await import(w.pgliteSocket);
  db = await PGlite.create(w.dataDir, { startParams: [...PGlite.defaultStartParams, ...w.startParams] });
  server = new PGLiteSocketServer({ db, path: w.socket, maxConnections: w.maxConnections });
  // Read by each connection's handler when it attaches: in place before the first one.
  server.queryQueue = new BatchQueue(db);
  await server.start();
  fs.chmodSync(w.socket, 0o600);
  parentPort.postMessage({ ready: true });
})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

interface WorkerOptions {
  readonly dataDir: string;
  readonly socket: string;
  readonly maxConnections: number;
  readonly startParams: readonly string[];
  /** A template data directory to copy to `dataDir` first (an empty one). */
  readonly template: string | undefined;
}

/** Starts PGlite and its socket server in a worker thread; resolves once the socket accepts connections. */
async function startWorker(opts: WorkerOptions): Promise<{ stop(): Promise<void> }> {
  const require = createRequire(import.meta.url);
  const worker = new Worker(WORKER_CODE, {
    eval: true,
    workerData: {
      ...opts,
      pglite: pathToFileURL(require.resolve('@electric-sql/pglite')).href,
      pgliteSocket: pathToFileURL(require.resolve('@electric-sql/pglite-socket')).href,
    },
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    void exited.then(() => reject(new Error('the embedded database stopped while opening')));
    worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(`the embedded database did not open: ${m.error}`))));
  });
  return {
    async stop() {
      const done = new Promise<void>((resolve) => worker.once('message', () => resolve()));
      worker.postMessage('stop');
      await Promise.race([done, exited]);
      // Closed and flushed: whatever the worker still holds open ends with it.
      await worker.terminate();
    },
  };
}
