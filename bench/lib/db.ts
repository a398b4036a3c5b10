// A fresh, migrated database on the benchmark PostgreSQL server, dropped afterwards.
import crypto from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/infra/postgres/database.js';
import { migrate } from '../../src/infra/postgres/migrate.js';

/** BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the machine's server. */
export const BENCH_ADMIN_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export function benchUrl(database: string): string {
  const u = new URL(BENCH_ADMIN_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: BENCH_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Creates and migrates `gh_bench_<name>_<random>`, runs `fn`, always drops it. */
export async function withFreshDatabase<T>(name: string, fn: (db: { url: string; database: Database }) => Promise<T>): Promise<T> {
  const dbName = `gh_bench_${name}_${crypto.randomBytes(4).toString('hex')}`;
  await admin(`create database ${dbName}`);
  try {
    const url = benchUrl(dbName);
    const database = await openDatabase({ url, dataDir: '/nonexistent', poolSize: 4 });
    try {
      await migrate(database.connection);
      return await fn({ url, database });
    } finally {
      await database.close();
    }
  } finally {
    await admin(`drop database if exists ${dbName} with (force)`);
  }
}

/** BENCH_SCALE (default `fallback`), a positive number. */
export function benchScale(fallback: number): number {
  const raw = process.env.BENCH_SCALE;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`BENCH_SCALE must be a positive number, got "${raw}"`);
  return n;
}
