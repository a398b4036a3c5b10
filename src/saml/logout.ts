// Single logout with the IdP (SAML 2.0 profiles §4.4), as Entra does it:
// - SP-initiated: POST /logout ends the Gatehouse session, then sends the
//   browser to the IdP's SingleLogoutService with a signed LogoutRequest
//   naming the session's NameID and SessionIndex (HTTP-Redirect, or HTTP-POST
//   when the IdP lists only that); the IdP's LogoutResponse comes back to the organisation's
//   Logout URL (/saml/DOMAIN/slo) and must answer that request, once.
// - IdP-initiated: the IdP sends a LogoutRequest (HTTP-Redirect or HTTP-POST)
//   to the Logout URL; Gatehouse ends the member's sessions in that
//   organisation and answers with a signed LogoutResponse.
// node-saml builds and signs the messages and checks their signatures; the
// rules it leaves to the application are here, as strict as for sign-in: a
// signature is required (node-saml accepts an unsigned Redirect message), with
// SHA-256 or stronger, from a certificate in the metadata; no DOCTYPE, comment
// or processing instruction; Destination is this organisation's Logout URL;
// the Issuer is the IdP's; a LogoutRequest is fresh and used once; a
// LogoutResponse answers a LogoutRequest this server sent (SamlService.completeLogout).
import zlib from 'node:zlib';
import type { Profile } from '@node-saml/node-saml';
import type { Config } from '../config.js';
import type { Domain } from '../domain/index.js';
import type { SamlRuntime } from '../domain/saml-config/saml.service.js';
import { HTTP_REDIRECT, singleLogoutActive } from '../domain/saml-config/saml-metadata.js';
import { spUrls } from '../domain/saml-config/sp-urls.js';
import { childrenNS, descendantsNS, NS, pureText } from '../domain/saml-config/xml.js';
import { LoginRefused } from './errors.js';
import { signSamlPost } from '@node-saml/node-saml/lib/saml-post-signing.js';
import { checkSignatureAlgorithms, NAMEID_UNSPECIFIED, parseSamlXml, REQUEST_TTL_MS, samlFor, SIGNING_SETTING, STRONG_SIGNATURES } from './service-provider.js';

/** Largest logout message accepted, inflated (Entra's are well under 2 KiB). */
export const LOGOUT_MAX_BYTES = 64 * 1024;
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const LOGOUT_SETTING = 'In Entra: Enterprise application → Single sign-on → Basic SAML Configuration → Logout Url';

export type LogoutMessage =
  | { readonly kind: 'request'; readonly id: string; readonly nameId: string; readonly sessionIndex: string | null; readonly replayUntil: Date; readonly relayState: string | undefined }
  | { readonly kind: 'response'; readonly inResponseTo: string; readonly relayState: string | undefined };

export type LogoutInput = { readonly binding: 'redirect'; readonly rawQuery: string } | { readonly binding: 'post'; readonly form: Record<string, unknown> };

/**
 * How the browser goes on to the IdP's SingleLogoutService: a redirect
 * (HTTP-Redirect, the signature in the query) or an auto-submitting form
 * (HTTP-POST, an enveloped signature), whichever the IdP metadata lists (logoutService).
 */
export type IdpLogoutStep = { readonly binding: 'redirect'; readonly url: string } | { readonly binding: 'post'; readonly url: string; readonly fields: Readonly<Record<string, string>> };

const PROTOCOL_ROOT = (name: string) => `/*[local-name(.)="${name}" and namespace-uri(.)="urn:oasis:names:tc:SAML:2.0:protocol"]`;

/** The signed message as an HTTP-POST form for the IdP's SingleLogoutService. */
function postStep(signing: NonNullable<SamlRuntime['signing']>, location: string, type: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState: string | undefined): IdpLogoutStep {
  const signed = signSamlPost(xml, PROTOCOL_ROOT(type === 'SAMLRequest' ? 'LogoutRequest' : 'LogoutResponse'), {
    privateKey: signing.privateKeyPem,
    publicCert: signing.certificatePem,
    signatureAlgorithm: 'sha256',
    digestAlgorithm: 'sha256',
  });
  return { binding: 'post', url: location, fields: { [type]: Buffer.from(signed, 'utf8').toString('base64'), ...(relayState ? { RelayState: relayState } : {}) } };
}

