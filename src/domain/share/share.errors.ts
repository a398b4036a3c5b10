// Shares: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type ShareErrorCode =
  /** A share names exactly one member or group. */
  | 'one_grantee_required'
  /** A share names exactly one place or lock. */
  | 'one_target_required'
  /** ValidFrom is not before validUntil. */
  | 'invalid_window';
