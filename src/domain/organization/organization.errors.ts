// Organisations and their SCIM credential: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type OrganizationErrorCode =
  /** Another organisation has this domain. */
  | 'domain_taken'
  /** Not a domain slug (lowercase letters, digits, hyphens). */
  | 'invalid_domain'
  /** The SCIM token is missing, wrong, rotated, or SCIM is disabled. */
  | 'invalid_token'
  /** A rotation's overlap that is not a duration from 1 minute to 30 days. */
  | 'invalid_overlap'
  /** SCIM is disabled: there is no token to rotate. */
  | 'scim_disabled';
