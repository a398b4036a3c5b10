// The attributes of a resource as SCIM's schemas name them (RFC 7643 §2, §7),
// with where Gatehouse keeps each one. One table per resource
// (member.schema.ts, group.schema.ts) drives the filter-to-SQL map here, and,
// at the SCIM edge, discovery (/Schemas), the reading of bodies and the
// presenters: an attribute is described once.

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'dateTime' | 'reference' | 'complex';

export interface Attribute {
  readonly name: string;
  readonly type: AttributeType;
  readonly description?: string;
  readonly multiValued?: boolean;
  readonly required?: boolean;
  /** Compared case-sensitively (filters compare lower() on both sides otherwise, as the indexes hold). */
  readonly caseExact?: boolean;
  /** Default readWrite. */
  readonly mutability?: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  /** Default `default`; `request`: returned only when asked for with `attributes`. */
  readonly returned?: 'always' | 'never' | 'default' | 'request';
  /** Default none. */
  readonly uniqueness?: 'none' | 'server' | 'global';
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly Attribute[];
  /**
   * Where it is stored, for filters and sorting: a column expression of the
   * resource's row (alias `m` for members, `g` for groups), or, for a
   * multi-valued attribute, a jsonb array column whose elements are objects
   * keyed by the sub-attribute names. Absent: not filterable here.
   */
  readonly column?: string;
  /** Multi-valued: the sub-attribute a bare `attr eq "x"` compares (default `value`). */
  readonly defaultSub?: string;
  /** Multi-valued: whether `sortBy=attr` sorts by the first element's default sub-attribute. */
  readonly sortable?: boolean;
}

/** `name` in any case among `attributes`. */
export function attributeNamed(attributes: readonly Attribute[], name: string): Attribute | undefined {
  const lower = name.toLowerCase();
  return attributes.find((a) => a.name.toLowerCase() === lower);
}
