// A second, independent SAML implementation as the identity provider: samlify
// signs (assertion, response, or both, as Entra's Signing Option) and
// encrypts real responses; Gatehouse must sign people in from each.
import crypto from 'node:crypto';
import * as samlify from 'samlify';
import * as validator from '@authenio/samlify-xmllint-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../setup/test-db.js';
import { buildMember, buildOrg } from '../factories/index.js';
import { TestIdp } from './idp.js';
import { me, postAcs, sessionCookie, startApp, type RunningApp } from './harness.js';

samlify.setSchemaValidator(validator);
// samlify's default response leaves the AuthnStatement empty; Entra always sends one (and Gatehouse requires it).
const template = samlify.SamlLib.defaultLoginResponseTemplate;
template.context = template.context.replace(
  '{AuthnStatement}',
  `<saml:AuthnStatement AuthnInstant="${new Date().toISOString()}" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
);

let t: TestDb;
let a: RunningApp;
let idp: TestIdp;
let orgDomain: string;
let userName: string;
let spMetadata: string;

beforeAll(async () => {
  t = await createTestDb();
  a = await startApp(t);
  idp = new TestIdp();
  await idp.start();
  const org = await buildOrg(t.domain);
  orgDomain = org.domain;
  await t.domain.saml.importMetadataUrl(org.actor, idp.metadataUrl);
  await t.domain.saml.generateCertificate(org.actor, 'gatehouse.test');
  userName = (await buildMember(t.domain, org.actor, { userName: `ann.${crypto.randomBytes(3).toString('hex')}@contoso.com` })).userName;
  spMetadata = await (await fetch(`${a.url}/saml/${orgDomain}/metadata`)).text();
});
afterAll(async () => {
  await a.close();
  await idp.stop();
  await t.close();
});

const cases = [
  { name: 'assertion signed', assertion: true, message: false, encrypt: false },
  { name: 'response signed', assertion: false, message: true, encrypt: false },
  { name: 'both signed', assertion: true, message: true, encrypt: false },
  { name: 'assertion signed, encrypted', assertion: true, message: false, encrypt: true },
  { name: 'response signed, encrypted', assertion: false, message: true, encrypt: true },
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