/**
 * Where the browser of a member who just signed out goes: the IdP's
 * SingleLogoutService with a LogoutRequest for the NameID and SessionIndex of
 * the assertion that started the session (SAML 2.0 core §3.7.1), signed with
 * the active SP key, its id recorded for the LogoutResponse. Null when single
 * logout is off (no SingleLogoutService, or no SP certificate to sign with).
 */
export async function logoutRequestStep(
  rt: SamlRuntime,
  config: Config,
  domain: Domain,
  member: { readonly id: string; readonly nameId: string; readonly sessionIndex: string | null },
  relayState = '',
): Promise<IdpLogoutStep | null> {
  if (!rt.slo || !singleLogoutActive(rt.slo, rt.signing !== null) || !rt.signing || !rt.idpEntityId) return null;
  const saml = samlFor(rt, config, domain, { logoutMemberId: member.id });
  const profile = { nameID: member.nameId, nameIDFormat: NAMEID_UNSPECIFIED, ...(member.sessionIndex ? { sessionIndex: member.sessionIndex } : {}) } as Profile;
  if (rt.slo.binding === HTTP_REDIRECT) return { binding: 'redirect', url: await saml.getLogoutUrlAsync(profile, relayState, {}) };
  return postStep(rt.signing, rt.slo.location, 'SAMLRequest', await saml._generateLogoutRequest(profile), relayState || undefined);
}

/**
 * Sign-out, the one use case behind POST /logout and the console's
 * /admin/api/logout: ends the session of `token` (whatever state it is in)
 * and, when it was a live session made by a SAML sign-in and single logout is
 * on, says where the browser goes next: the IdP's SingleLogoutService with a
 * signed LogoutRequest for that sign-in's NameID and SessionIndex
 * (logoutRequestStep). Null: the Gatehouse session was all there was to end.
 * A failure to build the LogoutRequest leaves the session ended and is
 * reported to `failed` (only the IdP's session is left alive). `relayState`:
 * where the browser lands once the IdP's LogoutResponse is back (a path of this site; default `/`).
 */
export async function signOut(
  config: Config,
  domain: Domain,
  token: string | undefined,
  failed: (err: unknown) => void,
  relayState = '',
): Promise<IdpLogoutStep | null> {
  const ended = token ? await domain.sessions.end(token) : undefined;
  if (!ended?.live || !ended.samlNameId) return null;
  try {
    const rt = await domain.saml.runtimeOf(ended.organizationId);
    return await logoutRequestStep(rt, config, domain, { id: ended.memberId, nameId: ended.samlNameId, sessionIndex: ended.samlSessionIndex }, relayState);
  } catch (err) {
    failed(err);
    return null;
  }
}

/** The signed LogoutResponse answering an IdP's LogoutRequest, by the binding its SingleLogoutService has; null when it lists none. */
export async function logoutResponseStep(rt: SamlRuntime, config: Config, domain: Domain, requestId: string, relayState: string | undefined, success: boolean): Promise<IdpLogoutStep | null> {
  if (!rt.slo) return null;
  const saml = samlFor(rt, config, domain, { logout: true });
  if (rt.slo.binding === HTTP_REDIRECT) return { binding: 'redirect', url: await saml.getLogoutResponseUrlAsync({ ID: requestId } as Profile, relayState ?? '', {}, success) };
  // An HTTP-POST answer is sent signed or not at all (the IdP-initiated sign-out has happened either way).
  if (!rt.signing) return null;
  return postStep(rt.signing, rt.slo.location, 'SAMLResponse', saml._generateLogoutResponse({ ID: requestId } as Profile, success), relayState);
}

const REDIRECT_PARAMS = new Set(['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature']);

