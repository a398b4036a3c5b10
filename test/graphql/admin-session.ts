// A signed-in console admin for GraphQL tests: a bootstrap link redeemed into a session.
import { csrfTokenFor } from '../../src/http/csrf.js';
import type { Harness } from './harness.js';

export async function createHarnessOrgAdmin(h: Harness): Promise<{ session: string; csrf: string; url: string }> {
  const o = await h.org();
  const link = await h.t.domain.admins.createBootstrapLink(o.id);
  const started = await h.t.domain.admins.redeemBootstrapLink(link.token);
  return { session: started.token, csrf: csrfTokenFor(started.token), url: h.url };
}
