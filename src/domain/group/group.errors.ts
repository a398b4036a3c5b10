// Groups and their membership: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type GroupErrorCode =
  /** Another group of the organisation has this displayName. */
  | 'display_name_taken'
  /** A group needs a displayName. */
  | 'display_name_required'
  /** Only Entra (SCIM) changes the membership of a group it provisions. */
  | 'group_managed_by_scim'
  /** Only its import changes the membership of an import's group. */
  | 'group_managed_by_import'
  /** More members than one change may carry. */
  | 'too_many_members'
  /** A member id that is no member of the organisation. */
  | 'unknown_member';
