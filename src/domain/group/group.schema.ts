// The group as SCIM's Group schema (RFC 7643 §4.2) describes it: the one table
// of its attributes and where each is kept (see ../query/attribute.ts).
import type { Attribute } from '../query/attribute.js';

export const CORE_GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export const GROUP_ATTRIBUTES: readonly Attribute[] = [
  { name: 'displayName', type: 'string', column: 'g.display_name', required: true, uniqueness: 'server', description: 'Unique name of the Group (case-insensitive)' },
  { name: 'externalId', type: 'string', column: 'g.external_id', caseExact: true },
  {
    name: 'members',
    type: 'complex',
    multiValued: true,
    subAttributes: [
      { name: 'value', type: 'string', mutability: 'immutable' },
      { name: 'display', type: 'string', mutability: 'readOnly' },
      // Only Users are members here (Entra provisions no nested groups).
      { name: 'type', type: 'string', mutability: 'immutable', canonicalValues: ['User'] },
      { name: '$ref', type: 'reference', referenceTypes: ['User'] },
    ],
  },
];
