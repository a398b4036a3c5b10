// Access feed and controllers: the codes of their errors (a closed list).
export type AccessErrorCode =
  /** The cursor is older than the feed keeps (ACCESS_FEED_RETENTION_DAYS): load the snapshot again. */
  | 'cursor_expired'
  /** A subscription or snapshot names no lock (or too many). */
  | 'locks_required'
  /** A controller key may read only the locks and places it was given. */
  | 'lock_not_in_scope'
  /** A controller key reads nothing but its locks' allow-lists and changes. */
  | 'controller_read_forbidden'
  /** A controller key names no lock or place, or one that does not exist. */
  | 'invalid_controller_scope';
