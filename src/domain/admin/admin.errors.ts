// Console administrators: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type AdminErrorCode =
  /** The console sent no admin flag. */
  | 'admin_required'
  /** An admin may not revoke its own admin role. */
  | 'cannot_revoke_self'
  /** The one-time admin link is unknown, used or expired. */
  | 'invalid_bootstrap_link'
  /** Not a userName an admin can have. */
  | 'invalid_user_name'
  /** The member is deactivated. */
  | 'member_inactive';
