// Gatehouse as a SAML service provider: node-saml configured per
// organisation, strictly, plus the checks node-saml 5.1 leaves to the
// application: Response Destination, bearer SubjectConfirmationData
// Recipient and expiry on IdP-initiated logins, the Issuer of a login response, a non-Success status next to an
// assertion, a replay cache, DOCTYPEs, and SHA-1 signatures.
import crypto from 'node:crypto';
import { SAML, ValidateInResponseTo, type CacheProvider, type Profile, type SamlConfig } from '@node-saml/node-saml';
import { getVerifiedXml } from '@node-saml/node-saml/lib/xml.js';
import type { Config } from '../config.js';
import type { Domain } from '../domain/index.js';
import type { SamlRuntime } from '../domain/saml-config/saml.service.js';
import { childrenNS, descendantsNS, hasDoctype, NS, parseXmlStrict, pureText } from '../domain/saml-config/xml.js';
import { spUrls } from '../domain/saml-config/sp-urls.js';
import { XMLSerializer } from '@xmldom/xmldom';
import escapeHtml from 'escape-html';
import { LoginRefused } from './errors.js';
import { CONTENT_ALGORITHMS, decryptAssertion } from './decrypt.js';
import { certificateBody } from '../domain/saml-config/saml-certificate.js';
import { HTTP_POST, HTTP_REDIRECT } from '../domain/saml-config/saml-metadata.js';

/** How long an AuthnRequest id stays usable. */
export const REQUEST_TTL_MS = 10 * 60_000;
/** Largest SAMLResponse accepted (the urlencoded body; Entra's are a few KiB). */
export const ACS_BODY_LIMIT_BYTES = 256 * 1024;
export const NAMEID_UNSPECIFIED = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
/** Where an Entra admin changes what a signing refusal is about. */
export const SIGNING_SETTING = 'In Entra: Enterprise application → Single sign-on → SAML Certificates → Edit';

