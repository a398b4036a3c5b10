// The mass-deprovision guard: the codes of its errors (a closed list).
export type GuardErrorCode =
  /** A threshold, minimum or window out of range. */
  'invalid_guard_setting';
