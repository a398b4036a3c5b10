// Refused sign-ins at the Reply URL are counted per client and per
// organisation (AUTH_FAILURE_LIMIT a minute): past the limit the answer is 429
// with Retry-After, and the audit trail gets one summary row instead of a row
// per refusal (issue 15, item 3: 60 forged responses got 60 × 400 and wrote 60
// audit rows). A good sign-in still goes through.
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import type { TestIdp } from './idp.js';
import { memberNamed, samlSuite, sessionCookie, trustingOrg, urlsFor, type RunningApp, type SamlOrg } from './harness.js';

const LIMIT = 4;
let t: TestDb;
let a: RunningApp;
let idp: TestIdp;

samlSuite({ authFailureLimit: LIMIT }, (s) => ({ t, a, idp } = s));

/** An organisation of its own (its own counters) trusting the IdP, and a member of it. */
async function setUp(): Promise<{ org: SamlOrg; userName: string }> {
  const org = await trustingOrg(t.domain, idp);
  const member = await memberNamed(t.domain, org.actor, 'bob');
  return { org, userName: member.userName };
}

/** Posts to the Reply URL as `client` (X-Forwarded-For is believed from the loopback proxy). */
async function post(orgDomain: string, samlResponse: string, client: string): Promise<Response> {
  return fetch(`${a.url}/saml/${orgDomain}/acs`, {
    method: 'POST',
    body: new URLSearchParams({ SAMLResponse: samlResponse }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
    redirect: 'manual',
  });
}

/** Counters live in minute windows (aligned to the minute): start a burst well inside one. */
async function awayFromWindowEdge(): Promise<void> {
  const intoWindow = Date.now() % 60_000;
  if (intoWindow > 35_000) await new Promise((r) => setTimeout(r, 60_000 - intoWindow + 200));
}

async function failures(orgId: string) {
  return t.domain.saml.loginLog({ kind: 'system', organizationId: orgId, label: 'test' }, { failedOnly: true, limit: 200 });
}

describe('SAML Reply URL rate limit', () => {
  it('answers a client past the limit 429 with Retry-After, and audits one summary instead of every refusal', { timeout: 90_000 }, async () => {
    const { org, userName } = await setUp();
    const u = urlsFor(org.domain);
    const forged = idp.response({ acsUrl: u.acsUrl, audience: 'https://evil.example/metadata', nameId: userName });
    await awayFromWindowEdge();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 15; i++) {
      const res = await post(org.domain, forged, '203.0.113.7');
      await res.text();
      statuses.push(res.status);
      expect(sessionCookie(res)).toBeNull();
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(400), ...Array(15 - LIMIT).fill(429)]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    const log = await failures(org.id);
    expect(log.map((e) => e.reason).sort()).toEqual([...Array(LIMIT).fill('wrong_audience'), 'rate_limited'].sort());
    expect(log.find((e) => e.reason === 'rate_limited')!.detail).toMatchObject({ limitedBy: 'client', client: '203.0.113.7', lastReason: 'wrong_audience' });
  });

  it('counts refusals per organisation across clients, and still lets a good sign-in through', { timeout: 90_000 }, async () => {
    const { org, userName } = await setUp();
    const u = urlsFor(org.domain);
    const forged = idp.response({ acsUrl: u.acsUrl, audience: 'https://evil.example/metadata', nameId: userName });
    await awayFromWindowEdge();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await post(org.domain, forged, `198.51.100.${i + 1}`);
      await res.text();
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(400), ...Array(10 - LIMIT).fill(429)]);
    const log = await failures(org.id);
    expect(log).toHaveLength(LIMIT + 1);
    expect(log.find((e) => e.reason === 'rate_limited')!.detail).toMatchObject({ limitedBy: 'organization' });

    // Refusals are counted, not sign-ins: a good response (IdP-initiated) still signs in.
    const good = await post(org.domain, idp.response({ acsUrl: u.acsUrl, audience: u.entityId, nameId: userName }), '198.51.100.99');
    expect(good.status).toBe(303);
    expect(sessionCookie(good)).not.toBeNull();
  });
});
