import crypto from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { buildGroup, buildMember, buildOrg } from '../factories/index.js';
import { encode, makeKey, newId, TestIdp, type ResponseOptions } from './idp.js';
import {
  expectAcsRefused,
  lastLogin as lastLoginOf,
  me,
  postAcs,
  responseTo,
  samlSuite,
  sessionCookie,
  startApp,
  startLogin,
  trustingOrg,
  urlsFor,
  type RunningApp,
  type SamlOrg,
} from './harness.js';

let t: TestDb;
let a: RunningApp;
let idp: TestIdp;
let org: SamlOrg;
let alice: { id: string; userName: string };

// Many refusals of one organisation from one client within a minute: above the ACS rate limit's default.
samlSuite({ authFailureLimit: 1000 }, (s) => ({ t, a, idp, org } = s));
beforeAll(async () => {
  alice = await buildMember(t.domain, org.actor, { userName: `Alice.${crypto.randomBytes(3).toString('hex')}@Contoso.com`, displayName: 'Alice' });
});

function opts(over: Partial<ResponseOptions> = {}, orgDomain = org.domain): ResponseOptions {
  return responseTo(orgDomain, { nameId: alice.userName, ...over });
}

const lastLogin = (orgId = org.id) => lastLoginOf(t, orgId);

/** Posts a response that `target` must refuse: 4xx page, no redirect, no cookie, no session, audited with `reason`. */
const expectRefused = (samlResponse: string, reason: string, status?: number, target: { id: string; domain: string } = org) =>
  expectAcsRefused({ t, a }, target, samlResponse, reason, status);

