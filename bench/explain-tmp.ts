import pg from 'pg';
import * as access from '../src/domain/access/access.sql.js';
const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/gh_r100k_explain' });
await c.connect();
const org = (await c.query('select organization_id from organizations limit 1')).rows[0].organization_id;
const lock = process.argv[2]!;
const fake = { all: async (q: string, p: unknown[]) => { for (let i = 0; i < 2; i++) { const r = await c.query('explain (analyze, buffers) ' + q, p); if (i == 1) console.log(r.rows.map((x: any) => x['QUERY PLAN']).join('\n')); } return []; } } as any;
await access.selectWhoCanOpen(fake, org, lock, new Date(), { afterId: '00000000-0000-0000-0000-000000000000', limit: 51, like: null });
await c.end();
