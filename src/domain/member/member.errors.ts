// The member aggregate: the codes of its errors (a closed list: an edge mapping a code not here fails to compile).
export type MemberErrorCode =
  /** Another member of the organisation has this userName (case-insensitive). */
  | 'user_name_taken'
  /** A member needs a userName. */
  | 'user_name_required'
  /** The enterprise manager is no member of the organisation. */
  | 'unknown_manager'
  /** A custom attribute or extension the member cannot hold. */
  | 'unknown_attribute'
  /** Two entries of a multi-valued attribute with the same type. */
  | 'duplicate_type'
  /** More than one entry of a multi-valued attribute is primary. */
  | 'multiple_primary'
  /** An app or admin changed a field Entra owns on a SCIM member. */
  | 'field_owned_by_entra'
  /** An app or admin deleted a member Entra provisions. */
  | 'managed_by_scim'
  /** A source tried to re-activate a member another source deactivated (only that source may). */
  | 'deactivated_by_other_source'
  /** Too many concurrent changes of one member; retry. */
  | 'member_busy';