describe('SP metadata and sign-on start', () => {
  it('publishes the SP metadata at the entity ID, with the signing certificate once generated', async () => {
    const u = urlsFor(org.domain);
    expect(u.entityId).toBe(`https://gatehouse.test/saml/${org.domain}/metadata`);
    let res = await fetch(`${a.url}/saml/${org.domain}/metadata`);
    expect(res.status).toBe(200);
    let xml = await res.text();
    expect(xml).toContain(`entityID="${u.entityId}"`);
    expect(xml).toContain(`Location="${u.acsUrl}"`);
    expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    expect(xml).not.toContain('X509Certificate');

    const cert = await t.domain.saml.generateCertificate(org.actor, 'gatehouse.test');
    res = await fetch(`${a.url}/saml/${org.domain}/metadata`);
    xml = (await res.text()).replace(/\s/g, '');
    expect(xml).toContain(cert.pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''));
    expect(xml).toContain('AuthnRequestsSigned="true"');
    expect(xml).not.toMatch(/PRIVATE/);
    expect((await fetch(`${a.url}/saml/no-such-org/metadata`)).status).toBe(404);
  });

  it('redirects to the IdP with a signed AuthnRequest whose id is stored', async () => {
    const { location, requestId, requestXml } = await startLogin(a.url, org.domain, '/doors?x=1');
    expect(`${location.origin}${location.pathname}`).toBe(idp.ssoUrl);
    expect(location.searchParams.get('RelayState')).toBe('/doors?x=1');
    expect(requestXml).toContain(`AssertionConsumerServiceURL="${urlsFor(org.domain).acsUrl}"`);
    expect(requestXml).toContain(`<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${urlsFor(org.domain).entityId}</saml:Issuer>`);
    expect(location.searchParams.get('SigAlg')).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    // The redirect binding signs the raw query "SAMLRequest=..&RelayState=..&SigAlg=..".
    const raw = location.search.slice(1).split('&');
    const signed = ['SAMLRequest', 'RelayState', 'SigAlg'].map((k) => raw.find((p) => p.startsWith(`${k}=`))!).join('&');
    const settings = await t.domain.saml.settings(org.actor);
    const ok = crypto.verify('sha256', Buffer.from(signed), settings.spCertificates[0]!.pem, Buffer.from(location.searchParams.get('Signature')!, 'base64'));
    expect(ok).toBe(true);
    const row = await t.domain.db.sql.one<{ n: string }>(`select count(*)::text as n from saml_requests where organization_id = $1 and id = $2 and used_at is null`, [org.id, requestId]);
    expect(row.n).toBe('1');
  });

  it('answers a clear page when SSO is not set up or the organisation is unknown', async () => {
    const bare = await buildOrg(t.domain);
    const res = await fetch(`${a.url}/saml/${bare.domain}/login`, { redirect: 'manual' });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('not_configured');
    const acs = await postAcs(a.url, bare.domain, idp.response(opts({}, bare.domain)));
    expect(acs.status).toBe(409);
    expect(sessionCookie(acs)).toBeNull();
    expect(await lastLogin(bare.id)).toMatchObject({ outcome: 'failure', reason: 'not_configured' });
    const unknown = await postAcs(a.url, 'no-such-org', idp.response(opts()));
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('refuses a RelayState that leaves the site', async () => {
    for (const evil of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', '/%0d%0aSet-Cookie:x', 'javascript:alert(1)']) {
      const { location } = await startLogin(a.url, org.domain, evil);
      expect(location.searchParams.get('RelayState'), evil).toBe(evil === '/%0d%0aSet-Cookie:x' ? evil : '/');
    }
  });
});

describe('accepted logins', () => {
  it('SP-initiated: signs in, sets the cookie, follows RelayState, /me answers, logout ends it', async () => {
    const group = await buildGroup(t.domain, org.actor, [alice.id], 'Night shift');
    const { requestId } = await startLogin(a.url, org.domain, '/doors');
    const res = await postAcs(a.url, org.domain, idp.response(opts({ inResponseTo: requestId, nameId: alice.userName.toUpperCase() })), '/doors');
    expect(res.status, await res.clone().text()).toBe(303);
    expect(res.headers.get('location')).toBe('/doors');
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_session='))!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).toMatch(/Secure/);
    const cookie = sessionCookie(res)!;

    const who = await me(a.url, cookie);
    expect(who.status).toBe(200);
    expect(await who.json()).toEqual({
      id: alice.id,
      userName: alice.userName,
      displayName: 'Alice',
      organization: { id: org.id, name: org.domain, domain: org.domain },
      groups: [{ id: group.id, displayName: 'Night shift' }],
    });
    const ev = await lastLogin();
    expect(ev).toMatchObject({ outcome: 'success', resourceId: alice.id, actorKind: 'member' });
    expect(ev.detail).toMatchObject({ flow: 'sp', inResponseTo: requestId });

    // The IdP offers single logout: the browser goes on to it (logout.test.ts has the rest).
    const out = await fetch(`${a.url}/logout`, { method: 'POST', headers: { cookie: `gatehouse_session=${cookie}` }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toMatch(new RegExp(`^${idp.sloUrl}\\?SAMLRequest=`));
    expect((await me(a.url, cookie)).status).toBe(401);
    expect((await fetch(`${a.url}/me`)).status).toBe(401);
  });

  it('IdP-initiated: allowed by default, refused once turned off', async () => {
    const res = await postAcs(a.url, org.domain, idp.response(opts()), 'https://evil.example/');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    expect((await me(a.url, sessionCookie(res)!)).status).toBe(200);
    expect((await lastLogin()).detail).toMatchObject({ flow: 'idp' });

    await t.domain.saml.setIdpInitiated(org.actor, false);
    try {
      await expectRefused(idp.response(opts()), 'idp_initiated_disabled', 403);
    } finally {
      await t.domain.saml.setIdpInitiated(org.actor, true);
    }
  });

  it('accepts the Entra option "Sign SAML response and assertion" too', async () => {
    const res = await postAcs(a.url, org.domain, idp.response(opts({ signResponse: true })));
    expect(res.status, await res.clone().text()).toBe(303);
    expect((await me(a.url, sessionCookie(res)!)).status).toBe(200);
  });

  it('sessions survive a second app instance sharing the database, which can also finish a login the first started', async () => {
    const b = await startApp(t, { ownDatabase: true });
    try {
      const { requestId } = await startLogin(a.url, org.domain);
      const res = await postAcs(b.url, org.domain, idp.response(opts({ inResponseTo: requestId })));
      expect(res.status).toBe(303);
      const cookie = sessionCookie(res)!;
      expect((await me(a.url, cookie)).status).toBe(200);
      expect((await me(b.url, cookie)).status).toBe(200);
      // The request id is used up for both.
      const again = await postAcs(a.url, org.domain, idp.response(opts({ inResponseTo: requestId })));
      expect(again.status).toBe(409);
    } finally {
      await b.close();
    }
  });
});

describe('certificate rollover', () => {
  it('accepts old and new certificates while both are in the metadata, and refuses the removed one', async () => {
    const o2 = await buildOrg(t.domain);
    const bob = await buildMember(t.domain, o2.actor);
    const oldKey = makeKey();
    const newKey = makeKey();
    const rolling = new TestIdp([oldKey, newKey]);
    await rolling.start();
    try {
      await t.domain.saml.importMetadataUrl(o2.actor, rolling.metadataUrl);
      const u = urlsFor(o2.domain);
      const base = { acsUrl: u.acsUrl, audience: u.entityId, nameId: bob.userName };
      for (const key of [oldKey, newKey]) {
        const res = await postAcs(a.url, o2.domain, rolling.response({ ...base, signWith: key }));
        expect(res.status).toBe(303);
      }
      rolling.published = [newKey];
      await t.domain.saml.refreshMetadata(o2.actor);
      expect((await t.domain.saml.settings(o2.actor)).idpCertificates).toHaveLength(1);
      expect((await postAcs(a.url, o2.domain, rolling.response({ ...base, signWith: newKey }))).status).toBe(303);
      await expectRefused(rolling.response({ ...base, signWith: oldKey }), 'invalid_signature', 400, o2);
    } finally {
      await rolling.stop();
    }
  });
});

describe('refused, with no session', () => {
  it('unsigned', async () => {
    await expectRefused(idp.response(opts({ signWith: null })), 'invalid_signature');
  });

  it('signed by another key', async () => {
    const stranger = makeKey();
    // Key generation blocks the loop: let kept-alive sockets the server closed meanwhile be noticed.
    await new Promise((r) => setTimeout(r, 50));
    await expectRefused(idp.response(opts({ signWith: stranger })), 'invalid_signature');
  });

  it('changed after signing', async () => {
    const mallory = await buildMember(t.domain, org.actor);
    const xml = idp.responseXml(opts({ nameId: mallory.userName }));
    await expectRefused(encode(xml.replace(`>${mallory.userName}<`, `>${alice.userName}<`)), 'invalid_signature');
    const later = xml.replace(/NotOnOrAfter="[^"]+"/g, `NotOnOrAfter="${new Date(Date.now() + 86400_000).toISOString()}"`);
    await expectRefused(encode(later), 'invalid_signature');
  });

  it('XML signature wrapping variants', async () => {
    const mallory = await buildMember(t.domain, org.actor);
    const signed = idp.responseXml(opts({ nameId: mallory.userName }));
    const original = /<Assertion [\s\S]*<\/Assertion>/.exec(signed)![0];
    const evil = original.replace(/<Signature[\s\S]*<\/Signature>/, '').replace(`>${mallory.userName}<`, `>${alice.userName}<`);
    const variants = [
      // An unsigned evil assertion before the signed one.
      signed.replace(original, evil + original),
      // The signed assertion moved into Extensions, the evil one (same ID) in its place.
      signed.replace(original, `<samlp:Extensions>${original}</samlp:Extensions>${evil}`),
      // The evil assertion hidden inside the signature's Object.
      signed.replace('</SignatureValue>', `</SignatureValue><Object>${evil}</Object>`),
      // A second assertion in a foreign namespace (node-saml selects by local name).
      signed.replace(original, original + evil.replace('xmlns="urn:oasis:names:tc:SAML:2.0:assertion"', 'xmlns="urn:evil"')),
      // The signed assertion wrapped inside the evil one.
      signed.replace(original, evil.replace('</Assertion>', `${original}</Assertion>`)),
    ];
    for (const v of variants) {
      const { ev } = await expectRefused(encode(v), 'malformed_response');
      expect(ev.resourceLabel).toBeNull();
    }
  });

  it('comment injection in the NameID', async () => {
    // The attacker owns "alice...@contoso.com.evil.example" at the IdP and splits it with a comment.
    const attackerName = `${alice.userName}.evil.example`;
    const signed = idp.responseXml(opts({ nameId: attackerName }));
    const injected = signed.replace(`>${attackerName}<`, `>${alice.userName}<!---->.evil.example<`);
    await expectRefused(encode(injected), 'xml_comment_refused');
  });

  it('expired, not yet valid, and an expired bearer confirmation on an IdP-initiated login', async () => {
    await expectRefused(idp.response(opts({ notBeforeOffset: -7200, notOnOrAfterOffset: -3600 })), 'expired');
    await expectRefused(idp.response(opts({ notBeforeOffset: 3600, notOnOrAfterOffset: 7200 })), 'not_yet_valid');
    await expectRefused(idp.response(opts({ notOnOrAfterOffset: 3600, bearerNotOnOrAfterOffset: -600 })), 'expired');
  });

  it('wrong audience, destination, recipient, issuer', async () => {
    const { ev } = await expectRefused(idp.response(opts({ audience: 'https://other.example/sp' })), 'wrong_audience');
    expect(ev.detail).toMatchObject({ expected: urlsFor(org.domain).entityId, actual: 'https://other.example/sp' });
    await expectRefused(idp.response(opts({ destination: 'https://other.example/acs' })), 'wrong_destination');
    await expectRefused(idp.response(opts({ destination: null })), 'wrong_destination');
    await expectRefused(idp.response(opts({ recipient: 'https://other.example/acs' })), 'wrong_recipient');
    await expectRefused(idp.response(opts({ issuer: 'https://sts.windows.net/someone-else/' })), 'wrong_issuer');
  });

  it('replayed assertion', async () => {
    const r = idp.response(opts());
    expect((await postAcs(a.url, org.domain, r)).status).toBe(303);
    await expectRefused(r, 'replayed_assertion', 409);
  });

  it('unknown, reused or mismatched InResponseTo', async () => {
    await expectRefused(idp.response(opts({ inResponseTo: newId() })), 'unknown_in_response_to');
    const { requestId } = await startLogin(a.url, org.domain);
    expect((await postAcs(a.url, org.domain, idp.response(opts({ inResponseTo: requestId })))).status).toBe(303);
    await expectRefused(idp.response(opts({ inResponseTo: requestId })), 'reused_in_response_to', 409);
  });

  it('DOCTYPE / XXE', async () => {
    const xml = idp.responseXml(opts());
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + xml;
    await expectRefused(encode(xxe), 'doctype_refused');
    await expectRefused(encode(`<!doctype x>` + xml), 'doctype_refused');
  });

  it('oversize', async () => {
    const res = await postAcs(a.url, org.domain, 'A'.repeat(300 * 1024));
    expect(res.status).toBe(413);
    expect(sessionCookie(res)).toBeNull();
    expect(await lastLogin()).toMatchObject({ outcome: 'failure', reason: 'oversize' });
  });

  it('unknown user and inactive user (never created nor re-activated)', async () => {
    const ghost = `ghost.${crypto.randomBytes(3).toString('hex')}@contoso.com`;
    const { res, ev } = await expectRefused(idp.response(opts({ nameId: ghost })), 'unknown_user', 403);
    expect(ev.resourceLabel).toBe(ghost);
    expect(res.status).toBe(403);
    expect(await t.domain.members.findByUserName(org.actor, ghost)).toBeUndefined();

    const carol = await buildMember(t.domain, org.actor);
    await t.domain.members.update(org.actor, carol.id, { active: false });
    await expectRefused(idp.response(opts({ nameId: carol.userName })), 'inactive_user', 403);
    expect((await t.domain.members.get(org.actor, carol.id)).active).toBe(false);
  });

  it('a response meant for another organisation', async () => {
    const other = await trustingOrg(t.domain, idp);
    await buildMember(t.domain, other.actor, { userName: alice.userName });
    await expectRefused(idp.response(opts({}, org.domain)), 'wrong_destination', 400, other);
  });

  it('SHA-1 signatures', async () => {
    await expectRefused(idp.response(opts({ algorithm: 'sha1' })), 'weak_signature_algorithm');
  });

  it('a non-Success status, even with a signed assertion', async () => {
    await expectRefused(idp.response(opts({ status: 'urn:oasis:names:tc:SAML:2.0:status:Responder' })), 'status_not_success', 403);
  });

  it('escapes what it echoes', async () => {
    const { body } = await expectRefused(idp.response(opts({ destination: 'https://x.example/<script>alert(1)</script>' })), 'wrong_destination');
    expect(body).not.toContain('<script>');
    expect(body).toContain('&lt;script&gt;');
  });
});
