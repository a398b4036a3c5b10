// The PGlite template a first start copies (src/infra/postgres/template.ts):
// built by initdb and every migration; a first start on an empty DATA_DIR
// copies it and finds this release's whole schema (the same tables, columns,
// constraints and indexes as the migrated PostgreSQL server database) with
// nothing left to migrate; a template that does not match this release (an
// unknown or reordered migration, a changed migration file, another PGlite
// version, no data directory) is refused and the start runs initdb and the
// migrations itself.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseUrl } from '../../setup/test-db.js';
import { MIGRATION_NAMES } from '../../../migrations/names.js';
import { buildTemplate, templateCurrent } from '../../../src/infra/postgres/build-template.js';
import { SOCKET_PORT, startEmbeddedPostgres } from '../../../src/infra/postgres/embedded.js';
import { migrate } from '../../../src/infra/postgres/migrate.js';
import { templateMismatch, type TemplateManifest } from '../../../src/infra/postgres/template.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
let tmp: string;
let template: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-template-'));
  template = path.join(tmp, 'template');
  // Two builds at once into the same place (test files building in parallel on a fresh clone): both succeed, one template stays.
  const built = await Promise.all([buildTemplate(template), buildTemplate(template)]);
  expect(built).toEqual([[...MIGRATION_NAMES], [...MIGRATION_NAMES]]);
  expect(fs.readdirSync(tmp)).toEqual(['template']);
}, 120_000);
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The schema as the catalog tells it: enough to tell two databases' migrations apart. */
async function schemaOf(client: pg.Client): Promise<unknown> {
  const q = async (sql: string) => (await client.query(sql)).rows.map((r: Record<string, unknown>) => Object.values(r).join(' '));
  return {
    columns: await q(`select table_name, column_name, data_type, is_nullable, coalesce(column_default, '') from information_schema.columns
                      where table_schema = 'public' order by table_name, column_name`),
    // contype 'n': PGlite's PostgreSQL 17 lists NOT NULL as constraints, 15 does not (the columns say it).
    constraints: await q(`select conrelid::regclass::text, conname, contype from pg_constraint
                          where connamespace = 'public'::regnamespace and contype <> 'n' order by 1, 2`),
    indexes: await q(`select tablename, indexname from pg_indexes where schemaname = 'public' order by 1, 2`),
    functions: await q(`select proname from pg_proc where pronamespace = 'public'::regnamespace order by 1`),
    triggers: await q(`select tgrelid::regclass::text, tgname from pg_trigger where not tgisinternal order by 1, 2`),
  };
}

