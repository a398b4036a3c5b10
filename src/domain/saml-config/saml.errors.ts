// SAML settings and sign-ins: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type SamlErrorCode =
  /** The console sent no IdP-initiated flag. */
  | 'allow_required'
  /** Neither a metadata URL nor a metadata document was given. */
  | 'metadata_required'
  /** The federation metadata cannot be used. */
  | 'invalid_metadata'
  /** The metadata URL is not an https URL Gatehouse may fetch. */
  | 'invalid_metadata_url'
  /** Fetching the metadata URL failed. */
  | 'metadata_fetch_failed'
  /** A web page (HTML) where federation metadata was expected. */
  | 'metadata_is_html'
  /** The metadata document is larger than allowed. */
  | 'metadata_too_large'
  /** No metadata URL to refresh from. */
  | 'no_metadata_url'
  /** XML with a DOCTYPE. */
  | 'xml_doctype_refused'
  /** XML that does not parse. */
  | 'invalid_xml'
  /** Not a usable X.509 certificate. */
  | 'invalid_certificate'
  /** A certificate signed or keyed too weakly. */
  | 'weak_certificate'
  /** The active SP certificate cannot be removed. */
  | 'certificate_active'
  /** No member has the NameID as userName. */
  | 'unknown_user'
  /** The member signing in is deactivated. */
  | 'inactive_user'
  /** Only a signed-in member may do this. */
  | 'member_only'
  /** The assertion was used before. */
  | 'replayed_assertion'
  /** The AuthnRequest was answered before. */
  | 'reused_in_response_to'
  /** A LogoutResponse answers no sign-out this server started (or it expired, or was answered before). */
  | 'unknown_in_response_to'
  /** The IdP's LogoutRequest was processed before. */
  | 'replayed_logout_request';
