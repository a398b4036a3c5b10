// `db distribution-plan`: the Citus statements that would distribute this
// database by organisation, read from its catalog: `organizations` and
// `credential_hashes` (which organisation a credential hash belongs to) as
// reference tables (replicated to every node), every other table distributed
// by organization_id and co-located with `members`, each after the tables its
// foreign keys reference. Citus is not installed here: the plan is printed,
// never run (test/resilience/schema-distribution.test.ts checks that every
// table qualifies).
import type { Command } from './command.js';

/** Tables copied to every node rather than sharded. */
export const REFERENCE_TABLES = ['organizations', 'credential_hashes'] as const;
/** Bookkeeping that stays on the coordinator (MikroORM's applied list; pg-boss keeps its own schema, pgboss). */
const LOCAL_TABLES = new Set(['mikro_orm_migrations']);

export interface DistributionPlan {
  readonly reference: string[];
  readonly distributed: string[];
  readonly statements: string[];
}

export const dbCommands: Command[] = [
  {
    name: 'db distribution-plan',
    usage: 'db distribution-plan',
    options: {},
    async run(ctx) {
      const tables = await ctx.domain.db.sql.all<{ name: string; refs: string[] }>(
        `select c.relname as name,
                array(select distinct r.relname::text from pg_constraint k join pg_class r on r.oid = k.confrelid
                      where k.conrelid = c.oid and k.contype = 'f' and r.oid <> c.oid) as refs
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition
         order by c.relname`,
      );
      const wanted = tables.filter((t) => !LOCAL_TABLES.has(t.name));
      // In REFERENCE_TABLES' order: credential_hashes references organizations.
      const reference: string[] = REFERENCE_TABLES.filter((name) => wanted.some((t) => t.name === name));
      // Foreign keys first: a table is distributed once every table it references is.
      const done = new Set(reference);
      const distributed: string[] = [];
      let rest = wanted.filter((t) => !done.has(t.name));
      while (rest.length > 0) {
        const ready = rest.filter((t) => t.refs.every((r) => done.has(r) || LOCAL_TABLES.has(r)));
        const next = ready.length > 0 ? ready : [rest[0]!]; // a cycle: Citus takes it in one transaction
        for (const t of next) {
          done.add(t.name);
          distributed.push(t.name);
        }
        rest = rest.filter((t) => !done.has(t.name));
      }
      const colocate = distributed.includes('members') ? 'members' : distributed[0];
      const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
      const statements = [
        ...reference.map((t) => `select create_reference_table(${quote(t)});`),
        ...distributed.map((t) =>
          t === colocate ? `select create_distributed_table(${quote(t)}, 'organization_id');` : `select create_distributed_table(${quote(t)}, 'organization_id', colocate_with => ${quote(colocate!)});`,
        ),
      ];
      const plan: DistributionPlan = { reference, distributed, statements };
      return {
        json: { ...plan },
        text: ['-- Citus: distribute Gatehouse by organisation (run on the coordinator, in this order)', 'begin;', ...statements, 'commit;'].join('\n'),
      };
    },
  },
];
