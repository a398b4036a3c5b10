// The shape of a parsed SCIM filter (RFC 7644 §3.4.2.2), independent of any
// edge: the SCIM edge parses text into it, the domain compiles it to SQL.

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** An attribute path: `uri:attr.sub` (uri and sub optional). Names as sent; compare case-insensitively. */
export interface AttrPath {
  readonly uri?: string;
  readonly attr: string;
  readonly sub?: string;
}

export type FilterNode =
  | { readonly type: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly type: 'not'; readonly filter: FilterNode }
  | { readonly type: 'compare'; readonly path: AttrPath; readonly op: CompareOp; readonly value: FilterValue }
  | { readonly type: 'present'; readonly path: AttrPath }
  /** `emails[type eq "work"]`: some element of a multi-valued attribute matches `filter` (paths relative to the element). */
  | { readonly type: 'valuePath'; readonly path: AttrPath; readonly filter: FilterNode };

export interface SortSpec {
  readonly path: AttrPath;
  readonly descending: boolean;
}

/** A list query of the SCIM kind: filter, sort, 1-based offset paging. */
export interface ResourceQuery {
  readonly filter?: FilterNode;
  readonly sort?: SortSpec;
  /** 1-based. */
  readonly startIndex: number;
  readonly count: number;
}