export const STRONG_SIGNATURES = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const STRONG_DIGESTS = new Set([
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmldsig-more#sha384',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);

/** Which request ids a SAML instance records, and for what. */
export interface SamlForOptions {
  /** A "Test sign-in" started by this admin. */
  readonly testStartedBy?: string;
  /** LogoutRequests sent for this member who signed out (their LogoutResponse must answer them). */
  readonly logoutMemberId?: string;
  /** Logout messages: InResponseTo is checked (and used up) by SamlService.completeLogout, not by node-saml. */
  readonly logout?: boolean;
  /** The pending request the edge already looked up (SamlService.pendingRequest): node-saml asks for it without another round trip. */
  readonly known?: { readonly id: string; readonly createdAt: Date | null };
}

/** AuthnRequest (and LogoutRequest) ids as PostgreSQL rows, so any process can finish a login or a logout. */
function requestStore(domain: Domain, organizationId: string, o: SamlForOptions): CacheProvider {
  return {
    async saveAsync(key, value) {
      if (o.logoutMemberId) await domain.saml.saveLogoutRequest(organizationId, key, REQUEST_TTL_MS, o.logoutMemberId);
      else await domain.saml.saveRequest(organizationId, key, REQUEST_TTL_MS, o.testStartedBy);
      return { value, createdAt: Date.now() };
    },
    async getAsync(key) {
      const createdAt = o.known?.id === key ? o.known.createdAt : await domain.saml.pendingRequest(organizationId, key);
      return createdAt ? createdAt.toISOString() : null;
    },
    // Consumption is ours, atomic and after every check (SamlService.completeLogin); node-saml's
    // get-then-remove would let two concurrent posts of one response both pass.
    async removeAsync(key) {
      return key;
    },
  };
}

export function samlFor(rt: SamlRuntime, config: Config, domain: Domain, o: SamlForOptions = {}): ServiceProviderSaml {
  const urls = spUrls(config.http.publicUrl, rt.organization.domain);
  const options: SamlConfig = {
    issuer: urls.entityId,
    callbackUrl: urls.acsUrl,
    entryPoint: rt.ssoUrl ?? rt.slo?.location ?? undefined,
    logoutUrl: rt.slo?.location,
    idpCert: [...rt.idpCertificates],
    idpIssuer: rt.idpEntityId ?? undefined,
    audience: urls.entityId,
    // Entra signs the assertion, the response, or both (its "Signing Option"): node-saml then
    // requires one valid signature that covers the assertion it returns (the Response's, or
    // else the Assertion's), from the signed bytes only; verifyResponse checks the rest.
    wantAssertionsSigned: false,
    wantAuthnResponseSigned: false,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
    acceptedClockSkewMs: config.saml.clockSkewSeconds * 1000,
    identifierFormat: NAMEID_UNSPECIFIED,
    disableRequestedAuthnContext: true,
    validateInResponseTo: o.logout ? ValidateInResponseTo.never : ValidateInResponseTo.ifPresent,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    cacheProvider: requestStore(domain, rt.organization.id, o),
  };
  if (rt.signing) {
    options.privateKey = rt.signing.privateKeyPem;
    options.publicCert = rt.signing.certificatePem;
  }
  return new ServiceProviderSaml(options);
}

/**
 * node-saml entered one step later than validatePostResponseAsync: Gatehouse
 * has parsed the response and checked its shape (one Assertion or
 * EncryptedAssertion, directly in the one Response), so the XML is not parsed
 * again, an EncryptedAssertion is decrypted once (by `open`, from the signed
 * bytes when the response signature covers it), and node-saml's own checks of
 * the signed assertion (audience, timestamps, InResponseTo) follow. Which
 * signature counts is validatePostResponseAsync's rule: the Response's when it
 * holds, else the Assertion's. Returns the signed assertion only.
 */
export class ServiceProviderSaml extends SAML {
  async validateCheckedResponse(
    xml: string,
    doc: Document,
    open: (encrypted: Element) => { xml: string; assertion: Element },
    keys: readonly crypto.KeyObject[],
  ): Promise<{ profile: Profile; assertion: Element }> {
    const response = doc.documentElement;
    const inResponseTo = response.getAttribute('InResponseTo') || null;
    await this.validateInResponseTo(inResponseTo);
    // The IdP certificates' public keys, parsed once per configuration (xml-crypto passes them to crypto.verify as they are).
    const pems = keys as unknown as string[];
    let assertion: Element;
    let assertionXml: string;
    const signedResponse = getVerifiedXml(xml, response as never, pems);
    if (signedResponse) {
      // The response signature covers the assertion (or its cipher text): take it from the signed bytes.
      const verified = parseXmlStrict(signedResponse).documentElement;
      const inside = [...childrenNS(verified, NS.saml, 'Assertion'), ...childrenNS(verified, NS.saml, 'EncryptedAssertion')];
      if (verified.localName !== 'Response' || inside.length !== 1) throw new Error('Cannot obtain assertion from signed data');
      if (inside[0]!.localName === 'EncryptedAssertion') assertion = open(inside[0]!).assertion;
      else assertion = inside[0]!;
      assertionXml = new XMLSerializer().serializeToString(assertion as unknown as Node);
    } else {
      // Else the assertion's own signature, in clear or inside the cipher text.
      const only = childrenNS(response, NS.saml, 'Assertion')[0];
      const encrypted = childrenNS(response, NS.saml, 'EncryptedAssertion')[0];
      const signed = only ? getVerifiedXml(xml, only as never, pems) : encrypted ? verifiedInside(open(encrypted), pems) : null;
      if (!signed) throw new Error('Invalid signature');
      assertion = parseXmlStrict(signed).documentElement;
      assertionXml = signed;
    }
    const { profile } = await this.processValidlySignedAssertionAsync(assertionXml, xml, inResponseTo);
    if (!profile) throw new Error('No assertion');
    return { profile, assertion };
  }
}

/** The IdP certificates' public keys of a runtime, parsed once: the runtime object stays the same until its configuration changes. */
const parsedIdpKeys = new WeakMap<SamlRuntime, readonly crypto.KeyObject[]>();
export function idpKeys(rt: SamlRuntime): readonly crypto.KeyObject[] {
  let keys = parsedIdpKeys.get(rt);
  if (!keys) {
    keys = rt.idpCertificates.flatMap((pem) => {
      try {
        return [crypto.createPublicKey(pem)];
      } catch {
        return []; // verifies nothing, as the PEM itself would not
      }
    });
    parsedIdpKeys.set(rt, keys);
  }
  return keys;
}

function verifiedInside(decrypted: { xml: string; assertion: Element }, pems: string[]): string | null {
  return getVerifiedXml(decrypted.xml, decrypted.assertion as never, pems);
}

/**
 * The SP metadata Entra reads (or an admin uploads): the ACS, the SP's
 * certificates for signing (AuthnRequests, LogoutRequests) and for encryption
 * (Entra's Token encryption encrypts for one of them; every published
 * certificate's key can decrypt), with the content algorithms accepted.
 */
export function spMetadataXml(rt: SamlRuntime, config: Config): string {
  const urls = spUrls(config.http.publicUrl, rt.organization.domain);
  const keyInfo = (pem: string) =>
    `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBody(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`;
  const signing = rt.signing ? rt.spCertificates.map((pem) => `<KeyDescriptor use="signing">${keyInfo(pem)}</KeyDescriptor>`).join('') : '';
  const methods = Object.keys(CONTENT_ALGORITHMS)
    .map((alg) => `<EncryptionMethod Algorithm="${alg}"/>`)
    .join('');
  const encryption = rt.spCertificates.map((pem) => `<KeyDescriptor use="encryption">${keyInfo(pem)}${methods}</KeyDescriptor>`).join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeHtml(urls.entityId)}" ID="_${crypto.randomUUID()}">` +
    `<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="${rt.signing ? 'true' : 'false'}">` +
    signing +
    encryption +
    `<SingleLogoutService Binding="${HTTP_REDIRECT}" Location="${escapeHtml(urls.logoutUrl)}"/>` +
    `<SingleLogoutService Binding="${HTTP_POST}" Location="${escapeHtml(urls.logoutUrl)}"/>` +
    `<NameIDFormat>${NAMEID_UNSPECIFIED}</NameIDFormat>` +
    `<AssertionConsumerService index="1" isDefault="true" Binding="${HTTP_POST}" Location="${escapeHtml(urls.acsUrl)}"/>` +
    `</SPSSODescriptor></EntityDescriptor>`
  );
}

