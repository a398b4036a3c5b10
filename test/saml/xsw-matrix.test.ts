// Every signature-wrapping, tampering and replay case of sso.test.ts (written
// for Entra's default, a signed assertion), repeated for each way Entra can
// send an assertion: signed assertion, signed response, both, and each of
// those encrypted (wrapping outside the EncryptedAssertion, and inside it
// before encryption). Each refusal is a 4xx page naming its reason, with no
// session started.
import { beforeAll, describe, it } from 'vitest';
import type { TestDb } from '../setup/test-db.js';
import { encode, encryptAssertion, newId, TestIdp, type ResponseOptions, type SigningOption } from './idp.js';
import { expectAcsRefused, expectSignsIn, memberNamed, responseTo, samlSuite, startLogin, urlsFor, type RunningApp, type SamlOrg } from './harness.js';

let t: TestDb;
let a: RunningApp;
let idp: TestIdp;
let org: SamlOrg;
let alice: { id: string; userName: string };
let mallory: { id: string; userName: string };
let spCert: string;

// This file refuses many responses a minute on purpose; the ACS rate limit has its own test.
samlSuite({ authFailureLimit: 10000, spCertificate: true }, (s) => ({ t, a, idp, org, spCert } = s));
beforeAll(async () => {
  alice = await memberNamed(t.domain, org.actor, 'alice');
  mallory = await memberNamed(t.domain, org.actor, 'mallory');
});

/** Refused (a response's XML, or with `isXml` false the encoded response): see expectAcsRefused. */
async function expectRefused(xmlOrResponse: string, reason: string, status?: number, isXml = true): Promise<void> {
  await expectAcsRefused({ t, a }, org, isXml ? encode(xmlOrResponse) : xmlOrResponse, reason, status);
}

const signsIn = (samlResponse: string, as: string) => expectSignsIn(a, org.domain, samlResponse, as);

const WAYS: { sign: SigningOption; encrypt: boolean }[] = [
  { sign: 'assertion', encrypt: false },
  { sign: 'response', encrypt: false },
  { sign: 'both', encrypt: false },
  { sign: 'assertion', encrypt: true },
  { sign: 'response', encrypt: true },
  { sign: 'both', encrypt: true },
];

