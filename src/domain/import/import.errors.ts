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
  | 'entra_token_failed'
  /** This Gatehouse has no multi-tenant application of its own (ENTRA_APP_CLIENT_ID). */
  | 'entra_app_not_configured'
  /** "Authorize with Microsoft" starts from a console session (its answer comes back to that browser). */
  | 'entra_consent_needs_session'
  /** The consent answer's state is unknown, used, expired or of another organisation. */
  | 'entra_consent_state_invalid'
  /** The consent answer came back in another session than the one that started it. */
  | 'entra_consent_session_mismatch'
  /** The Entra admin declined, or Microsoft refused the consent. */
  | 'entra_consent_denied'
  /** Gatehouse's application is used in a tenant no admin of the organisation authorised. */
  | 'entra_tenant_not_consented'
  /** An integration on Gatehouse's application has no client secret to set. */
  | 'import_uses_gatehouse_app';