export interface VerifiedLogin {
  readonly nameId: string;
  readonly assertionId: string;
  /** When the replay-cache entry may be forgotten. */
  readonly replayUntil: Date;
  readonly flow: 'sp' | 'idp';
  readonly inResponseTo: string | null;
  /** The AuthnStatement's SessionIndex (kept with the session for single logout). */
  readonly sessionIndex: string | null;
}

/**
 * Everything that can be decided from the message itself. Throws LoginRefused
 * with the reason; touches the database only through node-saml's request store.
 */
export async function verifyResponse(rt: SamlRuntime, config: Config, domain: Domain, samlResponse: string, o: SamlForOptions = {}): Promise<VerifiedLogin> {
  const urls = spUrls(config.http.publicUrl, rt.organization.domain);
  const skewMs = config.saml.clockSkewSeconds * 1000;
  if (!rt.idpEntityId || rt.idpCertificates.length === 0) {
    throw new LoginRefused('not_configured', 'Single sign-on is not set up for this organisation yet (no identity provider metadata imported)', 409);
  }
  if (!/^[A-Za-z0-9+/=\s]+$/.test(samlResponse)) throw new LoginRefused('malformed_response', 'SAMLResponse is not base64');
  const xml = Buffer.from(samlResponse, 'base64').toString('utf8');

  // Structure, before any signature work.
  const doc = parseSamlXml(xml, 'response', (e) => new LoginRefused('malformed_response', `The response is not well-formed XML: ${e.message}`));
  const response = doc.documentElement;
  if (response.namespaceURI !== NS.samlp || response.localName !== 'Response') {
    throw new LoginRefused('malformed_response', `Expected a samlp:Response, got ${response.localName}`);
  }
  // Counted in any namespace: node-saml selects the assertion by local name only.
  const assertions = descendantsNS(doc, '*', 'Assertion');
  const encrypted = descendantsNS(doc, '*', 'EncryptedAssertion');
  const only = assertions[0] ?? encrypted[0];
  if (assertions.length + encrypted.length !== 1 || only!.parentNode !== response || only!.namespaceURI !== NS.saml) {
    throw new LoginRefused(
      'malformed_response',
      `Expected exactly one Assertion or EncryptedAssertion directly in the Response, found ${assertions.length} Assertion and ${encrypted.length} EncryptedAssertion elements`,
    );
  }
  if (descendantsNS(doc, '*', 'Response').length !== 1) throw new LoginRefused('malformed_response', 'Nested Response elements are refused');
  if (encrypted.length === 0 && rt.requireEncryption) {
    throw new LoginRefused(
      'encryption_required',
      'This organisation requires encrypted assertions, and this one is not encrypted. In Entra: Enterprise application → Single sign-on → Token encryption: upload the certificate from the SP metadata and activate it (or turn "require encryption" off in Gatehouse).',
      403,
    );
  }
  const status = childrenNS(childrenNS(response, NS.samlp, 'Status')[0] ?? response, NS.samlp, 'StatusCode')[0]?.getAttribute('Value') ?? null;
  if (status !== SUCCESS) {
    const message = childrenNS(response, NS.samlp, 'Status')[0]?.textContent?.trim().slice(0, 300);
    throw new LoginRefused('status_not_success', `The identity provider answered with status ${status ?? '(none)'}${message ? `: ${message}` : ''}`, 403, {
      status,
    });
  }
  checkSignatureAlgorithms(doc);
  const destination = response.getAttribute('Destination');
  if (destination !== urls.acsUrl) {
    throw new LoginRefused('wrong_destination', `Destination mismatch: expected ${urls.acsUrl}, got ${destination || '(none)'}`, 400, {
      expected: urls.acsUrl,
      actual: destination,
    });
  }
  const responseIssuer = childrenNS(response, NS.saml, 'Issuer')[0];
  if (responseIssuer && pureText(responseIssuer)?.trim() !== rt.idpEntityId) {
    throw new LoginRefused('wrong_issuer', `Issuer mismatch: expected ${rt.idpEntityId}, got ${responseIssuer.textContent ?? ''}`, 400, {
      expected: rt.idpEntityId,
      actual: responseIssuer.textContent,
    });
  }
  const inResponseTo = response.getAttribute('InResponseTo') || null;
  const flow = inResponseTo ? 'sp' : 'idp';
  if (flow === 'idp' && !rt.allowIdpInitiated) {
    throw new LoginRefused('idp_initiated_disabled', 'Logins started at the identity provider are turned off for this organisation: start at the Sign-on URL', 403);
  }

  // Signature, audience, timestamps, InResponseTo (node-saml). An EncryptedAssertion is decrypted
  // once, here, and passes the same structural checks as a plain assertion: no DOCTYPE, comment,
  // processing instruction, nested or wrapped Assertion, or weak algorithm hides in the cipher text.
  let decryptedAssertion: Element | null = null;
  const open = (el: Element) => {
    const decrypted = decryptAssertion(el, rt.decryptionKeys);
    decryptedAssertion = checkDecryptedAssertion(decrypted.xml);
    checkSignatureAlgorithms(decryptedAssertion);
    return { xml: decrypted.xml, assertion: decryptedAssertion };
  };
  let assertion: Element;
  try {
    ({ assertion } = await samlFor(rt, config, domain, o).validateCheckedResponse(xml, doc, open, idpKeys(rt)));
  } catch (e) {
    if (e instanceof LoginRefused) throw e;
    const refusal = classifyNodeSamlError(e as Error, urls.entityId);
    if (refusal.reason === 'invalid_signature' && carriesUnknownCertificate(doc, decryptedAssertion, rt.idpCertificates)) {
      throw new LoginRefused(refusal.reason, refusal.message, refusal.status, { ...refusal.detail, unknownCertificate: true });
    }
    throw refusal;
  }

  // Only the signed bytes from here on.
  if (assertion.namespaceURI !== NS.saml || assertion.localName !== 'Assertion') throw new LoginRefused('malformed_response', 'The signed element is not a SAML Assertion');
  const assertionId = assertion.getAttribute('ID');
  if (!assertionId) throw new LoginRefused('malformed_response', 'The assertion has no ID');
  const issuerEl = childrenNS(assertion, NS.saml, 'Issuer')[0];
  const issuer = issuerEl ? pureText(issuerEl)?.trim() : null;
  if (issuer !== rt.idpEntityId) {
    throw new LoginRefused('wrong_issuer', `Issuer mismatch: expected ${rt.idpEntityId}, got ${issuer ?? '(none)'}`, 400, { expected: rt.idpEntityId, actual: issuer });
  }
  const subject = childrenNS(assertion, NS.saml, 'Subject')[0];
  const nameIdEl = subject ? childrenNS(subject, NS.saml, 'NameID')[0] : undefined;
  const nameId = nameIdEl ? pureText(nameIdEl)?.trim() : null;
  if (!nameId) throw new LoginRefused('no_name_id', 'The assertion has no NameID (the Unique User Identifier, user.userprincipalname)');

  const now = Date.now();
  const bearers = subject ? childrenNS(subject, NS.saml, 'SubjectConfirmation').filter((c) => c.getAttribute('Method') === BEARER) : [];
  if (bearers.length === 0) throw new LoginRefused('no_bearer_confirmation', 'The assertion has no bearer SubjectConfirmation');
  let bearerUntil = 0;
  let problem: LoginRefused | null = null;
  for (const b of bearers) {
    const data = childrenNS(b, NS.saml, 'SubjectConfirmationData')[0];
    const recipient = data?.getAttribute('Recipient') || null;
    const notOnOrAfter = Date.parse(data?.getAttribute('NotOnOrAfter') ?? '');
    const notBefore = data?.getAttribute('NotBefore') ? Date.parse(data.getAttribute('NotBefore')!) : null;
    const subjectInResponseTo = data?.getAttribute('InResponseTo') || null;
    if (recipient !== urls.acsUrl) {
      problem ??= new LoginRefused('wrong_recipient', `Recipient mismatch: expected ${urls.acsUrl}, got ${recipient ?? '(none)'}`, 400, { expected: urls.acsUrl, actual: recipient });
    } else if (Number.isNaN(notOnOrAfter) || now - skewMs >= notOnOrAfter) {
      problem ??= new LoginRefused('expired', `The bearer confirmation expired (NotOnOrAfter ${data?.getAttribute('NotOnOrAfter') ?? '(none)'}, now ${new Date(now).toISOString()})`);
    } else if (notBefore !== null && (Number.isNaN(notBefore) || now + skewMs < notBefore)) {
      problem ??= new LoginRefused('not_yet_valid', `The bearer confirmation is not valid before ${data?.getAttribute('NotBefore')}`);
    } else if (subjectInResponseTo !== inResponseTo) {
      problem ??= new LoginRefused('in_response_to_mismatch', `InResponseTo mismatch: the response says ${inResponseTo ?? '(none)'}, the assertion ${subjectInResponseTo ?? '(none)'}`);
    } else {
      bearerUntil = Math.max(bearerUntil, notOnOrAfter);
    }
  }
  if (bearerUntil === 0) throw problem!;
  const authnStatement = childrenNS(assertion, NS.saml, 'AuthnStatement')[0];
  if (!authnStatement) throw new LoginRefused('no_authn_statement', 'The assertion has no AuthnStatement');
  const sessionIndex = authnStatement.getAttribute('SessionIndex')?.slice(0, 256) || null;
  const conditions = childrenNS(assertion, NS.saml, 'Conditions')[0];
  const conditionsUntil = Date.parse(conditions?.getAttribute('NotOnOrAfter') ?? '');
  const until = Math.max(bearerUntil, Number.isNaN(conditionsUntil) ? 0 : conditionsUntil) + skewMs;
  return { nameId, assertionId, replayUntil: new Date(until), flow, inResponseTo, sessionIndex };
}