for (const way of WAYS) {
  const name = `${way.sign} signed${way.encrypt ? ', encrypted' : ''}`;
  describe(`${name}`, () => {
    const opts = (over: Partial<ResponseOptions> = {}): ResponseOptions =>
      responseTo(org.domain, { nameId: mallory.userName, sign: way.sign, ...(way.encrypt ? { encryptFor: spCert } : {}), ...over });
    /** The assertion as it sits in the Response: an Assertion or an EncryptedAssertion. */
    const elementOf = (xml: string) => (way.encrypt ? /<EncryptedAssertion[\s\S]*<\/EncryptedAssertion>/ : /<Assertion [\s\S]*<\/Assertion>/).exec(xml)![0];
    /** An unsigned assertion for alice, as the attacker would like it read. */
    const evilAssertion = () => /<Assertion [\s\S]*<\/Assertion>/.exec(idp.responseXml(opts({ nameId: alice.userName, signWith: null, encryptFor: undefined })))![0];
    /** The same, in the form this way sends (encrypted for Gatehouse when encrypting). */
    const evilElement = () => (way.encrypt ? encryptAssertion(evilAssertion(), spCert) : evilAssertion());

    it('signs mallory in (the baseline the refusals below depart from)', async () => {
      await signsIn(idp.response(opts()), mallory.userName);
    });

    it('wrapping outside the assertion element: beside, before, moved, hidden in the signature, foreign namespace, wrapped, nested response', async () => {
      const signed = idp.responseXml(opts());
      const e = elementOf(signed);
      const evil = evilAssertion();
      const variants: [string, string][] = [
        ['evil after', signed.replace(e, () => e + evil)],
        ['evil before', signed.replace(e, () => evil + e)],
        ['evil (same form) before', signed.replace(e, () => evilElement() + e)],
        ['signed moved into Extensions, evil in its place', signed.replace(e, () => `<samlp:Extensions>${e}</samlp:Extensions>${evil}`)],
        ['foreign namespace', signed.replace(e, () => e + evil.replace('xmlns="urn:oasis:names:tc:SAML:2.0:assertion"', 'xmlns="urn:evil"'))],
        ['signed wrapped in the evil one', signed.replace(e, () => evil.replace('</Assertion>', () => `${e}</Assertion>`))],
        [
          'signed response nested in an evil one',
          `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="${newId()}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${urlsFor(org.domain).acsUrl}">` +
            `<samlp:Extensions>${signed}</samlp:Extensions>${evil}</samlp:Response>`,
        ],
      ];
      // Hidden in a signature's Object (the Response's, or the Assertion's when it is in clear).
      if (signed.includes('</SignatureValue>')) variants.push(['evil in the signature Object', signed.replace('</SignatureValue>', () => `</SignatureValue><Object>${evil}</Object>`)]);
      for (const [, v] of variants) await expectRefused(v, 'malformed_response');
    });

    it('tampering: the signed content changed, the assertion swapped for an evil one, SHA-1, comment injection', async () => {
      const signed = idp.responseXml(opts());
      // The assertion element swapped for an evil one of the same form: no signature covers it any more.
      await expectRefused(signed.replace(elementOf(signed), () => evilElement()), 'invalid_signature');
      if (way.encrypt) {
        // Changed after the assertion was signed, before encryption. (With a response signature the
        // IdP signs the cipher text after encrypting: such bytes are its own, and covered.)
        if (way.sign === 'assertion') {
          await expectRefused(idp.responseXml(opts({ beforeEncrypt: (x) => x.replace(`>${mallory.userName}<`, `>${alice.userName}<`) })), 'invalid_signature');
        }
        if (way.sign === 'response') {
          // Only the response signature covers the cipher text: changing what is outside it breaks it too.
          // (With "both", the assertion's own signature still covers the assertion, as with "assertion".)
          await expectRefused(signed.replace(/(<samlp:Response [^>]*IssueInstant=")[^"]+/, `$1${new Date(Date.now() - 1000).toISOString()}`), 'invalid_signature');
        }
        await expectRefused(idp.responseXml(opts({ beforeEncrypt: (x) => x.replace(`>${mallory.userName}<`, `>${mallory.userName}<!---->.evil<`) })), 'xml_comment_refused');
      } else {
        await expectRefused(signed.replace(`>${mallory.userName}<`, `>${alice.userName}<`), 'invalid_signature');
        await expectRefused(signed.replace(/NotOnOrAfter="[^"]+"/g, `NotOnOrAfter="${new Date(Date.now() + 86400_000).toISOString()}"`), 'invalid_signature');
        // The attacker owns "alice...evil.example" at the IdP and splits the signed NameID with a comment.
        const attacker = `${alice.userName}.evil.example`;
        const split = idp.responseXml(opts({ nameId: attacker })).replace(`>${attacker}<`, `>${alice.userName}<!---->.evil.example<`);
        await expectRefused(split, 'xml_comment_refused');
      }
      await expectRefused(idp.responseXml(opts({ algorithm: 'sha1' })), 'weak_signature_algorithm');
      await expectRefused(idp.responseXml(opts({ signWith: null })), 'invalid_signature');
    });

    if (way.encrypt) {
      it('wrapping inside the encrypted element, and bad cipher text: a wrong key, truncated, an unknown algorithm', async () => {
        const evilOf = (x: string) =>
          x.replace(/<Signature[\s\S]*<\/Signature>/, '').replace(`>${mallory.userName}<`, `>${alice.userName}<`).replace(/ID="[^"]+"/, `ID="${newId()}"`);
        const inside = [
          (x: string) => evilOf(x).replace('</Assertion>', () => `${x}</Assertion>`), // the real assertion wrapped in the evil one
          (x: string) => x.replace('</Assertion>', () => `${evilOf(x)}</Assertion>`), // the evil assertion wrapped in the real one
          () => `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`,
        ];
        for (const beforeEncrypt of inside) await expectRefused(idp.responseXml(opts({ beforeEncrypt })), 'malformed_response');
        // Two assertions side by side in one cipher text are no XML document: refused as not decrypting to one.
        await expectRefused(idp.responseXml(opts({ beforeEncrypt: (x) => x + evilOf(x) })), 'decryption_failed');
        await expectRefused(idp.responseXml(opts({ beforeEncrypt: (x) => `<!DOCTYPE a [<!ENTITY e "x">]>${x}` })), 'doctype_refused');
        // Encrypted for a certificate that is not one of this organisation's SP certificates (the IdP's own).
        await expectRefused(idp.responseXml(opts({ encryptFor: idp.keys[0]!.certificatePem })), 'decryption_failed');
        await expectRefused(idp.responseXml(opts({ encryption: { mangle: (b) => b.subarray(0, b.length - 5) } })), 'decryption_failed');
        await expectRefused(idp.responseXml(opts({ encryption: { content: 'urn:example:unknown-cipher' } })), 'unsupported_encryption_algorithm');
      });
    }

    it('replay: the same response twice, an unknown, a reused and a mismatched InResponseTo', async () => {
      const once = idp.response(opts());
      await signsIn(once, mallory.userName);
      await expectRefused(once, 'replayed_assertion', 409, false);
      await expectRefused(idp.responseXml(opts({ inResponseTo: newId() })), 'unknown_in_response_to', 400);
      const { requestId } = await startLogin(a.url, org.domain);
      await signsIn(idp.response(opts({ inResponseTo: requestId })), mallory.userName);
      await expectRefused(idp.responseXml(opts({ inResponseTo: requestId })), 'reused_in_response_to', 409);
      // The response answers one request, the (signed) assertion another.
      const second = await startLogin(a.url, org.domain);
      const xml = idp.responseXml(opts({ inResponseTo: second.requestId }));
      if (way.sign === 'assertion') {
        // The Response element is not signed here: rewriting its InResponseTo to another pending
        // request is possible, and caught (node-saml finds the signed assertion answering another).
        const third = await startLogin(a.url, org.domain);
        await expectRefused(xml.replace(/(<samlp:Response [^>]*InResponseTo=")[^"]+/, `$1${third.requestId}`), 'unknown_in_response_to');
      } else {
        await expectRefused(xml.replace(/(<samlp:Response [^>]*InResponseTo=")[^"]+/, `$1${newId()}`), 'unknown_in_response_to');
      }
    });
  });
}
