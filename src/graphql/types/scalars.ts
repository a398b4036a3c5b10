// Scalars and enums shared by the schema.
import { registerEnumType } from 'type-graphql';
import { JSONObjectResolver } from 'graphql-scalars';

export { GraphQLISODateTime as DateTime } from 'type-graphql';
/** Any JSON object (member metadata, SCIM extensions, audit detail). */
export const JSONObject = JSONObjectResolver;

export enum Source {
  SCIM = 'scim',
  ADMIN = 'admin',
  IMPORT = 'import',
}
registerEnumType(Source, {
  name: 'Source',
  description: 'Who manages a member, group or share: Entra through SCIM, an administrator (API or CLI), or an Entra group import',
});

export enum ShareRole {
  USER = 'user',
  MANAGER = 'manager',
  ADMINISTRATOR = 'administrator',
}
registerEnumType(ShareRole, { name: 'ShareRole', description: 'The role a share grants on its place or lock' });

export enum ShareScope {
  PLACE = 'place',
  LOCK = 'lock',
}
registerEnumType(ShareScope, { name: 'ShareScope', description: 'A share on a place covers every lock of the place; a share on a lock covers that lock' });

export enum AccessReason {
  GRANTED = 'granted',
  MEMBER_INACTIVE = 'member_inactive',
  NO_SHARE = 'no_share',
  OUTSIDE_VALIDITY_WINDOW = 'outside_validity_window',
}
registerEnumType(AccessReason, { name: 'AccessReason', description: 'Why a member may (not) open a lock' });

export enum MemberOrder {
  USER_NAME = 'userName',
  CREATED_AT = 'createdAt',
}
registerEnumType(MemberOrder, { name: 'MemberOrder' });

export enum AccessChangeKind {
  SHARE_GRANTED = 'share_granted',
  SHARE_REVOKED = 'share_revoked',
  MEMBER_ACTIVATED = 'member_activated',
  MEMBER_DEACTIVATED = 'member_deactivated',
  MEMBER_DELETED = 'member_deleted',
  GROUP_MEMBER_ADDED = 'group_member_added',
  GROUP_MEMBER_REMOVED = 'group_member_removed',
  GROUP_DELETED = 'group_deleted',
  LOCK_DELETED = 'lock_deleted',
  PLACE_DELETED = 'place_deleted',
}
registerEnumType(AccessChangeKind, {
  name: 'AccessChangeKind',
  description: 'What changed who may open which lock',
  valuesConfig: {
    SHARE_GRANTED: { description: 'A share was granted: memberId or groupId, placeId or lockId, and its validity window are set' },
    SHARE_REVOKED: { description: 'A share was revoked (shareId, grantee and target are set)' },
    MEMBER_ACTIVATED: { description: 'A member became active again: its shares and group shares apply again' },
    MEMBER_DEACTIVATED: { description: 'A member was deactivated: it may open nothing' },
    MEMBER_DELETED: { description: 'A member was deleted' },
    GROUP_MEMBER_ADDED: { description: 'memberId joined groupId: the shares of the group now apply to the member' },
    GROUP_MEMBER_REMOVED: { description: 'memberId left groupId' },
    GROUP_DELETED: { description: 'A group and its shares were deleted' },
    LOCK_DELETED: { description: 'A lock and its shares were deleted' },
    PLACE_DELETED: { description: 'A place, its locks and their shares were deleted' },
  },
});

export enum AuditOutcome {
  SUCCESS = 'success',
  FAILURE = 'failure',
}
registerEnumType(AuditOutcome, { name: 'AuditOutcome' });

export enum SpCertificateUse {
  SIGNING = 'signing',
  NEXT = 'next',
  RETIRED = 'retired',
}
registerEnumType(SpCertificateUse, {
  name: 'SpCertificateUse',
  description: "What one of Gatehouse's SAML certificates is for (each is published in the SP metadata until removed)",
  valuesConfig: {
    SIGNING: { description: 'Signs requests now' },
    NEXT: { description: 'Made after the signing one (a rollover): give Entra the new metadata, then promote it' },
    RETIRED: { description: 'Signed before the current one: remove it once Entra no longer needs it' },
  },
});