/** Whether a signature's KeyInfo names a certificate the stored metadata does not list (Entra's rollover). */
function carriesUnknownCertificate(doc: Document, decrypted: Element | null, known: readonly string[]): boolean {
  const bodies = new Set(known.map((pem) => certificateBody(pem)));
  const sent = [...descendantsNS(doc, NS.ds, 'X509Certificate'), ...(decrypted ? descendantsNS(decrypted, NS.ds, 'X509Certificate') : [])];
  return sent.some((x) => {
    const text = (x.textContent ?? '').replace(/\s+/g, '');
    return text.length > 0 && !bodies.has(text);
  });
}

export function checkSignatureAlgorithms(root: Document | Element): void {
  for (const m of descendantsNS(root, NS.ds, 'SignatureMethod')) {
    const alg = m.getAttribute('Algorithm') ?? '';
    if (!STRONG_SIGNATURES.has(alg)) {
      throw new LoginRefused('weak_signature_algorithm', `Signature algorithm ${alg} is refused: SHA-256 or stronger is required. ${SIGNING_SETTING}: set Signing Algorithm to SHA-256`, 400, { algorithm: alg });
    }
  }
  for (const m of descendantsNS(root, NS.ds, 'DigestMethod')) {
    // DigestMethod inside an EncryptedKey names the RSA-OAEP hash, not a signature's.
    if ((m.parentNode as Element | null)?.namespaceURI !== NS.ds) continue;
    const alg = m.getAttribute('Algorithm') ?? '';
    if (!STRONG_DIGESTS.has(alg)) {
      throw new LoginRefused('weak_signature_algorithm', `Digest algorithm ${alg} is refused: SHA-256 or stronger is required. ${SIGNING_SETTING}: set Signing Algorithm to SHA-256`, 400, { algorithm: alg });
    }
  }
}

