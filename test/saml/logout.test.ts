// Single logout with the IdP, both ways, against the project's test IdP:
// POST /logout → signed LogoutRequest to the IdP → its LogoutResponse at the
// Logout URL; and the IdP's own LogoutRequest (HTTP-Redirect or HTTP-POST) →
// the member's sessions end → a signed LogoutResponse. Every bad message is a
// 4xx and changes no session.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { getVerifiedXml } from '@node-saml/node-saml/lib/xml.js';
import { DOMParser } from '@xmldom/xmldom';
import type { TestDb } from '../setup/test-db.js';
import { buildMember } from '../factories/index.js';
import { encode, makeKey, newId, TestIdp } from './idp.js';
import { csrfTokenFor } from '../../src/http/csrf.js';
import { me, memberNamed, postAcs, responseTo, samlSuite, sessionCookie, sessionCount, trustingOrg, urlsFor, type RunningApp, type SamlOrg } from './harness.js';

let t: TestDb;
let a: RunningApp;
let idp: TestIdp;
let org: SamlOrg;
let other: SamlOrg;
let alice: { id: string; userName: string };
let bob: { id: string; userName: string };
let spCert: string;
let stranger: ReturnType<typeof makeKey>;

samlSuite({ authFailureLimit: 1000, spCertificate: true }, (s) => ({ t, a, idp, org, spCert } = s));
beforeAll(async () => {
  // Another organisation trusting the very same IdP (one Entra tenant, two Gatehouse organisations).
  other = await trustingOrg(t.domain, idp, { spCertificate: true });
  stranger = makeKey();
  alice = await memberNamed(t.domain, org.actor, 'alice');
  bob = await memberNamed(t.domain, org.actor, 'bob');
  await buildMember(t.domain, other.actor, { userName: alice.userName });
});

async function signIn(userName: string, orgDomain = org.domain): Promise<string> {
  const res = await postAcs(a.url, orgDomain, idp.response(responseTo(orgDomain, { nameId: userName })));
  expect(res.status, await res.clone().text()).toBe(303);
  return sessionCookie(res)!;
}

async function alive(cookie: string): Promise<boolean> {
  const s = (await me(a.url, cookie)).status;
  expect([200, 401]).toContain(s);
  return s === 200;
}

const sessions = (orgId = org.id) => sessionCount(t, orgId);

const slo = (orgDomain = org.domain) => `${a.url}/saml/${orgDomain}/slo`;
const getSlo = (query: string, orgDomain = org.domain) => fetch(`${slo(orgDomain)}?${query}`, { redirect: 'manual' });
const postSlo = (form: Record<string, string>, orgDomain = org.domain) =>
  fetch(slo(orgDomain), { method: 'POST', body: new URLSearchParams(form), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });

/** The message a redirect carries, inflated, and whether the SP's signature over the query holds. */
function readRedirect(location: string, type: 'SAMLRequest' | 'SAMLResponse'): { url: URL; xml: string; signatureValid: boolean } {
  const url = new URL(location);
  const xml = zlib.inflateRawSync(Buffer.from(url.searchParams.get(type)!, 'base64')).toString('utf8');
  const raw = url.search.slice(1).split('&');
  const part = (k: string) => raw.find((p) => p.startsWith(`${k}=`));
  const signed = [part(type), part('RelayState'), part('SigAlg')].filter(Boolean).join('&');
  expect(url.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
  const signatureValid = crypto.verify('RSA-SHA256', Buffer.from(signed), spCert, Buffer.from(url.searchParams.get('Signature')!, 'base64'));
  return { url, xml, signatureValid };
}

/**
 * An HTTP-POST binding page: the form's action and fields, the message it
 * posts, whether its enveloped signature holds for the SP certificate, and
 * that the page's script may only run by its nonce.
 */
async function readPostForm(res: Response, type: 'SAMLRequest' | 'SAMLResponse', cert = spCert): Promise<{ action: string; xml: string; relayState: string | null; signatureValid: boolean }> {
  const html = await res.text();
  expect(res.status, html).toBe(200);
  const csp = res.headers.get('content-security-policy') ?? '';
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
  expect(nonce).toBeTruthy();
  expect(html).toContain(`<script nonce="${nonce}">document.forms[0].submit()</script>`);
  const action = /<form method="post" action="([^"]+)">/.exec(html)![1]!.replace(/&amp;/g, '&');
  expect(csp).toContain(`form-action ${new URL(action).origin}`);
  const field = (name: string) => new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html)?.[1] ?? null;
  const xml = Buffer.from(field(type)!, 'base64').toString('utf8');
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const signatureValid = getVerifiedXml(xml, doc.documentElement as never, [cert]) !== null;
  return { action, xml, relayState: field('RelayState'), signatureValid };
}