async function withEmbedded<T>(dataDir: string, opts: { template: string | false }, fn: (client: pg.Client, created: unknown) => Promise<T>): Promise<T> {
  const embedded = await startEmbeddedPostgres(dataDir, { maxConnections: 3, allowJoin: false, template: opts.template });
  const connection = { host: embedded.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' };
  try {
    const client = new pg.Client(connection);
    await client.connect();
    try {
      return await fn(client, embedded.created);
    } finally {
      await client.end();
    }
  } finally {
    await embedded.stop();
  }
}

/** A copy of the built template with its manifest changed by `edit`. */
function variant(name: string, edit: (m: TemplateManifest) => TemplateManifest): string {
  const dir = path.join(tmp, name);
  fs.cpSync(template, dir, { recursive: true });
  const file = path.join(dir, 'template.json');
  fs.writeFileSync(file, JSON.stringify(edit(JSON.parse(fs.readFileSync(file, 'utf8')) as TemplateManifest)));
  return dir;
}

describe('the PGlite template', () => {
  it('holds every migration of this release, and a first start copies it: the schema of the migrated server database, nothing pending', async () => {
    expect(templateCurrent(template)).toBe(true);
    expect(templateMismatch(template)).toBeUndefined();
    const dataDir = path.join(tmp, 'from-template');
    const embeddedSchema = await withEmbedded(dataDir, { template }, async (client, created) => {
      expect(created).toEqual({ from: 'template' });
      const { rows } = await client.query<{ name: string }>('select name from mikro_orm_migrations order by id');
      expect(rows.map((r) => r.name)).toEqual([...MIGRATION_NAMES]);
      return schemaOf(client);
    });
    // Opened again: a later start, the data directory is the one written (not copied a second time).
    await withEmbedded(dataDir, { template }, async (client, created) => {
      expect(created).toBeUndefined();
      await client.query('create table template_test (organization_id uuid not null)');
    });
    await withEmbedded(dataDir, { template }, async (client) => {
      expect((await client.query(`select to_regclass('template_test') is not null as t`)).rows[0]).toEqual({ t: true });
    });
    // The same schema as the server database the test setup migrated (other DDL, same result).
    const server = await createTestDatabaseUrl();
    try {
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        expect(embeddedSchema).toEqual(await schemaOf(client));
      } finally {
        await client.end();
      }
    } finally {
      await server.drop();
    }
    // And the server's migrate() finds nothing to apply on the copy.
    const again = path.join(tmp, 'from-template-2');
    const embedded = await startEmbeddedPostgres(again, { maxConnections: 3, allowJoin: false, template });
    try {
      expect(await migrate({ host: embedded.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' })).toEqual([]);
    } finally {
      await embedded.stop();
    }
  }, 60_000);

  it('is refused unless it matches this release: unknown, reordered or changed migrations, another PGlite, no data directory', () => {
    const names = [...MIGRATION_NAMES];
    // Older than the release (a prefix of its migrations): usable, the newer ones run after it.
    expect(templateMismatch(template, { names: [...names, 'Migration20991231000000_later'] })).toBeUndefined();
    // Newer than the release, or another order.
    expect(templateMismatch(template, { names: names.slice(0, -1) })).toMatch(/does not know/);
    expect(templateMismatch(template, { names: [names[1]!, names[0]!, ...names.slice(2)] })).toMatch(/migration 1 is/);
    expect(templateMismatch(variant('renamed', (m) => ({ ...m, migrations: m.migrations.map((x, i) => (i === 3 ? { ...x, name: 'Migration_other' } : x)) }))))
      .toMatch(/migration 4 is Migration_other/);
    // A migration file edited since the template was built.
    const changed = path.join(tmp, 'migrations-changed');
    fs.cpSync(path.join(ROOT, 'migrations'), changed, { recursive: true });
    fs.appendFileSync(path.join(changed, `${names[5]}.ts`), '\n// edited\n');
    expect(templateMismatch(template, { migrationsDir: changed })).toMatch(new RegExp(`migration ${names[5]} changed`));
    // Without the sources (only dist/ installed), the names decide.
    expect(templateMismatch(template, { migrationsDir: path.join(tmp, 'absent') })).toBeUndefined();
    expect(templateMismatch(variant('other-pglite', (m) => ({ ...m, pglite: '0.0.1' })))).toMatch(/PGlite 0\.0\.1/);
    const empty = path.join(tmp, 'no-pgdata');
    fs.mkdirSync(empty);
    fs.copyFileSync(path.join(template, 'template.json'), path.join(empty, 'template.json'));
    expect(templateMismatch(empty)).toMatch(/no data directory/);
    expect(templateMismatch(path.join(tmp, 'nothing'))).toBe('no template');
  });

  it('a first start with a refused template runs initdb and every migration itself', async () => {
    // A manifest naming a migration this release does not have; its data directory would have opened fine.
    const stale = variant('stale', (m) => ({ ...m, migrations: [...m.migrations, { name: 'Migration20991231000000_gone', sha256: '0'.repeat(64) }] }));
    fs.writeFileSync(path.join(stale, 'pgdata', 'stale-marker'), 'copied');
    const dataDir = path.join(tmp, 'from-initdb');
    const embedded = await startEmbeddedPostgres(dataDir, { maxConnections: 3, allowJoin: false, template: stale });
    try {
      expect(embedded.created).toEqual({ from: 'initdb', reason: 'the template holds migrations this release does not know' });
      expect(fs.existsSync(path.join(dataDir, 'pglite', 'stale-marker'))).toBe(false);
      expect(await migrate({ host: embedded.socketDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres' })).toEqual([...MIGRATION_NAMES]);
    } finally {
      await embedded.stop();
    }
  }, 120_000);
});