/**
 * The XML of a SAML message (a response, a logout message, a decrypted
 * assertion), refused before any signature work when it carries a DOCTYPE,
 * or comments or processing instructions: they are invisible to exclusive
 * c14n, so they can split a signed NameID ("alice@x.com<!---->.evil"); Entra
 * sends none. XML that does not parse is `malformed`'s refusal.
 */
export function parseSamlXml(xml: string, what: string, malformed: (e: Error) => LoginRefused): Document {
  if (hasDoctype(xml)) throw new LoginRefused('doctype_refused', `The ${what} carries a DOCTYPE (DTD or entities), which is refused`);
  if (/<!--/.test(xml) || /<\?(?!xml[\s?])/i.test(xml.replace(/^\uFEFF/, ''))) {
    throw new LoginRefused('xml_comment_refused', `The ${what} carries XML comments or processing instructions, which are refused`);
  }
  try {
    return parseXmlStrict(xml);
  } catch (e) {
    throw malformed(e as Error);
  }
}

/**
 * The decrypted content must be one saml:Assertion and nothing else: the same
 * refusals as for the whole response apply inside the cipher text.
 */
function checkDecryptedAssertion(xml: string): Element {
  const adoc = parseSamlXml(
    xml,
    'encrypted assertion',
    () =>
      new LoginRefused(
        'decryption_failed',
        "The encrypted assertion did not decrypt to XML (altered cipher text, or a certificate Gatehouse does not hold). In Entra: Enterprise application → Single sign-on → Token encryption: upload the certificate from this organisation's SP metadata.",
      ),
  );
  const root = adoc.documentElement;
  if (root.namespaceURI !== NS.saml || root.localName !== 'Assertion') {
    throw new LoginRefused('malformed_response', `The EncryptedAssertion holds a ${root.localName}, not a SAML Assertion`);
  }
  const nested = [...descendantsNS(adoc, '*', 'Assertion'), ...descendantsNS(adoc, '*', 'EncryptedAssertion'), ...descendantsNS(adoc, '*', 'Response')];
  if (nested.length !== 1) throw new LoginRefused('malformed_response', 'The encrypted assertion holds nested or wrapped Assertion or Response elements');
  return root;
}