/** A refused logout message: a 4xx HTML page naming the reason, no redirect, and no session changed. */
async function expectRefused(res: Response, reason: string, status?: number): Promise<void> {
  const body = await res.text();
  expect(res.status, body).toBeGreaterThanOrEqual(400);
  expect(res.status, body).toBeLessThan(500);
  if (status) expect(res.status, body).toBe(status);
  expect(res.headers.get('location')).toBeNull();
  expect(body).toContain(reason);
}

describe('SP metadata', () => {
  it('lists the Logout URL as SingleLogoutService, HTTP-Redirect and HTTP-POST', async () => {
    const u = urlsFor(org.domain);
    expect(u.logoutUrl).toBe(`https://gatehouse.test/saml/${org.domain}/slo`);
    const xml = await (await fetch(`${a.url}/saml/${org.domain}/metadata`)).text();
    expect(xml).toContain(`<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${u.logoutUrl}"/>`);
    expect(xml).toContain(`<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${u.logoutUrl}"/>`);
  });
});

describe('SP-initiated single logout', () => {
  async function startLogout(cookie: string): Promise<{ requestId: string; xml: string; url: URL; signatureValid: boolean }> {
    const res = await fetch(`${a.url}/logout`, { method: 'POST', headers: { cookie: `gatehouse_session=${cookie}` }, redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.getSetCookie().join()).toMatch(/gatehouse_session=;/);
    const r = readRedirect(res.headers.get('location')!, 'SAMLRequest');
    return { ...r, requestId: /\sID="([^"]+)"/.exec(r.xml)![1]! };
  }

  it('ends the session, sends a signed LogoutRequest to the IdP, and accepts its LogoutResponse once', async () => {
    const cookie = await signIn(alice.userName);
    const { requestId, xml, url, signatureValid } = await startLogout(cookie);
    expect(await alive(cookie)).toBe(false);
    expect(`${url.origin}${url.pathname}`).toBe(idp.sloUrl);
    expect(signatureValid).toBe(true);
    expect(xml).toContain('<samlp:LogoutRequest');
    expect(xml).toContain(`Destination="${idp.sloUrl}"`);
    expect(xml).toContain(`>${alice.userName}</saml:NameID>`);
    expect(xml).toContain(`>${urlsFor(org.domain).entityId}</saml:Issuer>`);

    // A LogoutRequest id is no AuthnRequest: a sign-in answering it is refused.
    const u = urlsFor(org.domain);
    const login = await postAcs(a.url, org.domain, idp.response({ acsUrl: u.acsUrl, audience: u.entityId, nameId: alice.userName, inResponseTo: requestId }));
    expect(login.status).toBe(400);
    expect(await login.text()).toContain('unknown_in_response_to');
    expect(sessionCookie(login)).toBeNull();

    const answer = idp.redirectQuery('SAMLResponse', idp.logoutResponseXml({ destination: urlsFor(org.domain).logoutUrl, inResponseTo: requestId }), { relayState: '/bye' });
    const res = await getSlo(answer);
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get('location')).toBe('/bye');
    const [ev] = await t.domain.audit.list(org.actor, { actionPrefix: 'saml.logout', limit: 1 });
    expect(ev).toMatchObject({ action: 'saml.logout', outcome: 'success', resourceId: alice.id });
    expect(ev!.detail).toMatchObject({ flow: 'sp', inResponseTo: requestId });

    // The same LogoutResponse again: its request is used up.
    await expectRefused(await getSlo(answer), 'unknown_in_response_to', 409);
  });

  it('names the NameID and SessionIndex of the assertion that started the session', async () => {
    const assertionId = newId();
    const res = await postAcs(a.url, org.domain, idp.response(responseTo(org.domain, { nameId: alice.userName.toUpperCase(), assertionId })));
    expect(res.status).toBe(303);
    const { xml, signatureValid } = await startLogout(sessionCookie(res)!);
    expect(signatureValid).toBe(true);
    // As the IdP sent them (the NameID in its own case), not as Gatehouse stores the member.
    expect(xml).toContain(`>${alice.userName.toUpperCase()}</saml:NameID>`);
    expect(xml).toMatch(new RegExp(`<saml2p:SessionIndex xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol">${assertionId}</saml2p:SessionIndex>`));
  });

  it('accepts the LogoutResponse by HTTP-POST too (signed XML)', async () => {
    const { requestId } = await startLogout(await signIn(alice.userName));
    const xml = idp.signRoot(idp.logoutResponseXml({ destination: urlsFor(org.domain).logoutUrl, inResponseTo: requestId }));
    const res = await postSlo({ SAMLResponse: encode(xml) });
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get('location')).toBe('/');
  });

  it('refuses LogoutResponses that are forged, unsigned, weakly signed, for another request, another organisation, or unsuccessful', async () => {
    const { requestId } = await startLogout(await signIn(alice.userName));
    const u = urlsFor(org.domain);
    const good = idp.logoutResponseXml({ destination: u.logoutUrl, inResponseTo: requestId });
    await expectRefused(await getSlo(idp.redirectQuery('SAMLResponse', good, { signWith: stranger })), 'invalid_signature', 400);
    await expectRefused(await getSlo(idp.redirectQuery('SAMLResponse', good, { signWith: null })), 'unsigned_logout', 400);
    await expectRefused(await getSlo(idp.redirectQuery('SAMLResponse', good, { algorithm: 'sha1' })), 'weak_signature_algorithm', 400);
    await expectRefused(await postSlo({ SAMLResponse: encode(good) }), 'unsigned_logout', 400);
    await expectRefused(await postSlo({ SAMLResponse: encode(idp.signRoot(good, stranger)) }), 'invalid_signature', 400);
    // Signed, then changed: the answered request id swapped after signing.
    const tampered = idp.signRoot(idp.logoutResponseXml({ destination: u.logoutUrl, inResponseTo: newId() })).replace(/InResponseTo="[^"]+"/, `InResponseTo="${requestId}"`);
    await expectRefused(await postSlo({ SAMLResponse: encode(tampered) }), 'invalid_signature', 400);
    // A request id this server never issued; another organisation's Logout URL.
    await expectRefused(await getSlo(idp.redirectQuery('SAMLResponse', idp.logoutResponseXml({ destination: u.logoutUrl, inResponseTo: newId() }))), 'unknown_in_response_to', 409);
    await expectRefused(
      await getSlo(idp.redirectQuery('SAMLResponse', idp.logoutResponseXml({ destination: urlsFor(other.domain).logoutUrl, inResponseTo: requestId }))),
      'wrong_destination',
      400,
    );
    // The answer to this organisation's request, delivered at the other organisation's Logout URL.
    await expectRefused(await getSlo(idp.redirectQuery('SAMLResponse', good), other.domain), 'wrong_destination', 400);
    await expectRefused(
      await getSlo(idp.redirectQuery('SAMLResponse', idp.logoutResponseXml({ destination: u.logoutUrl, inResponseTo: requestId, status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' }))),
      'status_not_success',
      403,
    );
    // After all of that the real answer still completes the sign-out (nothing above used it up).
    expect((await getSlo(idp.redirectQuery('SAMLResponse', good))).status).toBe(303);
  });

  it('an IdP whose metadata lists only HTTP-POST: a self-submitting form with the signed LogoutRequest, and its answer both ways', async () => {
    const postOnly = new TestIdp(idp.keys);
    postOnly.logoutBinding = 'post';
    await postOnly.start();
    try {
      const o = await trustingOrg(t.domain, postOnly, { spCertificate: true });
      const m = await memberNamed(t.domain, o.actor, 'carol');
      const assertionId = newId();
      const signedIn = await postAcs(a.url, o.domain, postOnly.response(responseTo(o.domain, { nameId: m.userName, assertionId })));
      const cookie = sessionCookie(signedIn)!;
      const out = await fetch(`${a.url}/logout`, { method: 'POST', headers: { cookie: `gatehouse_session=${cookie}` }, redirect: 'manual' });
      expect(out.headers.getSetCookie().join()).toMatch(/gatehouse_session=;/);
      const { action, xml, signatureValid } = await readPostForm(out, 'SAMLRequest', o.spCert);
      expect(action).toBe(postOnly.sloUrl);
      expect(signatureValid).toBe(true);
      expect(xml).toContain(`Destination="${postOnly.sloUrl}"`);
      expect(xml).toContain(`>${m.userName}</saml:NameID>`);
      expect(xml).toContain(`>${assertionId}</saml2p:SessionIndex>`);
      expect(await alive(cookie)).toBe(false);
      // Changed after signing: the signature no longer holds (it covers the whole LogoutRequest).
      const forged = xml.replace(m.userName, alice.userName);
      expect(getVerifiedXml(forged, new DOMParser().parseFromString(forged, 'text/xml').documentElement as never, [o.spCert])).toBeNull();
      const requestId = /\sID="([^"]+)"/.exec(xml)![1]!;
      const back = await postSlo({ SAMLResponse: encode(postOnly.signRoot(postOnly.logoutResponseXml({ destination: urlsFor(o.domain).logoutUrl, inResponseTo: requestId }))) }, o.domain);
      expect(back.status, await back.clone().text()).toBe(303);

      // IdP-initiated: the signed LogoutResponse goes back by HTTP-POST too.
      const again = sessionCookie(await postAcs(a.url, o.domain, postOnly.response(responseTo(o.domain, { nameId: m.userName }))))!;
      const id = newId();
      const res = await postSlo({ SAMLRequest: encode(postOnly.signRoot(postOnly.logoutRequestXml({ destination: urlsFor(o.domain).logoutUrl, nameId: m.userName, id }))), RelayState: 'rs' }, o.domain);
      const answer = await readPostForm(res, 'SAMLResponse', o.spCert);
      expect(answer.action).toBe(postOnly.sloUrl);
      expect(answer.signatureValid).toBe(true);
      expect(answer.relayState).toBe('rs');
      expect(answer.xml).toContain(`InResponseTo="${id}"`);
      expect(answer.xml).toContain('urn:oasis:names:tc:SAML:2.0:status:Success');
      expect(await alive(again)).toBe(false);
    } finally {
      await postOnly.stop();
    }
  });

  it('without a SingleLogoutService in the IdP metadata, ends only the Gatehouse session (204)', async () => {
    const plain = new TestIdp(idp.keys);
    plain.offersLogout = false;
    await plain.start();
    try {
      const o = await trustingOrg(t.domain, plain);
      const m = await buildMember(t.domain, o.actor);
      const res = await postAcs(a.url, o.domain, plain.response(responseTo(o.domain, { nameId: m.userName })));
      const cookie = sessionCookie(res)!;
      const out = await fetch(`${a.url}/logout`, { method: 'POST', headers: { cookie: `gatehouse_session=${cookie}` }, redirect: 'manual' });
      expect(out.status).toBe(204);
      expect(await alive(cookie)).toBe(false);
    } finally {
      await plain.stop();
    }
  });
});

