// The database goes away and comes back: Gatehouse answers 503 meanwhile,
// never crashes, and is ready again within 5 s of PostgreSQL's return.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, startPrivatePostgres, waitFor, type GatehouseProcess, type PrivatePostgres } from './harness.js';

let pg: PrivatePostgres;
let gh: GatehouseProcess;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  gh = await startGatehouse({ DATABASE_URL: pg.url, DATA_DIR: '/tmp/gh-unused' });
}, 90_000);

afterAll(async () => {
  gh?.kill('SIGKILL');
  pg?.destroy();
});

describe('PostgreSQL restart', () => {
  it('answers 503 while the database is away and recovers without a restart', async () => {
    expect((await fetch(`${gh.url}/readyz`)).status).toBe(200);
    pg.stop();
    const down = await fetch(`${gh.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'database unreachable' });
    expect(gh.proc.exitCode).toBeNull();

    pg.start();
    const returned = Date.now();
    await waitFor(async () => (await fetch(`${gh.url}/readyz`)).status === 200, 10_000, 50);
    expect(Date.now() - returned).toBeLessThan(5_000);
    expect(gh.proc.exitCode).toBeNull();
    expect(gh.output()).not.toMatch(/uncaught|unhandled/i);
  }, 60_000);
});
