// Places and locks: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type PlaceErrorCode =
  /** Not an IANA time zone. */
  | 'invalid_time_zone';
