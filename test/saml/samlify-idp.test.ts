// A second, independent SAML implementation as the identity provider: samlify
// signs (assertion, response, or both, as Entra's Signing Option) and
// encrypts real responses; Gatehouse must sign people in from each.
import * as samlify from 'samlify';
import * as validator from '@authenio/samlify-xmllint-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKey, TestIdp } from './idp.js';
import { me, memberNamed, postAcs, samlSuite, sessionCookie, startLogin, trustingOrg, type RunningApp, type SamlOrg } from './harness.js';

samlify.setSchemaValidator(validator);
// samlify's default response leaves the AuthnStatement empty; Entra always sends one (and Gatehouse requires it).
const template = samlify.SamlLib.defaultLoginResponseTemplate;
template.context = template.context.replace(
  '{AuthnStatement}',
  `<saml:AuthnStatement AuthnInstant="${new Date().toISOString()}" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
);

let a: RunningApp;
let idp: TestIdp;
let org: SamlOrg;
let orgDomain: string;
let userName: string;
let spMetadata: string;
/** A key the IdP metadata does not list (RSA generation is slow: made once, up front). */
let forgerKey: ReturnType<typeof makeKey>;

samlSuite({ spCertificate: true }, (s) => ({ a, idp, org } = s));
beforeAll(async () => {
  orgDomain = org.domain;
  userName = (await memberNamed(a.domain, org.actor, 'ann')).userName;
  spMetadata = await (await fetch(`${a.url}/saml/${orgDomain}/metadata`)).text();
  forgerKey = makeKey();
});

const cases = [
  { name: 'assertion signed', assertion: true, message: false, encrypt: false },
  { name: 'response signed', assertion: false, message: true, encrypt: false },
  { name: 'both signed', assertion: true, message: true, encrypt: false },
  { name: 'assertion signed, encrypted', assertion: true, message: false, encrypt: true },
  { name: 'response signed, encrypted', assertion: false, message: true, encrypt: true },
  { name: 'both signed, encrypted', assertion: true, message: true, encrypt: true },
];

describe('samlify as the identity provider', () => {
  for (const c of cases) {
    it(`signs in: ${c.name}`, async () => {
      const sp = samlify.ServiceProvider({
        metadata: c.assertion ? spMetadata.replace('AuthnRequestsSigned=', 'WantAssertionsSigned="true" AuthnRequestsSigned=') : spMetadata,
        wantMessageSigned: c.message,
      });
      const samlIdp = samlify.IdentityProvider({
        metadata: idp.metadataXml(),
        privateKey: idp.keys[0]!.privateKeyPem,
        isAssertionEncrypted: c.encrypt,
        requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      });
      const { context } = await samlIdp.createLoginResponse(sp, { extract: {} } as never, 'post', { email: userName }, undefined, c.encrypt && c.message);
      // What samlify produced is what the case says: encrypted or not, the response signed or not.
      const xml = Buffer.from(context, 'base64').toString('utf8');
      expect(xml.includes('EncryptedAssertion')).toBe(c.encrypt);
      expect(/<samlp:Response[^>]*>(<saml:Issuer>[^<]*<\/saml:Issuer>)?<ds:Signature/.test(xml)).toBe(c.message);
      const res = await postAcs(a.url, orgDomain, context);
      expect(res.status, await res.clone().text()).toBe(303);
      const cookie = sessionCookie(res)!;
      expect(((await (await me(a.url, cookie)).json()) as { userName: string }).userName).toBe(userName);
    });
  }
});

/** samlify's view of Gatehouse (from its SP metadata) and a samlify IdP, as Entra's Signing Option and Token encryption set them. */
function entities(c: { assertion: boolean; message: boolean; encrypt: boolean }, of: { sp: string; idp: TestIdp } = { sp: spMetadata, idp }) {
  const sp = samlify.ServiceProvider({
    metadata: c.assertion ? of.sp.replace('AuthnRequestsSigned=', 'WantAssertionsSigned="true" AuthnRequestsSigned=') : of.sp,
    wantMessageSigned: c.message,
    // samlify signs what it sends Gatehouse's Logout URL when the SP "wants" it.
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
  });
  const samlIdp = samlify.IdentityProvider({
    metadata: of.idp.metadataXml(),
    privateKey: of.idp.keys[0]!.privateKeyPem,
    isAssertionEncrypted: c.encrypt,
    requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    // What Gatehouse sends samlify must be signed; samlify checks it against the SP metadata's certificate.
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
  });
  return { sp, samlIdp };
}

/** A redirect binding URL as samlify's parse*() takes it: the decoded query and the signed octet string. */
function redirectRequest(location: string, type: 'SAMLRequest' | 'SAMLResponse') {
  const url = new URL(location);
  const raw = url.search.slice(1).split('&');
  const part = (k: string) => raw.find((p) => p.startsWith(`${k}=`));
  return { query: Object.fromEntries(url.searchParams), octetString: [part(type), part('RelayState'), part('SigAlg')].filter(Boolean).join('&') };
}

/** Where a samlify URL for Gatehouse's public address lands on the running app. */
function local(url: string): string {
  const u = new URL(url);
  return `${a.url}${u.pathname}${u.search}`;
}

describe('samlify as the identity provider, SP-initiated (AuthnRequest from Gatehouse, InResponseTo in the answer)', () => {
  for (const c of cases) {
    it(`signs in: ${c.name}`, async () => {
      const { sp, samlIdp } = entities(c);
      const { location, requestId } = await startLogin(a.url, orgDomain, '/after');
      const parsed = await samlIdp.parseLoginRequest(sp, 'redirect', redirectRequest(location.toString(), 'SAMLRequest'));
      expect(parsed.extract.request?.id).toBe(requestId);
      const { context } = await samlIdp.createLoginResponse(sp, parsed as never, 'post', { email: userName }, undefined, c.encrypt && c.message);
      const xml = Buffer.from(context, 'base64').toString('utf8');
      expect(xml).toContain(`InResponseTo="${requestId}"`);
      expect(xml.includes('EncryptedAssertion')).toBe(c.encrypt);
      const res = await postAcs(a.url, orgDomain, context, '/after');
      expect(res.status, await res.clone().text()).toBe(303);
      expect(res.headers.get('location')).toBe('/after');
      expect(((await (await me(a.url, sessionCookie(res)!)).json()) as { userName: string }).userName).toBe(userName);
      // The request id is used up: the same answer again is refused.
      expect((await postAcs(a.url, orgDomain, context)).status).toBe(409);
    });
  }
});

describe('samlify as the identity provider, single logout', () => {
  async function signIn(): Promise<string> {
    const { sp, samlIdp } = entities(cases[0]!);
    const { context } = await samlIdp.createLoginResponse(sp, { extract: {} } as never, 'post', { email: userName });
    const res = await postAcs(a.url, orgDomain, context);
    expect(res.status, await res.clone().text()).toBe(303);
    return sessionCookie(res)!;
  }

  it('SP-initiated: samlify verifies Gatehouse’s signed LogoutRequest, and its signed LogoutResponse completes the sign-out', async () => {
    const { sp, samlIdp } = entities(cases[0]!);
    const cookie = await signIn();
    const out = await fetch(`${a.url}/logout`, { method: 'POST', headers: { cookie: `gatehouse_session=${cookie}` }, redirect: 'manual' });
    expect(out.status).toBe(303);
    expect((await me(a.url, cookie)).status).toBe(401);
    const parsed = await samlIdp.parseLogoutRequest(sp, 'redirect', redirectRequest(out.headers.get('location')!, 'SAMLRequest'));
    expect(parsed.sigAlg).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(parsed.extract.nameID).toBe(userName);
    // The SessionIndex of the assertion that started the session (the template's AuthnStatement).
    expect(parsed.extract.sessionIndex).toBe('_s1');
    const { context } = samlIdp.createLogoutResponse(sp, parsed as never, 'redirect', { relayState: '/bye' }) as { context: string };
    const back = await fetch(local(context), { redirect: 'manual' });
    expect(back.status, await back.clone().text()).toBe(303);
    expect(back.headers.get('location')).toBe('/bye');
    expect((await fetch(local(context), { redirect: 'manual' })).status).toBe(409);
  });

  it('SP-initiated with an IdP that lists only HTTP-POST: samlify verifies the posted, signed LogoutRequest (NameID, SessionIndex) and its posted LogoutResponse completes the sign-out', async () => {
    const postOnly = new TestIdp(idp.keys);
    postOnly.logoutBinding = 'post';
    await postOnly.start();
    try {
      const o = await trustingOrg(a.domain, postOnly, { spCertificate: true });
      const name = (await memberNamed(a.domain, o.actor, 'dora')).userName;
      const { sp, samlIdp } = entities(cases[0]!, { sp: await (await fetch(`${a.url}/saml/${o.domain}/metadata`)).text(), idp: postOnly });
      const { context: login } = await samlIdp.createLoginResponse(sp, { extract: {} } as never, 'post', { email: name });
      const cookie = sessionCookie(await postAcs(a.url, o.domain, login))!;
      const out = await fetch(`${a.url}/logout`, { method: 'POST', headers: { cookie: `gatehouse_session=${cookie}` }, redirect: 'manual' });
      const html = await out.text();
      expect(out.status, html).toBe(200);
      expect((await me(a.url, cookie)).status).toBe(401);
      expect(/<form method="post" action="([^"]+)">/.exec(html)![1]).toBe(postOnly.sloUrl);
      const SAMLRequest = /name="SAMLRequest" value="([^"]+)"/.exec(html)![1]!;
      const parsed = await samlIdp.parseLogoutRequest(sp, 'post', { body: { SAMLRequest } });
      expect(parsed.extract.nameID).toBe(name);
      expect(parsed.extract.sessionIndex).toBe('_s1');
      const made = samlIdp.createLogoutResponse(sp, parsed as never, 'post', { relayState: '/bye' }) as { context: string; entityEndpoint: string };
      const back = await fetch(local(made.entityEndpoint), {
        method: 'POST',
        body: new URLSearchParams({ SAMLResponse: made.context, RelayState: '/bye' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        redirect: 'manual',
      });
      expect(back.status, await back.clone().text()).toBe(303);
      expect(back.headers.get('location')).toBe('/bye');
    } finally {
      await postOnly.stop();
    }
  });

  for (const binding of ['redirect', 'post'] as const) {
    it(`IdP-initiated (${binding}): samlify's signed LogoutRequest ends the session; samlify verifies Gatehouse's signed LogoutResponse`, async () => {
      const { sp, samlIdp } = entities(cases[0]!);
      const cookie = await signIn();
      const made = samlIdp.createLogoutRequest(sp, binding, { logoutNameID: userName }, { relayState: 'rs' }) as { id: string; context: string; entityEndpoint?: string };
      const res =
        binding === 'redirect'
          ? await fetch(local(made.context), { redirect: 'manual' })
          : await fetch(local(made.entityEndpoint!), {
              method: 'POST',
              body: new URLSearchParams({ SAMLRequest: made.context, RelayState: 'rs' }),
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              redirect: 'manual',
            });
      expect(res.status, await res.clone().text()).toBe(303);
      expect((await me(a.url, cookie)).status).toBe(401);
      const answer = await samlIdp.parseLogoutResponse(sp, 'redirect', redirectRequest(res.headers.get('location')!, 'SAMLResponse'));
      expect(answer.extract.response?.inResponseTo).toBe(made.id);
      expect(answer.sigAlg).toBe('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    });
  }

  it('refuses a samlify LogoutRequest signed with a key the metadata does not list, and changes no session', async () => {
    const { sp } = entities(cases[0]!);
    const cookie = await signIn();
    const forger = samlify.IdentityProvider({
      metadata: idp.metadataXml(),
      privateKey: forgerKey.privateKeyPem,
      requestSignatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    });
    const made = forger.createLogoutRequest(sp, 'redirect', { logoutNameID: userName }) as { context: string };
    const res = await fetch(local(made.context), { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('invalid_signature');
    expect((await me(a.url, cookie)).status).toBe(200);
  });
});
