// A signed-in console admin for GraphQL tests (consoleAdmin of test/setup/clients.ts).
import { consoleAdmin } from '../setup/clients.js';
import type { Harness } from './harness.js';

export async function createHarnessOrgAdmin(h: Harness): Promise<{ session: string; csrf: string; url: string }> {
  const o = await h.org();
  const { session, csrf } = await consoleAdmin(h, o.id);
  return { session, csrf, url: h.url };
}
