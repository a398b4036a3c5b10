// Entra group imports: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type ImportErrorCode =
  /** Another integration of the organisation has this name. */
  | 'import_name_taken'
  /** The integration was deleted or taken over during the run. */
  | 'import_lease_lost'
  /** This process has no Microsoft Graph client. */
  | 'import_not_configured'
  /** The Entra group has more users than one integration imports. */
  | 'import_too_many_users'
  /** The stored client secret cannot be decrypted with this master key. */
  | 'import_secret_unreadable'
  /** Sharing access needs a place or lock. */
  | 'targets_required'
  /** "import as users only" shares nothing. */
  | 'targets_not_allowed'
  /** The client secret is expired or wrong. */
  | 'entra_secret_invalid'
  /** The application lacks GroupMember.Read.All / User.Read.All consent. */
  | 'entra_consent_missing'
  /** Microsoft Graph kept answering 429. */
  | 'entra_throttled'
  /** Microsoft Graph answered 5xx. */
  | 'entra_unavailable'
  /** Entra has no such group. */
  | 'entra_group_not_found'
  /** Entra has no such tenant. */
  | 'entra_tenant_not_found'
  /** Entra has no such application in the tenant. */
  | 'entra_client_not_found'
  /** Microsoft Graph did not answer in time. */
  | 'entra_timeout'
  /** Microsoft Graph could not be reached. */
  | 'entra_unreachable'
  /** Microsoft Graph refused the request. */
  | 'entra_graph_failed'
  /** Entra refused to issue a token. */
  | 'entra_token_failed';