describe("the console's sign-out (/admin/api/logout)", () => {
  /** Signs `member` in through the ACS as an administrator: the session cookie and its CSRF token. */
  async function adminSignedIn(member: { id: string; userName: string }, assertionId = newId()): Promise<{ cookie: string; csrf: string }> {
    await t.domain.admins.grant(org.actor, member.id);
    const res = await postAcs(a.url, org.domain, idp.response(responseTo(org.domain, { nameId: member.userName, assertionId })));
    expect(res.status, await res.clone().text()).toBe(303);
    const cookie = sessionCookie(res)!;
    return { cookie, csrf: csrfTokenFor(cookie) };
  }
  const consoleLogout = (cookie: string, headers: Record<string, string> = {}) =>
    fetch(`${a.url}/admin/api/logout`, { method: 'POST', headers: { cookie: `gatehouse_session=${cookie}`, ...headers }, redirect: 'manual' });

  it('ends the session and answers where the console goes: the IdP with a signed LogoutRequest for the NameID and SessionIndex; its LogoutResponse completes once', async () => {
    const carol = await memberNamed(t.domain, org.actor, 'carol');
    const assertionId = newId();
    const { cookie, csrf } = await adminSignedIn(carol, assertionId);
    expect(await alive(cookie)).toBe(true);
    const res = await consoleLogout(cookie, { 'x-csrf-token': csrf });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie().join()).toMatch(/gatehouse_session=;/);
    const body = (await res.json()) as { ok: boolean; next: { binding: string; url: string } | null };
    expect(body.ok).toBe(true);
    expect(body.next?.binding).toBe('redirect');
    expect(await alive(cookie)).toBe(false);

    const { url, xml, signatureValid } = readRedirect(body.next!.url, 'SAMLRequest');
    expect(`${url.origin}${url.pathname}`).toBe(idp.sloUrl);
    expect(signatureValid).toBe(true);
    // Back from the IdP, the browser lands on the console (the RelayState is covered by the query signature).
    expect(url.searchParams.get('RelayState')).toBe('/admin');
    expect(xml).toContain(`Destination="${idp.sloUrl}"`);
    expect(xml).toContain(`>${carol.userName}</saml:NameID>`);
    expect(xml).toContain(`>${assertionId}</saml2p:SessionIndex>`);
    // Changed after signing (another member's NameID): the query signature no longer holds.
    const forged = new URL(body.next!.url);
    forged.searchParams.set('SAMLRequest', zlib.deflateRawSync(Buffer.from(xml.replace(carol.userName, alice.userName))).toString('base64'));
    expect(readRedirect(forged.toString(), 'SAMLRequest').signatureValid).toBe(false);

    const requestId = /\sID="([^"]+)"/.exec(xml)![1]!;
    const answer = idp.redirectQuery('SAMLResponse', idp.logoutResponseXml({ destination: urlsFor(org.domain).logoutUrl, inResponseTo: requestId }), { relayState: '/admin' });
    const back = await getSlo(answer);
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe('/admin');
    const [ev] = await t.domain.audit.list(org.actor, { actionPrefix: 'saml.logout', limit: 1 });
    expect(ev).toMatchObject({ action: 'saml.logout', outcome: 'success', resourceId: carol.id });
    // Replayed: the request is used up.
    await expectRefused(await getSlo(answer), 'unknown_in_response_to', 409);
    // The ended session cannot sign out (or go to the IdP) again.
    const again = await consoleLogout(cookie, { 'x-csrf-token': csrf });
    expect(again.status).toBe(401);
  });

  it('refuses a sign-out without the CSRF token (403, the session goes on, nothing is sent to the IdP), and one without a session (401)', async () => {
    const dave = await memberNamed(t.domain, org.actor, 'dave');
    const { cookie, csrf } = await adminSignedIn(dave);
    const requestsBefore = await t.domain.db.sql.one<{ n: number }>(`select count(*)::int as n from saml_requests where organization_id = $1 and kind = 'logout'`, [org.id]);
    for (const headers of [{}, { 'x-csrf-token': 'forged' }, { 'x-csrf-token': csrfTokenFor(`${cookie}x`) }] as Record<string, string>[]) {
      const res = await consoleLogout(cookie, headers);
      expect(res.status).toBe(403);
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect(await alive(cookie)).toBe(true);
    const requestsAfter = await t.domain.db.sql.one<{ n: number }>(`select count(*)::int as n from saml_requests where organization_id = $1 and kind = 'logout'`, [org.id]);
    expect(requestsAfter.n).toBe(requestsBefore.n);
    expect((await fetch(`${a.url}/admin/api/logout`, { method: 'POST', headers: { 'x-csrf-token': csrf } })).status).toBe(401);
    expect((await consoleLogout('gh_sess_nonsense', { 'x-csrf-token': csrf })).status).toBe(401);
    expect((await consoleLogout(cookie, { 'x-csrf-token': csrf })).status).toBe(200);
    expect(await alive(cookie)).toBe(false);
  });

  it('a session not made by a SAML sign-in (a bootstrap link) ends without going to the IdP', async () => {
    const link = await t.domain.admins.createBootstrapLink(org.id);
    const started = await t.domain.admins.redeemBootstrapLink(link.token);
    const res = await consoleLogout(started.token, { 'x-csrf-token': csrfTokenFor(started.token) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, next: null });
    expect(await alive(started.token)).toBe(false);
  });
});

