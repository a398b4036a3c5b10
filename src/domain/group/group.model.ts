// The group aggregate: its shape and its row mapping.
import { toDate } from '../rows.js';
import type { CountedPage, CountOption } from '../paging.js';
import type { Member, MemberSource } from '../member/member.model.js';

export interface Group {
  readonly id: string;
  readonly organizationId: string;
  readonly displayName: string;
  readonly externalId: string | null;
  readonly source: MemberSource;
  readonly version: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface GroupInput {
  readonly displayName: string;
  readonly externalId?: string | null;
  readonly memberIds?: readonly string[];
}

/** One atomic change of a group: attributes and a net membership change. */
export interface GroupChange {
  readonly displayName?: string;
  readonly externalId?: string | null;
  /** Replace the whole membership with these members. */
  readonly replaceMembers?: readonly string[];
  readonly addMembers?: readonly string[];
  readonly removeMembers?: readonly string[];
}

/**
 * The most member ids one audit event of a membership change names (in
 * `addedMemberIds` / `removedMemberIds`; the counts are always whole).
 */
export const AUDIT_MEMBER_IDS = 1000;

/**
 * What a membership change records, whoever made it (SCIM, GraphQL, the CLI,
 * the import): the counts and the ids, so the log and a member's history name
 * who joined or left.
 */
export function membershipDetail(added: readonly string[], removed: readonly string[]): Record<string, unknown> {
  return {
    membersAdded: added.length,
    membersRemoved: removed.length,
    addedMemberIds: added.slice(0, AUDIT_MEMBER_IDS),
    removedMemberIds: removed.slice(0, AUDIT_MEMBER_IDS),
  };
}

export interface GroupMemberRef {
  readonly id: string;
  readonly userName: string;
  readonly displayName: string | null;
}

export interface GroupRow {
  organization_id: string;
  id: string;
  display_name: string;
  external_id: string | null;
  source: MemberSource;
  version: number;
  created_at: string;
  updated_at: string;
}

export const GROUP_COLUMNS = 'organization_id, id, display_name, external_id, source, version, created_at, updated_at';
/** A group row as a JSON object (alias `g`), for json_agg in subselects; keys as GroupRow. */
export const GROUP_JSON = `json_build_object('organization_id', g.organization_id, 'id', g.id, 'display_name', g.display_name,
  'external_id', g.external_id, 'source', g.source, 'version', g.version, 'created_at', g.created_at, 'updated_at', g.updated_at)`;

export interface GroupListQuery extends CountOption {
  /** Case-insensitive text in displayName. */
  readonly text?: string;
  readonly source?: MemberSource;
  readonly after?: string;
  readonly first?: number;
}

export type GroupPage = CountedPage<Group>;

/** One page of one group's members (ordered by member id). */
export type GroupMembersPage = CountedPage<Member>;

export function toGroup(r: GroupRow): Group {
  return {
    id: r.id,
    organizationId: r.organization_id,
    displayName: r.display_name,
    externalId: r.external_id,
    source: r.source,
    version: r.version,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}
