// The organisation, its SCIM and SAML settings, and its audit log.
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { AuditOutcome, DateTime, JSONObject, SpCertificateUse } from './scalars.js';

@ObjectType({ simpleResolvers: true })
export class Organization {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { description: 'URL slug used in SAML URLs' }) domain!: string;
  @Field(() => DateTime) createdAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'SCIM provisioning settings; a token is shown once (CLI, console, rotateScimToken) and never here' })
export class ScimStatus {
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => String, { nullable: true, description: 'First characters of the token, to recognise it' }) tokenPrefix!: string | null;
  @Field(() => DateTime, { nullable: true }) tokenCreatedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'When Entra last used the current token (recorded at most once a minute)' }) tokenLastUsedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'The token a rotation replaced, still accepted until previousTokenExpiresAt (null when none, revoked or expired)' })
  previousTokenPrefix!: string | null;
  @Field(() => DateTime, { nullable: true }) previousTokenCreatedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'When Entra last used the previous token: later than tokenLastUsedAt means Entra still has the old one' })
  previousTokenLastUsedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'When the previous token stops working (the end of the overlap)' }) previousTokenExpiresAt!: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'A new SCIM token from a rotation: shown this once, never again' })
export class ScimTokenRotation {
  @Field(() => String, { description: 'The new Secret Token to paste into Entra' }) token!: string;
  @Field(() => String, { description: 'The Tenant URL to paste into Entra' }) tenantUrl!: string;
  @Field(() => ScimStatus) status!: ScimStatus;
}

@ObjectType({
  simpleResolvers: true,
  description: "The guided Entra set-up's checklist, from what Gatehouse has seen: when each step was first seen (null: not yet)",
})
export class SetupProgress {
  @Field(() => DateTime, { nullable: true, description: 'A SCIM token exists' }) scimTokenCreatedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: "Entra's Test Connection, or any request with the current token: the last one seen" })
  scimConnectedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'The first provisioning cycle: the first user or group Entra created' }) firstProvisionedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: "Entra's Federation Metadata imported" }) metadataImportedAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: "Gatehouse's SAML certificate generated" }) spCertificateAt!: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'The first successful SAML sign-in (test sign-ins do not count)' }) firstSignInAt!: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'An X.509 certificate (public part only)' })
export class Certificate {
  @Field(() => String, { nullable: true }) subject!: string | null;
  @Field(() => String, { description: 'SHA-256 fingerprint, hex' }) fingerprintSha256!: string;
  @Field(() => DateTime, { nullable: true }) notBefore!: Date | null;
  @Field(() => DateTime, { nullable: true }) notAfter!: Date | null;
  @Field(() => Int, { nullable: true, description: 'Whole days until notAfter (negative once expired)' }) daysLeft!: number | null;
  @Field(() => String, { nullable: true, description: 'Set when the certificate has ended or ends within 30 days' }) warning!: string | null;
}

@ObjectType({ simpleResolvers: true, description: "One of Gatehouse's own SAML certificates (public part): all are published in the SP metadata until removed" })
export class SpCertificate extends Certificate {
  @Field(() => ID, { description: 'For promoting or removing it' }) id!: string;
  @Field(() => SpCertificateUse) use!: SpCertificateUse;
}

@ObjectType({ simpleResolvers: true, description: 'SAML single sign-on settings: the URLs to give Entra, and what Entra gave us. Never private keys.' })
export class SamlSettings {
  @Field(() => String, { description: 'Identifier (Entity ID) to paste into Entra' }) entityId!: string;
  @Field(() => String, { description: 'Reply URL (Assertion Consumer Service URL)' }) replyUrl!: string;
  @Field(() => String, { description: 'Sign-on URL' }) signOnUrl!: string;
  @Field(() => String, { description: 'SP metadata URL' }) metadataUrl!: string;
  @Field(() => String, { nullable: true }) idpEntityId!: string | null;
  @Field(() => String, { nullable: true }) idpSsoUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'Federation metadata URL the IdP settings are fetched from' }) idpMetadataUrl!: string | null;
  @Field(() => DateTime, { nullable: true }) idpMetadataFetchedAt!: Date | null;
  @Field(() => [Certificate], { description: 'IdP signing certificates (several during a rollover)' }) idpCertificates!: Certificate[];
  @Field(() => Certificate, { nullable: true, description: 'Our signing certificate (public part)' }) spCertificate!: Certificate | null;
  @Field(() => [SpCertificate], { description: 'All our certificates: the signing one first, then the next (rollover) and retired ones, newest first' })
  spCertificates!: SpCertificate[];
  @Field(() => Boolean) idpInitiatedAllowed!: boolean;
  @Field(() => Boolean, { description: "Entra's Federation Metadata has been imported" }) configured!: boolean;
  @Field(() => [String], { description: 'Every SingleSignOnService location the metadata lists (idpSsoUrl is the HTTP-Redirect one)' }) idpSsoUrls!: string[];
  @Field(() => DateTime, { nullable: true, description: 'When the metadata was last refreshed from idpMetadataUrl' }) idpMetadataRefreshedAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Why the last refresh from idpMetadataUrl failed (null when it worked)' }) idpMetadataRefreshError!: string | null;
  @Field(() => Boolean, { description: 'Assertions that are not encrypted are refused' }) encryptionRequired!: boolean;
  @Field(() => String, { description: 'Logout Url to paste into Entra (our SingleLogoutService)' }) logoutUrl!: string;
  @Field(() => String, { nullable: true, description: "The IdP's SingleLogoutService that sign-out goes on to (HTTP-Redirect when listed, else HTTP-POST); null when its metadata lists none" })
  idpLogoutUrl!: string | null;
  @Field(() => String, { nullable: true, description: 'The SAML binding of idpLogoutUrl (urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect or HTTP-POST)' }) idpLogoutBinding!: string | null;
  @Field(() => Boolean, {
    description: 'Single logout is on: signing out of Gatehouse also ends the Entra session (a signed LogoutRequest to idpLogoutUrl); needs idpLogoutUrl and a signing SP certificate',
  })
  singleLogoutActive!: boolean;
  @Field(() => [String], { description: 'Certificates ending soon, a failed refresh, missing configuration' }) warnings!: string[];
}

@ObjectType({ simpleResolvers: true, description: 'A member, group, place or lock an audit event names, by its name now' })
export class AuditSubject {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'member, group, place or lock' }) kind!: string;
  @Field(() => String, { description: "A member's userName, a group's displayName, a place's or lock's name" }) label!: string;
  @Field(() => String, { nullable: true, description: "A member's display name" }) sub!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'One entry of the provisioning and sign-in log' })
export class AuditEvent {
  @Field(() => ID) id!: string;
  @Field(() => DateTime) at!: Date;
  @Field(() => String, { description: 'system, api_key, scim, import, member or admin (a console admin)' }) actorKind!: string;
  @Field(() => String, { nullable: true }) actorId!: string | null;
  @Field(() => String, { nullable: true }) actorLabel!: string | null;
  @Field(() => String, { description: 'e.g. member.create, group.update, scim.enable' }) action!: string;
  @Field(() => AuditOutcome) outcome!: AuditOutcome;
  @Field(() => String, { nullable: true }) resourceType!: string | null;
  @Field(() => String, { nullable: true }) resourceId!: string | null;
  @Field(() => String, { nullable: true }) resourceLabel!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
  @Field(() => JSONObject, { description: 'What was sent and what changed; never secrets' }) detail!: Record<string, unknown>;
}
