// Refused sign-ins at the Reply URL, and refused logout messages at the Logout
// URL, are counted per client and per organisation (AUTH_FAILURE_LIMIT a
// minute): past the limit the answer is 429 with Retry-After, and the audit
// trail gets one summary row instead of a row per refusal (60 forged
// responses would otherwise write 60 audit rows). A good sign-in
// (or sign-out) still goes through.
import { describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { encode, makeKey, newId, type TestIdp } from './idp.js';
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

describe('SAML Logout URL rate limit', () => {
  /** Sends a logout message to the Logout URL as `client`, by HTTP-Redirect (a query) or HTTP-POST (a form). */
  function slo(orgDomain: string, client: string, message: { query: string } | { form: Record<string, string> }): Promise<Response> {
    const url = `${a.url}/saml/${orgDomain}/slo`;
    if ('query' in message) return fetch(`${url}?${message.query}`, { headers: { 'x-forwarded-for': client }, redirect: 'manual' });
    return fetch(url, {
      method: 'POST',
      body: new URLSearchParams(message.form),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
      redirect: 'manual',
    });
  }

  async function logoutLog(orgId: string) {
    return t.domain.audit.list({ kind: 'system', organizationId: orgId, label: 'test' }, { actionPrefix: 'saml.logout', outcome: 'failure', limit: 200 });
  }

  it('forged LogoutRequests and LogoutResponses: 429 with Retry-After past the limit per client, one audit summary, and no session ends', { timeout: 90_000 }, async () => {
    const { org, userName } = await setUp();
    const u = urlsFor(org.domain);
    const signIn = await post(org.domain, idp.response({ acsUrl: u.acsUrl, audience: u.entityId, nameId: userName }), '192.0.2.200');
    const cookie = sessionCookie(signIn)!;
    const forger = makeKey();
    const request = () => idp.logoutRequestXml({ destination: u.logoutUrl, nameId: userName });
    const forged = [
      () => ({ query: idp.redirectQuery('SAMLRequest', request(), { signWith: forger }) }),
      () => ({ form: { SAMLRequest: encode(idp.signRoot(request(), forger)) } }),
      () => ({ query: idp.redirectQuery('SAMLResponse', idp.logoutResponseXml({ destination: u.logoutUrl, inResponseTo: newId() }), { signWith: forger }) }),
    ];
    await awayFromWindowEdge();
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 12; i++) {
      const res = await slo(org.domain, '203.0.113.50', forged[i % forged.length]!());
      await res.text();
      statuses.push(res.status);
      expect(res.headers.get('location')).toBeNull();
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(400), ...Array(12 - LIMIT).fill(429)]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    const log = await logoutLog(org.id);
    expect(log.map((e) => e.reason).sort()).toEqual([...Array(LIMIT).fill('invalid_signature'), 'rate_limited'].sort());
    expect(log.find((e) => e.reason === 'rate_limited')!.detail).toMatchObject({ limitedBy: 'client', client: '203.0.113.50', lastReason: 'invalid_signature' });
    expect((await fetch(`${a.url}/me`, { headers: { cookie: `gatehouse_session=${cookie}` } })).status).toBe(200);
  });

  it('counts the domain’s refusals too (a replayed LogoutRequest, an unknown InResponseTo), per organisation across clients; a good LogoutRequest still ends the session', { timeout: 90_000 }, async () => {
    const { org, userName } = await setUp();
    const u = urlsFor(org.domain);
    const replayed = idp.redirectQuery('SAMLRequest', idp.logoutRequestXml({ destination: u.logoutUrl, nameId: 'nobody@contoso.com' }));
    await awayFromWindowEdge();
    expect((await slo(org.domain, '198.51.100.200', { query: replayed })).status).toBe(303);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const message =
        i % 2 === 0 ? { query: replayed } : { query: idp.redirectQuery('SAMLResponse', idp.logoutResponseXml({ destination: u.logoutUrl, inResponseTo: newId() })) };
      const res = await slo(org.domain, `198.51.100.${i + 1}`, message);
      await res.text();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([409, 409, 409, 409, ...Array(8 - LIMIT).fill(429)]);
    const log = await logoutLog(org.id);
    expect(log.map((e) => e.reason).sort()).toEqual(['rate_limited', 'replayed_logout_request', 'replayed_logout_request', 'unknown_in_response_to', 'unknown_in_response_to', 'unknown_user'].sort());
    expect(log.find((e) => e.reason === 'rate_limited')!.detail).toMatchObject({ limitedBy: 'organization' });

    // Refusals are counted, not sign-outs: a good LogoutRequest still ends the member's session.
    const cookie = sessionCookie(await post(org.domain, idp.response({ acsUrl: u.acsUrl, audience: u.entityId, nameId: userName }), '198.51.100.99'))!;
    const good = await slo(org.domain, '198.51.100.99', { query: idp.redirectQuery('SAMLRequest', idp.logoutRequestXml({ destination: u.logoutUrl, nameId: userName })) });
    expect(good.status).toBe(303);
    expect((await fetch(`${a.url}/me`, { headers: { cookie: `gatehouse_session=${cookie}` } })).status).toBe(401);
  });
});