/** node-saml throws plain Errors; turn the ones it has into reasons an admin can act on. */
function classifyNodeSamlError(e: Error, audience: string): LoginRefused {
  const m = e.message ?? String(e);
  if (/audience mismatch/i.test(m)) {
    const actual = /Received: (.*)$/.exec(m)?.[1] ?? null;
    return new LoginRefused('wrong_audience', `Audience mismatch: expected ${audience}, got ${actual ?? '(none)'}`, 400, { expected: audience, actual });
  }
  if (/AudienceRestriction/i.test(m)) return new LoginRefused('wrong_audience', `${m}: expected ${audience}`, 400, { expected: audience, actual: null });
  if (/not yet valid/i.test(m)) return new LoginRefused('not_yet_valid', 'The assertion is not yet valid (NotBefore is in the future beyond the allowed clock skew)');
  if (/expired/i.test(m)) return new LoginRefused('expired', 'The assertion has expired (NotOnOrAfter passed beyond the allowed clock skew)');
  if (/subject confirmation/i.test(m)) return new LoginRefused('expired', 'No bearer confirmation of the assertion is currently valid (expired or not yet valid)');
  if (/InResponseTo/i.test(m)) {
    return new LoginRefused('unknown_in_response_to', 'InResponseTo does not match a sign-in this server started, or that sign-in expired or was already used');
  }
  if (/signature|Cannot obtain assertion|too many transforms/i.test(m)) {
    return new LoginRefused(
      'invalid_signature',
      `No valid signature covers the assertion: it is not signed by a certificate in the imported IdP metadata, or it was changed after signing. ${SIGNING_SETTING}: the active certificate must be one the metadata lists (Gatehouse refetches a metadata URL when a new one appears; after a file import, import the metadata again).`,
    );
  }
  if (/issuer/i.test(m)) return new LoginRefused('wrong_issuer', m);
  return new LoginRefused('invalid_response', `The response was refused: ${m.slice(0, 300)}`);
}
