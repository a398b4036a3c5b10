// The SP's URLs for one organisation, as an admin pastes them into Entra's
// "Basic SAML Configuration". Fixed (README, SAML single sign-on); every edge derives them here.

export interface SpUrls {
  /** Identifier (Entity ID): exactly the SP metadata URL. */
  readonly entityId: string;
  readonly metadataUrl: string;
  /** Reply URL (Assertion Consumer Service URL, HTTP-POST). */
  readonly acsUrl: string;
  /** Sign-on URL (SP-initiated start, HTTP-Redirect). */
  readonly loginUrl: string;
  /** Logout URL (SingleLogoutService, HTTP-Redirect and HTTP-POST): LogoutRequests and LogoutResponses from the IdP. */
  readonly logoutUrl: string;
}

export function spUrls(publicUrl: string, orgDomain: string): SpUrls {
  const base = `${publicUrl}/saml/${encodeURIComponent(orgDomain)}`;
  return { entityId: `${base}/metadata`, metadataUrl: `${base}/metadata`, acsUrl: `${base}/acs`, loginUrl: `${base}/login`, logoutUrl: `${base}/slo` };
}
