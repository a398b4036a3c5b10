// The member as SCIM's User schema (RFC 7643 §4.1) and the enterprise
// extension (§4.3) describe it: the one table of its attributes and where each
// is kept (see ../query/attribute.ts). MemberData uses the schema's names
// (`enterprise.managerId` for the manager's value).
import type { Attribute } from '../query/attribute.js';

export const CORE_USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const str = (name: string, column: string, more: Partial<Attribute> = {}): Attribute => ({ name, type: 'string', column, ...more });
const readOnly = { mutability: 'readOnly' } as const;

/** Sub-attributes of emails and phone numbers: `type` takes these canonical values (any other is kept as sent). */
const multiSubs = (types: readonly string[]): Attribute[] => [
  { name: 'value', type: 'string' },
  { name: 'display', type: 'string' },
  { name: 'type', type: 'string', canonicalValues: types },
  { name: 'primary', type: 'boolean' },
];

export const NAME_ATTRIBUTES: readonly Attribute[] = [
  str('givenName', 'm.given_name'),
  str('familyName', 'm.family_name'),
  str('middleName', 'm.middle_name'),
  str('formatted', 'm.formatted_name'),
  str('honorificPrefix', 'm.honorific_prefix'),
  str('honorificSuffix', 'm.honorific_suffix'),
];

export const ADDRESS_ATTRIBUTES: readonly Attribute[] = [
  { name: 'type', type: 'string', canonicalValues: ['work', 'home', 'other'] },
  { name: 'formatted', type: 'string' },
  { name: 'streetAddress', type: 'string' },
  { name: 'locality', type: 'string' },
  { name: 'region', type: 'string' },
  { name: 'postalCode', type: 'string' },
  { name: 'country', type: 'string' },
  { name: 'primary', type: 'boolean' },
];

/** The core User attributes Gatehouse keeps (besides `id` and `meta`, common to every resource). */
export const USER_ATTRIBUTES: readonly Attribute[] = [
  str('userName', 'm.user_name', { required: true, uniqueness: 'server', description: 'Unique identifier for the User (case-insensitive)' }),
  str('externalId', 'm.external_id', { caseExact: true }),
  { name: 'name', type: 'complex', subAttributes: NAME_ATTRIBUTES },
  str('displayName', 'm.display_name'),
  str('nickName', 'm.nick_name'),
  { name: 'profileUrl', type: 'reference', referenceTypes: ['external'], column: 'm.profile_url', caseExact: true },
  str('title', 'm.title'),
  str('userType', 'm.user_type'),
  str('preferredLanguage', 'm.preferred_language'),
  str('locale', 'm.locale'),
  str('timezone', 'm.timezone'),
  { name: 'active', type: 'boolean', column: 'm.active' },
  { name: 'emails', type: 'complex', multiValued: true, column: 'm.emails', sortable: true, subAttributes: multiSubs(['work', 'home', 'other']) },
  { name: 'phoneNumbers', type: 'complex', multiValued: true, column: 'm.phone_numbers', sortable: true, subAttributes: multiSubs(['work', 'home', 'mobile', 'fax', 'pager', 'other']) },
  { name: 'addresses', type: 'complex', multiValued: true, column: 'm.addresses', defaultSub: 'formatted', subAttributes: ADDRESS_ATTRIBUTES },
  // Read-only (RFC 7643 §4.1.2), and returned only when asked for (`attributes=groups`):
  // Entra never reads it, and its lookups stay one statement.
  {
    name: 'groups',
    type: 'complex',
    multiValued: true,
    mutability: 'readOnly',
    returned: 'request',
    description: 'Groups the User belongs to (read-only; returned when requested with attributes=groups)',
    subAttributes: [
      { name: 'value', type: 'string', ...readOnly },
      { name: '$ref', type: 'reference', referenceTypes: ['Group'], ...readOnly },
      { name: 'display', type: 'string', ...readOnly },
      { name: 'type', type: 'string', canonicalValues: ['direct'], ...readOnly },
    ],
  },
];

/** The enterprise extension's attributes. */
export const ENTERPRISE_ATTRIBUTES: readonly Attribute[] = [
  str('employeeNumber', 'm.employee_number'),
  str('costCenter', 'm.cost_center'),
  str('organization', 'm.enterprise_organization'),
  str('division', 'm.division'),
  str('department', 'm.department'),
  {
    name: 'manager',
    type: 'complex',
    subAttributes: [
      { name: 'value', type: 'string' },
      { name: '$ref', type: 'reference', referenceTypes: ['User'] },
      { name: 'displayName', type: 'string', ...readOnly },
    ],
  },
];