/** Verifies a LogoutRequest or LogoutResponse from the IdP; throws LoginRefused (a 4xx) with the reason. */
export async function verifyLogoutMessage(rt: SamlRuntime, config: Config, domain: Domain, input: LogoutInput): Promise<LogoutMessage> {
  const urls = spUrls(config.http.publicUrl, rt.organization.domain);
  if (!rt.idpEntityId || rt.idpCertificates.length === 0) {
    throw new LoginRefused('not_configured', 'Single sign-on is not set up for this organisation yet (no identity provider metadata imported)', 409);
  }
  let xml: string;
  // HTTP-Redirect: the raw parameters, each once; the signature is over their encoded bytes.
  let raw: Map<string, string> | null = null;
  let values: Map<string, string>;
  if (input.binding === 'redirect') {
    raw = new Map();
    values = new Map();
    for (const token of input.rawQuery.split('&')) {
      if (token === '') continue;
      const eq = token.indexOf('=');
      const key = eq < 0 ? token : token.slice(0, eq);
      if (!REDIRECT_PARAMS.has(key)) continue;
      if (raw.has(key)) throw new LoginRefused('malformed_request', `The parameter ${key} appears more than once`);
      raw.set(key, token);
      let value: string;
      try {
        value = decodeURIComponent((eq < 0 ? '' : token.slice(eq + 1)).replace(/\+/g, ' '));
      } catch {
        throw new LoginRefused('malformed_request', `The parameter ${key} is not URL-encoded`);
      }
      values.set(key, value);
    }
  } else {
    values = new Map();
    for (const key of ['SAMLRequest', 'SAMLResponse', 'RelayState']) {
      const v = input.form[key];
      if (v === undefined) continue;
      if (typeof v !== 'string') throw new LoginRefused('malformed_request', `The parameter ${key} appears more than once`);
      values.set(key, v);
    }
  }
  if (values.has('SAMLRequest') === values.has('SAMLResponse')) {
    throw new LoginRefused('malformed_request', 'Expected exactly one of SAMLRequest (a LogoutRequest) or SAMLResponse (a LogoutResponse)');
  }
  const type = values.has('SAMLRequest') ? 'SAMLRequest' : 'SAMLResponse';
  const message = values.get(type)!;
  const relayState = values.get('RelayState');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(message)) throw new LoginRefused('malformed_request', `${type} is not base64`);
  const bytes = Buffer.from(message, 'base64');
  if (input.binding === 'redirect') {
    try {
      xml = zlib.inflateRawSync(bytes, { maxOutputLength: LOGOUT_MAX_BYTES }).toString('utf8');
    } catch {
      throw new LoginRefused('malformed_request', `${type} is not DEFLATE-compressed, or is larger than ${LOGOUT_MAX_BYTES} bytes`);
    }
  } else {
    if (bytes.length > LOGOUT_MAX_BYTES) throw new LoginRefused('malformed_request', `${type} is larger than ${LOGOUT_MAX_BYTES} bytes`);
    xml = bytes.toString('utf8');
  }

  // Structure, before any signature work (as for a login response).
  const doc = parseSamlXml(xml, 'message', (e) => new LoginRefused('malformed_request', `The message is not well-formed XML: ${e.message}`));
  const root = doc.documentElement;
  const expected = type === 'SAMLRequest' ? 'LogoutRequest' : 'LogoutResponse';
  if (root.namespaceURI !== NS.samlp || root.localName !== expected) {
    throw new LoginRefused('malformed_request', `Expected a samlp:${expected} in ${type}, got ${root.localName}`);
  }
  for (const name of ['LogoutRequest', 'LogoutResponse', 'Response', 'Assertion']) {
    if (descendantsNS(doc, '*', name).length !== (name === expected ? 1 : 0)) throw new LoginRefused('malformed_request', `Nested or extra ${name} elements are refused`);
  }

  // A signature is required: in the query (HTTP-Redirect) or enveloped in the root (HTTP-POST).
  const unsigned = new LoginRefused(
    'unsigned_logout',
    `The ${expected} is not signed; Gatehouse accepts only signed logout messages. ${SIGNING_SETTING}: keep the certificate active.`,
  );
  if (raw) {
    if (!values.get('Signature') || !values.get('SigAlg')) throw unsigned;
    const alg = values.get('SigAlg')!;
    if (!STRONG_SIGNATURES.has(alg)) {
      throw new LoginRefused('weak_signature_algorithm', `Signature algorithm ${alg} is refused: SHA-256 or stronger is required. ${SIGNING_SETTING}: set Signing Algorithm to SHA-256`, 400, {
        algorithm: alg,
      });
    }
    if (descendantsNS(doc, NS.ds, 'Signature').length > 0) throw new LoginRefused('malformed_request', 'An HTTP-Redirect message carries its signature in the query, not in the XML');
  } else {
    if (childrenNS(root, NS.ds, 'Signature').length !== 1 || descendantsNS(doc, NS.ds, 'Signature').length !== 1) throw unsigned;
    checkSignatureAlgorithms(doc);
  }

  const destination = root.getAttribute('Destination');
  if (destination !== urls.logoutUrl) {
    throw new LoginRefused('wrong_destination', `Destination mismatch: expected ${urls.logoutUrl}, got ${destination || '(none)'}. ${LOGOUT_SETTING} must be exactly this URL.`, 400, {
      expected: urls.logoutUrl,
      actual: destination,
    });
  }
  const issuerEl = childrenNS(root, NS.saml, 'Issuer')[0];
  const issuer = issuerEl ? pureText(issuerEl)?.trim() : null;
  if (issuer !== rt.idpEntityId) {
    throw new LoginRefused('wrong_issuer', `Issuer mismatch: expected ${rt.idpEntityId}, got ${issuer ?? '(none)'}`, 400, { expected: rt.idpEntityId, actual: issuer });
  }
  const id = root.getAttribute('ID');
  if (!id || id.length > 200) throw new LoginRefused('malformed_request', `The ${expected} has no usable ID`);

  // The signature (node-saml), over exactly the parameters the IdP signed.
  const saml = samlFor(rt, config, domain, { logout: true });
  try {
    if (raw) {
      const container: Record<string, string> = {};
      for (const [k, v] of values) container[k] = v;
      const signed = [raw.get(type), raw.get('RelayState'), raw.get('SigAlg'), raw.get('Signature')].filter((t): t is string => t !== undefined).join('&');
      await saml.validateRedirectAsync(container, signed);
    } else if (type === 'SAMLRequest') {
      await saml.validatePostRequestAsync({ SAMLRequest: message });
    } else {
      const { loggedOut } = await saml.validatePostResponseAsync({ SAMLResponse: message });
      if (!loggedOut) throw new Error('Invalid signature: not a LogoutResponse');
    }
  } catch (e) {
    throw classifyLogoutError(e as Error, expected);
  }

  const skewMs = config.saml.clockSkewSeconds * 1000;
  if (type === 'SAMLResponse') {
    const status = childrenNS(childrenNS(root, NS.samlp, 'Status')[0] ?? root, NS.samlp, 'StatusCode')[0]?.getAttribute('Value') ?? null;
    if (status !== SUCCESS) {
      throw new LoginRefused('status_not_success', `You are signed out of Gatehouse, but the identity provider answered the sign-out with status ${status ?? '(none)'}`, 403, { status });
    }
    const inResponseTo = root.getAttribute('InResponseTo');
    if (!inResponseTo) throw new LoginRefused('malformed_request', 'The LogoutResponse has no InResponseTo');
    return { kind: 'response', inResponseTo, relayState };
  }
  // A LogoutRequest must be fresh, so its id needs remembering only so long (the replay cache).
  const issued = Date.parse(root.getAttribute('IssueInstant') ?? '');
  const now = Date.now();
  if (Number.isNaN(issued) || issued > now + skewMs || issued < now - REQUEST_TTL_MS - skewMs) {
    throw new LoginRefused('expired', `The LogoutRequest was issued at ${root.getAttribute('IssueInstant') ?? '(none)'}: too old or in the future`);
  }
  const nameIdEl = childrenNS(root, NS.saml, 'NameID')[0];
  const nameId = nameIdEl ? pureText(nameIdEl)?.trim() : null;
  if (!nameId) throw new LoginRefused('no_name_id', 'The LogoutRequest has no NameID');
  // One SessionIndex: only that IdP session ends here; none (or several, read as "all"): every session of the member.
  const sessionIndexes = childrenNS(root, NS.samlp, 'SessionIndex');
  const sessionIndexEl = sessionIndexes.length === 1 ? sessionIndexes[0] : undefined;
  return {
    kind: 'request',
    id,
    nameId,
    sessionIndex: sessionIndexEl ? (pureText(sessionIndexEl)?.trim() ?? null) : null,
    replayUntil: new Date(issued + REQUEST_TTL_MS + 2 * skewMs),
    relayState,
  };
}

function classifyLogoutError(e: Error, what: string): LoginRefused {
  const m = e.message ?? String(e);
  if (/signature/i.test(m)) {
    return new LoginRefused(
      'invalid_signature',
      `No valid signature covers the ${what}: it is not signed by a certificate in the imported IdP metadata, or it was changed after signing. ${SIGNING_SETTING}.`,
    );
  }
  if (/expired|not yet valid/i.test(m)) return new LoginRefused('expired', `The ${what} is outside its validity period`);
  if (/issuer/i.test(m)) return new LoginRefused('wrong_issuer', m.slice(0, 300));
  if (/Bad status code/i.test(m)) return new LoginRefused('status_not_success', `You are signed out of Gatehouse, but the identity provider reported: ${m.slice(0, 200)}`, 403);
  return new LoginRefused('malformed_request', `The ${what} was refused: ${m.slice(0, 300)}`);
}