describe('IdP-initiated single logout', () => {
  const request = (over: Partial<Parameters<TestIdp['logoutRequestXml']>[0]> = {}) =>
    idp.logoutRequestXml({ destination: urlsFor(org.domain).logoutUrl, nameId: alice.userName, ...over });

  it('HTTP-Redirect: ends every session of that member in that organisation, answers a signed LogoutResponse, and refuses a replay', async () => {
    const [s1, s2, bobs, elsewhere] = [await signIn(alice.userName), await signIn(alice.userName), await signIn(bob.userName), await signIn(alice.userName, other.domain)];
    const id = newId();
    const res = await getSlo(idp.redirectQuery('SAMLRequest', request({ id, nameId: alice.userName.toUpperCase() }), { relayState: 'state-1' }));
    expect(res.status, await res.clone().text()).toBe(303);
    const { url, xml, signatureValid } = readRedirect(res.headers.get('location')!, 'SAMLResponse');
    expect(`${url.origin}${url.pathname}`).toBe(idp.sloUrl);
    expect(signatureValid).toBe(true);
    expect(url.searchParams.get('RelayState')).toBe('state-1');
    expect(xml).toContain('<samlp:LogoutResponse');
    expect(xml).toContain(`InResponseTo="${id}"`);
    expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:status:Success');
    expect(await alive(s1)).toBe(false);
    expect(await alive(s2)).toBe(false);
    expect(await alive(bobs)).toBe(true);
    expect(await alive(elsewhere)).toBe(true);
    const [ev] = await t.domain.audit.list(org.actor, { actionPrefix: 'saml.logout', limit: 1 });
    expect(ev).toMatchObject({ outcome: 'success', resourceId: alice.id });
    expect(ev!.detail).toMatchObject({ flow: 'idp', requestId: id, sessionsEnded: 2 });

    // The same LogoutRequest again: refused, and the session started since stays.
    const s3 = await signIn(alice.userName);
    await expectRefused(await getSlo(idp.redirectQuery('SAMLRequest', request({ id }))), 'replayed_logout_request', 409);
    expect(await alive(s3)).toBe(true);
  });

  it('with a SessionIndex: ends only the session that assertion started', async () => {
    const [first, second] = [newId(), newId()];
    const start = async (assertionId: string) => sessionCookie(await postAcs(a.url, org.domain, idp.response(responseTo(org.domain, { nameId: alice.userName, assertionId }))))!;
    const [s1, s2] = [await start(first), await start(second)];
    const res = await getSlo(idp.redirectQuery('SAMLRequest', request({ sessionIndex: second })));
    expect(res.status, await res.clone().text()).toBe(303);
    expect(await alive(s1)).toBe(true);
    expect(await alive(s2)).toBe(false);
    const [ev] = await t.domain.audit.list(org.actor, { actionPrefix: 'saml.logout', limit: 1 });
    expect(ev!.detail).toMatchObject({ flow: 'idp', sessionIndex: second, sessionsEnded: 1 });
  });

  it('HTTP-POST: a LogoutRequest with an enveloped signature', async () => {
    const cookie = await signIn(alice.userName);
    const res = await postSlo({ SAMLRequest: encode(idp.signRoot(request())), RelayState: 'r' });
    expect(res.status, await res.clone().text()).toBe(303);
    expect(readRedirect(res.headers.get('location')!, 'SAMLResponse').signatureValid).toBe(true);
    expect(await alive(cookie)).toBe(false);
  });

  it('a NameID that names nobody here: no session changes, the answer says UnknownPrincipal', async () => {
    const before = await sessions();
    const res = await getSlo(idp.redirectQuery('SAMLRequest', request({ nameId: 'nobody@contoso.com' })));
    expect(res.status).toBe(303);
    expect(readRedirect(res.headers.get('location')!, 'SAMLResponse').xml).toContain('UnknownPrincipal');
    expect(await sessions()).toBe(before);
  });

  it('refuses forged, unsigned, weak, tampered, stale, foreign and malformed LogoutRequests with a 4xx and no session change', async () => {
    const cookie = await signIn(alice.userName);
    const elsewhere = await signIn(alice.userName, other.domain);
    const before = [await sessions(), await sessions(other.id)];
    const u = urlsFor(org.domain);
    const bad: [string, Promise<Response>, number][] = [
      ['invalid_signature', getSlo(idp.redirectQuery('SAMLRequest', request(), { signWith: stranger })), 400],
      ['invalid_signature', postSlo({ SAMLRequest: encode(idp.signRoot(request(), stranger)) }), 400],
      ['invalid_signature', postSlo({ SAMLRequest: encode(idp.signRoot(request({ nameId: bob.userName })).replace(bob.userName, alice.userName)) }), 400],
      ['unsigned_logout', getSlo(idp.redirectQuery('SAMLRequest', request(), { signWith: null })), 400],
      ['unsigned_logout', postSlo({ SAMLRequest: encode(request()) }), 400],
      ['weak_signature_algorithm', getSlo(idp.redirectQuery('SAMLRequest', request(), { algorithm: 'sha1' })), 400],
      ['weak_signature_algorithm', postSlo({ SAMLRequest: encode(idp.signRoot(request(), idp.keys[0], 'sha1')) }), 400],
      // Meant for the other organisation (same IdP, same key): its Destination is not this Logout URL.
      ['wrong_destination', getSlo(idp.redirectQuery('SAMLRequest', request({ destination: urlsFor(other.domain).logoutUrl }))), 400],
      ['wrong_destination', postSlo({ SAMLRequest: encode(idp.signRoot(request())) }, other.domain), 400],
      ['wrong_issuer', getSlo(idp.redirectQuery('SAMLRequest', request({ issuer: 'https://sts.windows.net/someone-else/' }))), 400],
      ['expired', getSlo(idp.redirectQuery('SAMLRequest', request({ issueInstantOffset: -3600 }))), 400],
      ['expired', getSlo(idp.redirectQuery('SAMLRequest', request({ issueInstantOffset: 3600 }))), 400],
      ['malformed_request', getSlo('SAMLRequest=not*base64'), 400],
      ['malformed_request', getSlo(`SAMLRequest=${encodeURIComponent(Buffer.from('not deflated').toString('base64'))}`), 400],
      ['malformed_request', getSlo(`${idp.redirectQuery('SAMLRequest', request())}&SAMLRequest=x`), 400],
      ['malformed_request', getSlo(''), 400],
      ['malformed_request', postSlo({ SAMLRequest: encode('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"') }), 400],
      ['malformed_request', postSlo({ SAMLRequest: encode(idp.signRoot(idp.logoutResponseXml({ destination: u.logoutUrl, inResponseTo: newId() }))) }), 400],
      ['doctype_refused', postSlo({ SAMLRequest: encode(`<!DOCTYPE x [<!ENTITY e "y">]>${request()}`) }), 400],
      ['xml_comment_refused', postSlo({ SAMLRequest: encode(request().replace('</NameID>', '<!---->.evil</NameID>')) }), 400],
    ];
    for (const [reason, res, status] of bad) await expectRefused(await res, reason, status);
    // The other organisation's own endpoint with this organisation's request: refused too.
    await expectRefused(await getSlo(idp.redirectQuery('SAMLRequest', request()), other.domain), 'wrong_destination', 400);
    expect([await sessions(), await sessions(other.id)]).toEqual(before);
    expect(await alive(cookie)).toBe(true);
    expect(await alive(elsewhere)).toBe(true);
    expect((await fetch(`${a.url}/saml/no-such-org/slo?${idp.redirectQuery('SAMLRequest', request())}`, { redirect: 'manual' })).status).toBe(404);
  });
});
