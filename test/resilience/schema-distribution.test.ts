// Ready to distribute by organisation (Citus): every table carries
// organization_id, and it leads every primary key, unique index and foreign
// key. `organizations` and `credential_hashes` are the reference tables (global, replicated).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliOn } from '../setup/cli.js';
import { createTestDb, type TestDb } from '../setup/test-db.js';

const REFERENCE_TABLES = new Set(['organizations', 'credential_hashes']);
const IGNORED = new Set(['mikro_orm_migrations']);

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb({ poolSize: 2 });
});
afterAll(async () => {
  await t.close();
});

async function q<T extends object>(sql: string): Promise<T[]> {
  return t.domain.db.sql.all<T>(sql);
}

describe('schema is distributable by organization_id', () => {
  it('has organization_id on every table', async () => {
    const tables = await q<{ table_name: string; has_org: boolean }>(`
      select t.table_name, exists (
        select 1 from information_schema.columns c
        where c.table_schema = t.table_schema and c.table_name = t.table_name and c.column_name = 'organization_id'
      ) as has_org
      from information_schema.tables t where t.table_schema = 'public' and t.table_type = 'BASE TABLE'`);
    const checked = tables.filter((r) => !IGNORED.has(r.table_name));
    expect(checked.length).toBeGreaterThan(8);
    expect(checked.filter((r) => !r.has_org).map((r) => r.table_name)).toEqual([]);
  });

  it('leads every primary key and unique index with organization_id', async () => {
    const indexes = await q<{ table_name: string; index_name: string; first_column: string | null; is_primary: boolean }>(`
      select c.relname as table_name, i.relname as index_name, x.indisprimary as is_primary,
             (select a.attname from pg_attribute a where a.attrelid = c.oid and a.attnum = x.indkey[0]) as first_column
      from pg_index x join pg_class c on c.oid = x.indrelid join pg_class i on i.oid = x.indexrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and (x.indisunique or x.indisprimary)`);
    const offenders = indexes
      .filter((r) => !IGNORED.has(r.table_name) && !REFERENCE_TABLES.has(r.table_name))
      .filter((r) => r.first_column !== 'organization_id')
      .map((r) => `${r.table_name}.${r.index_name}`);
    expect(indexes.some((r) => r.table_name === 'members' && r.is_primary)).toBe(true);
    expect(offenders).toEqual([]);
    // Every table has a primary key.
    const noPk = await q<{ table_name: string }>(`
      select c.relname as table_name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and not exists (select 1 from pg_index x where x.indrelid = c.oid and x.indisprimary)`);
    expect(noPk.map((r) => r.table_name).filter((n) => !IGNORED.has(n))).toEqual([]);
  });

  it('includes organization_id in every foreign key between distributed tables', async () => {
    const fks = await q<{ table_name: string; constraint_name: string; columns: string[]; ref_table: string }>(`
      select c.relname as table_name, k.conname as constraint_name, r.relname as ref_table,
             array(select a.attname::text from unnest(k.conkey) as col join pg_attribute a on a.attrelid = k.conrelid and a.attnum = col) as columns
      from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class r on r.oid = k.confrelid
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and k.contype = 'f'`);
    expect(fks.length).toBeGreaterThan(5);
    const offenders = fks
      .filter((f) => !REFERENCE_TABLES.has(f.ref_table))
      .filter((f) => f.columns[0] !== 'organization_id')
      .map((f) => `${f.table_name}.${f.constraint_name}`);
    expect(offenders).toEqual([]);
  });

  it('db distribution-plan names every table once: organizations and credential_hashes as reference, the rest by organization_id after what they reference', async () => {
    const { code, stdout } = await runCliOn(t.url, ['db', 'distribution-plan', '--json']);
    expect(code).toBe(0);
    const plan = JSON.parse(stdout) as { reference: string[]; distributed: string[]; statements: string[] };
    const tables = (await q<{ name: string }>(`select relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind = 'r'`))
      .map((r) => r.name)
      .filter((n) => !IGNORED.has(n))
      .sort();
    expect([...plan.reference, ...plan.distributed].sort()).toEqual(tables);
    expect(plan.reference).toEqual(['organizations', 'credential_hashes']);
    expect(plan.statements.slice(0, 2)).toEqual([`select create_reference_table('organizations');`, `select create_reference_table('credential_hashes');`]);
    expect(plan.statements).toContain(`select create_distributed_table('members', 'organization_id');`);
    expect(plan.statements).toContain(`select create_distributed_table('group_members', 'organization_id', colocate_with => 'members');`);
    // Every foreign key points at a table placed earlier in the plan.
    const order = [...plan.reference, ...plan.distributed];
    const fks = await q<{ t: string; r: string }>(
      `select c.relname as t, r.relname as r from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class r on r.oid = k.confrelid where k.contype = 'f' and c.oid <> r.oid`,
    );
    expect(fks.filter((f) => order.indexOf(f.r) > order.indexOf(f.t)).map((f) => `${f.t} -> ${f.r}`)).toEqual([]);
  });
});
