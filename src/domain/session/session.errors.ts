// Sessions: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type SessionErrorCode =
  /** Not signed in, or the session ended. */
  | 'no_session';
