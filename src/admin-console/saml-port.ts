// What the console needs from the SAML domain service (src/domain/saml, built
// in parallel). Typed structurally and looked up on the Domain at run time, so
// this edge compiles and runs whether or not SAML is part of the build: without
// it the SAML panel shows the fixed URLs and says import is unavailable.
import type { Actor, Domain } from '../domain/index.js';

export interface ConsoleCertificate {
  readonly fingerprint: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly daysLeft: number;
  readonly warning: string | null;
}

export interface ConsoleSamlSettings {
  readonly configured: boolean;
  readonly idpEntityId: string | null;
  readonly ssoUrls: readonly { readonly binding: string; readonly location: string }[];
  readonly metadataUrl: string | null;
  readonly metadataFetchedAt: Date | null;
  readonly lastRefreshAt: Date | null;
  readonly lastRefreshError: string | null;
  readonly allowIdpInitiated: boolean;
  readonly idpCertificates: readonly ConsoleCertificate[];
  readonly spCertificates: readonly (ConsoleCertificate & { readonly id: string; readonly active: boolean })[];
  readonly warnings: readonly string[];
}

export interface SamlConsolePort {
  settings(actor: Actor): Promise<ConsoleSamlSettings>;
  importMetadataUrl(actor: Actor, url: string): Promise<ConsoleSamlSettings>;
  importMetadataXml(actor: Actor, xml: string): Promise<ConsoleSamlSettings>;
  refreshMetadata(actor: Actor): Promise<ConsoleSamlSettings>;
  generateCertificate(actor: Actor, commonName: string): Promise<unknown>;
}

export function samlPortOf(domain: Domain): SamlConsolePort | undefined {
  const saml = (domain as unknown as { saml?: SamlConsolePort }).saml;
  return saml && typeof saml.settings === 'function' ? saml : undefined;
}
