// Organisations and their SCIM credential: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type OrganizationErrorCode =
  /** Another organisation has this domain. */
  | 'domain_taken'
  /** Not a domain slug (lowercase letters, digits, hyphens). */
  | 'invalid_domain'
  /** The SCIM token is missing, wrong, rotated, or SCIM is disabled. */
  | 'invalid_token';
