// /graphql past AUTH_FAILURE_LIMIT answers 429 with Retry-After (the catalogue's
// one rule), and error bodies carry no stack trace unless ERROR_STACK_TRACES=on,
// whatever NODE_ENV says.
import { afterAll, describe, expect, it } from 'vitest';
import { codes, startHarness, type Harness } from './harness.js';

const harnesses: Harness[] = [];
async function harness(env: Record<string, string>): Promise<Harness> {
  const h = await startHarness(env);
  harnesses.push(h);
  return h;
}
afterAll(async () => {
  for (const h of harnesses) await h.close();
});

describe('GraphQL rate limit', () => {
  it('answers 429 RATE_LIMITED with Retry-After once a client passes AUTH_FAILURE_LIMIT', async () => {
    const h = await harness({ AUTH_FAILURE_LIMIT: '3' });
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer gh_key_wrong' }, body: '{"query":"{ viewer { id } }"}' });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401]);
    expect(statuses.slice(3)).toEqual([429, 429, 429]);
    const retry = Number(limited!.headers.get('retry-after'));
    expect(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${limited!.headers.get('retry-after')}`).toBe(true);
    const body = (await limited!.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: retry });
  });
});

describe('stack traces in error bodies', () => {
  const query = JSON.stringify({ query: '{ nope }' });

  it('are absent by default, even under NODE_ENV=development (the quick start)', async () => {
    const h = await harness({ NODE_ENV: 'development' });
    const o = await h.org();
    const res = await h.post(query, { authorization: `Bearer ${o.admin}` });
    expect(res.status).toBe(400);
    expect(codes({ status: res.status, body: JSON.parse(res.text) })).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(res.text).not.toMatch(/stacktrace|\.ts:\d+|at [A-Za-z.]+ \(/);
  });

  it('are there when ERROR_STACK_TRACES=on asks for them', async () => {
    const h = await harness({ NODE_ENV: 'development', ERROR_STACK_TRACES: 'on' });
    const o = await h.org();
    const res = await h.post(query, { authorization: `Bearer ${o.admin}` });
    expect(res.text).toMatch(/stacktrace/);
  });
});
