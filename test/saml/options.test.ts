// Every option of Entra's "SAML Signing Certificate" (sign the assertion, the
// response, or both) and "Token encryption" blades signs people in with the
// same strictness; wrapping, replay and tampering are refused for response
// signatures and encrypted assertions as for signed assertions.
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { buildMember } from '../factories/index.js';
import { encode, makeKey, newId, TestIdp, XENC, XENC11, type ResponseOptions, type SigningOption } from './idp.js';
import {
  expectAcsRefused,
  expectSignsIn,
  memberNamed,
  postAcs,
  responseTo,
  samlSuite,
  sessionCookie,
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
let mallory: { id: string; userName: string };
let spCert: string;
/** A key pair the IdP metadata does not list (RSA generation is slow: made once). */
let stranger: ReturnType<typeof makeKey>;

// This file refuses many responses a minute on purpose; the ACS rate limit has its own test.
samlSuite({ authFailureLimit: 1000, spCertificate: true }, (s) => ({ t, a, idp, org, spCert } = s));
beforeAll(async () => {
  stranger = makeKey();
  alice = await memberNamed(t.domain, org.actor, 'alice');
  mallory = await memberNamed(t.domain, org.actor, 'mallory');
});

function opts(over: Partial<ResponseOptions> = {}): ResponseOptions {
  return responseTo(org.domain, { nameId: alice.userName, ...over });
}

const signsIn = (samlResponse: string, as = alice.userName) => expectSignsIn(a, org.domain, samlResponse, as);

/** Refused: a 4xx page naming `reason`, no cookie, no new session, audited. */
const expectRefused = (samlResponse: string, reason: string, status?: number) => expectAcsRefused({ t, a }, org, samlResponse, reason, status);

const MODES: SigningOption[] = ['assertion', 'response', 'both'];

describe('Entra signing options', () => {
  for (const sign of MODES) {
    it(`"${sign}" signs in, SP- and IdP-initiated`, async () => {
      await signsIn(idp.response(opts({ sign })));
      const { requestId } = await startLogin(a.url, org.domain);
      await signsIn(idp.response(opts({ sign, inResponseTo: requestId })));
    });
  }

  it('refuses a response with no signature at all, or signed by a key not in the metadata, whatever the option', async () => {
    await expectRefused(idp.response(opts({ signWith: null })), 'invalid_signature');
    for (const sign of MODES) await expectRefused(idp.response(opts({ sign, signWith: stranger })), 'invalid_signature');
  });

  it('response signatures: changed after signing, SHA-1, replay', async () => {
    const xml = idp.responseXml(opts({ sign: 'response', nameId: mallory.userName }));
    await expectRefused(encode(xml.replace(`>${mallory.userName}<`, `>${alice.userName}<`)), 'invalid_signature');
    await expectRefused(idp.response(opts({ sign: 'response', algorithm: 'sha1' })), 'weak_signature_algorithm');
    const once = idp.response(opts({ sign: 'response' }));
    await signsIn(once);
    await expectRefused(once, 'replayed_assertion', 409);
  });

  it('response signatures: wrapping variants', async () => {
    const signed = idp.responseXml(opts({ sign: 'response', nameId: mallory.userName }));
    const original = /<Assertion [\s\S]*<\/Assertion>/.exec(signed)![0];
    const evil = original.replace(`>${mallory.userName}<`, `>${alice.userName}<`).replace(/ID="[^"]+"/, `ID="${newId()}"`);
    const response = /^<samlp:Response[\s\S]*<\/samlp:Response>$/.exec(signed)![0];
    const variants = [
      // A second, evil assertion next to the signed one.
      signed.replace(original, original + evil),
      // The signed response hidden inside an evil one (the signature then signs a nested Response).
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${newId()}" Version="2.0" Destination="${urlsFor(org.domain).acsUrl}">` +
        `<samlp:Extensions>${response}</samlp:Extensions>${evil}</samlp:Response>`,
      // The evil assertion inside the response signature's Object.
      signed.replace('</SignatureValue>', `</SignatureValue><Object>${evil}</Object>`),
    ];
    for (const v of variants) await expectRefused(encode(v), 'malformed_response');
    // The signed assertion swapped for the evil one: the response signature no longer holds.
    await expectRefused(encode(signed.replace(original, evil)), 'invalid_signature');
  });
});

describe('Token encryption', () => {
  it('publishes the SP certificate for encryption in the SP metadata', async () => {
    const xml = await (await fetch(`${a.url}/saml/${org.domain}/metadata`)).text();
    const body = spCert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
    expect(xml).toMatch(new RegExp(`<KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body.replace(/[+/]/g, '\\$&')}`));
    expect(xml).toContain(`<EncryptionMethod Algorithm="${XENC11}aes256-gcm"/>`);
    expect(xml).toContain(`<EncryptionMethod Algorithm="${XENC}aes256-cbc"/>`);
  });

  for (const sign of MODES) {
    it(`decrypts an encrypted assertion signed as "${sign}"`, async () => {
      await signsIn(idp.response(opts({ sign, encryptFor: spCert })));
      const { requestId } = await startLogin(a.url, org.domain);
      await signsIn(idp.response(opts({ sign, encryptFor: spCert, inResponseTo: requestId })));
    });
  }

  it('AES-CBC and AES-GCM content, RSA-OAEP key transport either way, the key beside the data', async () => {
    for (const content of [`${XENC}aes128-cbc`, `${XENC}aes256-cbc`, `${XENC11}aes128-gcm`, `${XENC11}aes256-gcm`]) {
      await signsIn(idp.response(opts({ encryptFor: spCert, encryption: { content } })));
    }
    await signsIn(idp.response(opts({ encryptFor: spCert, encryption: { transport: `${XENC11}rsa-oaep` } })));
    await signsIn(idp.response(opts({ encryptFor: spCert, encryption: { oaepDigest: 'sha256' } })));
    await signsIn(idp.response(opts({ encryptFor: spCert, encryption: { keyBeside: true } })));
  });

  it('replay, tampering and SHA-1 inside the cipher text', async () => {
    const once = idp.response(opts({ encryptFor: spCert }));
    await signsIn(once);
    await expectRefused(once, 'replayed_assertion', 409);
    // Changed before encryption, after signing: the assertion signature fails once decrypted.
    await expectRefused(idp.response(opts({ encryptFor: spCert, beforeEncrypt: (x) => x.replace(`>${alice.userName}<`, `>${mallory.userName}<`) })), 'invalid_signature');
    await expectRefused(idp.response(opts({ encryptFor: spCert, algorithm: 'sha1' })), 'weak_signature_algorithm');
  });

  it('wrapping inside and outside the encrypted element', async () => {
    const evilOf = (signedAssertion: string) =>
      signedAssertion.replace(/<Signature[\s\S]*<\/Signature>/, '').replace(`>${mallory.userName}<`, `>${alice.userName}<`).replace(/ID="[^"]+"/, `ID="${newId()}"`);
    const inside = [
      (x: string) => evilOf(x).replace('</Assertion>', `${x}</Assertion>`), // signed assertion wrapped in the evil one
      (x: string) => x.replace('</Assertion>', `${evilOf(x)}</Assertion>`), // evil assertion wrapped in the signed one
      (x: string) => x.replace('</SignatureValue>', `</SignatureValue><Object>${evilOf(x)}</Object>`),
      () => `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`,
    ];
    for (const beforeEncrypt of inside) {
      await expectRefused(idp.response(opts({ nameId: mallory.userName, encryptFor: spCert, beforeEncrypt })), 'malformed_response');
    }
    await expectRefused(idp.response(opts({ nameId: mallory.userName, encryptFor: spCert, beforeEncrypt: (x) => x.replace('<Issuer>', '<!-- x --><Issuer>') })), 'xml_comment_refused');
    // Outside: a plain (evil) assertion beside the encrypted one, two encrypted ones, one moved into Extensions.
    const xml = idp.responseXml(opts({ nameId: mallory.userName, encryptFor: spCert }));
    const enc = /<EncryptedAssertion[\s\S]*<\/EncryptedAssertion>/.exec(xml)![0];
    const plainEvil = /<Assertion [\s\S]*<\/Assertion>/.exec(idp.responseXml(opts({ signWith: null })))![0];
    for (const v of [xml.replace(enc, enc + plainEvil), xml.replace(enc, enc + enc), xml.replace(enc, `<samlp:Extensions>${enc}</samlp:Extensions>${plainEvil}`)]) {
      await expectRefused(encode(v), 'malformed_response');
    }
  });

  it('bad input: a wrong key, truncated or altered cipher text, unknown algorithms, garbage', async () => {
    await expectRefused(idp.response(opts({ encryptFor: stranger.certificatePem })), 'decryption_failed');
    for (const content of [`${XENC}aes256-cbc`, `${XENC11}aes256-gcm`]) {
      await expectRefused(idp.response(opts({ encryptFor: spCert, encryption: { content, mangle: (b) => b.subarray(0, b.length - 7) } })), 'decryption_failed');
      await expectRefused(idp.response(opts({ encryptFor: spCert, encryption: { content, mangle: (b) => b.subarray(0, 20) } })), 'decryption_failed');
    }
    await expectRefused(
      idp.response(opts({ encryptFor: spCert, encryption: { content: `${XENC11}aes256-gcm`, mangle: (b) => Buffer.concat([b.subarray(0, 30), Buffer.from([b[30]! ^ 1]), b.subarray(31)]) } })),
      'decryption_failed',
    );
    await expectRefused(idp.response(opts({ encryptFor: spCert, encryption: { content: `${XENC}tripledes-cbc` } })), 'unsupported_encryption_algorithm');
    await expectRefused(idp.response(opts({ encryptFor: spCert, encryption: { content: 'urn:example:rot13' } })), 'unsupported_encryption_algorithm');
    await expectRefused(idp.response(opts({ encryptFor: spCert, encryption: { transport: `${XENC}rsa-1_5` } })), 'unsupported_encryption_algorithm');
    const xml = idp.responseXml(opts({ encryptFor: spCert }));
    await expectRefused(encode(xml.replace(/(<xenc:CipherData><xenc:CipherValue>)[^<]+(<\/xenc:CipherValue><\/xenc:CipherData><\/xenc:EncryptedData>)/, '$1!!not base64!!$2')), 'malformed_response');
    await expectRefused(encode(xml.replace(/<xenc:EncryptedData[\s\S]*<\/xenc:EncryptedData>/, '')), 'malformed_response');
  });

  it('refuses plain assertions once encryption is required, and an encrypted one with no SP key', async () => {
    const other = await trustingOrg(t.domain, idp);
    const bob = await buildMember(t.domain, other.actor);
    const post = (r: string) => postAcs(a.url, other.domain, r);
    const base = responseTo(other.domain, { nameId: bob.userName });
    const noKey = await post(idp.response({ ...base, encryptFor: spCert }));
    expect(noKey.status).toBe(400);
    expect(await noKey.text()).toContain('no_encryption_key');
    const cert = (await t.domain.saml.generateCertificate(other.actor, 'gatehouse.test')).pem;
    expect((await t.domain.saml.setRequireEncryption(other.actor, true)).requireEncryption).toBe(true);
    const plain = await post(idp.response({ ...base }));
    expect(plain.status).toBe(403);
    const page = await plain.text();
    expect(page).toContain('encryption_required');
    expect(page).toContain('Token encryption');
    expect(sessionCookie(plain)).toBeNull();
    expect((await post(idp.response({ ...base, encryptFor: cert, sign: 'response' }))).status).toBe(303);
    await t.domain.saml.setRequireEncryption(other.actor, false);
    expect((await post(idp.response({ ...base }))).status).toBe(303);
  });
});
