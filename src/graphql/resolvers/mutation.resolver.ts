// Mutations: admin API keys only. The domain enforces roles (requireAdmin,
// requireDirectoryWriter), SCIM/import ownership and input rules; this edge
// turns GraphQL inputs into domain inputs and passes the actor on.
import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { Member } from '../types/member.type.js';
import { Group, Lock, Place, Share } from '../types/directory.type.js';
import { JSONObject } from '../types/scalars.js';
import { CreateMemberInput, UpdateMemberInput, type MemberAttributesInput, type MultiValueInput, type AddressInput } from '../inputs/member.input.js';
import { CreateGroupInput, CreateLockInput, CreatePlaceInput, GrantShareInput, UpdateGroupInput } from '../inputs/directory.input.js';
import { toGroupType, toLockType, toMemberType, toPlaceType, toShareType } from '../presenters.js';
import { EMPTY_ENTERPRISE, EMPTY_NAME, type JsonObject, type MemberData, type MultiValue, type Address } from '../../domain/member/member.model.js';


function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function multiValues(list: MultiValueInput[]): MultiValue[] {
  return list.map((v) => ({ value: v.value, type: v.type ?? null, display: v.display ?? null, ...(v.primary != null ? { primary: v.primary } : {}) }));
}

function addresses(list: AddressInput[]): Address[] {
  return list.map((a) => ({ ...defined({ ...a, primary: undefined }), ...(a.primary != null ? { primary: a.primary } : {}) }));
}

/** The next state of a member: absent fields keep their value, null clears. */
function applyMemberInput(current: MemberData, input: MemberAttributesInput & { userName?: string | null; active?: boolean | null }): MemberData {
  const { name, enterprise, emails, phoneNumbers, addresses: addr, metadata, ...scalars } = input;
  const next = { ...current, ...(defined(scalars) as Partial<MemberData>) };
  return {
    ...next,
    name: name === undefined ? current.name : name === null ? EMPTY_NAME : { ...current.name, ...defined(name) },
    enterprise: enterprise === undefined ? current.enterprise : enterprise === null ? EMPTY_ENTERPRISE : { ...current.enterprise, ...defined(enterprise) },
    emails: emails === undefined ? current.emails : multiValues(emails ?? []),
    phoneNumbers: phoneNumbers === undefined ? current.phoneNumbers : multiValues(phoneNumbers ?? []),
    addresses: addr === undefined ? current.addresses : addresses(addr ?? []),
    metadata: metadata === undefined ? current.metadata : ((metadata ?? {}) as JsonObject),
  };
}

@Resolver()
export class MutationResolver {
  @Mutation(() => Member, { description: 'Creates a member (source ADMIN)' })
  async createMember(@Arg('input', () => CreateMemberInput) input: CreateMemberInput, @Ctx() ctx: GraphqlContext): Promise<Member> {
    const { name, enterprise, emails, phoneNumbers, addresses: addr, metadata, userName, active, ...scalars } = input;
    const member = await ctx.domain.members.create(ctx.actor, {
      ...(defined(scalars) as object),
      userName,
      ...(active != null ? { active } : {}),
      ...(name ? { name: defined(name) } : {}),
      ...(enterprise ? { enterprise: defined(enterprise) } : {}),
      ...(emails ? { emails: multiValues(emails) } : {}),
      ...(phoneNumbers ? { phoneNumbers: multiValues(phoneNumbers) } : {}),
      ...(addr ? { addresses: addresses(addr) } : {}),
      ...(metadata ? { metadata: metadata as JsonObject } : {}),
    });
    return toMemberType(member);
  }

  @Mutation(() => Member, {
    description: 'Changes a member: absent fields keep their value, null clears. On a SCIM-provisioned member only metadata may change (FORBIDDEN field_owned_by_entra).',
  })
  async updateMember(@Arg('id', () => ID) id: string, @Arg('input', () => UpdateMemberInput) input: UpdateMemberInput, @Ctx() ctx: GraphqlContext): Promise<Member> {
    return toMemberType(await ctx.domain.members.update(ctx.actor, id, (current) => applyMemberInput(current, input)));
  }

  @Mutation(() => Member, { description: 'Deactivates a member: it may open nothing and its sessions end' })
  async deactivateMember(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<Member> {
    return toMemberType(await ctx.domain.members.update(ctx.actor, id, { active: false }, { action: 'member.deactivate' }));
  }

  @Mutation(() => Member, { description: 'Replaces (or, with merge: true, merges into) the custom metadata of a member; allowed on SCIM members too' })
  async setMemberMetadata(
    @Arg('id', () => ID) id: string,
    @Arg('metadata', () => JSONObject) metadata: Record<string, unknown>,
    @Ctx() ctx: GraphqlContext,
    @Arg('merge', () => Boolean, { nullable: true, description: 'Keep keys not given (default false: replace)' }) merge?: boolean | null,
  ): Promise<Member> {
    const m = await ctx.domain.members.update(
      ctx.actor,
      id,
      (current) => ({ ...current, metadata: (merge ? { ...current.metadata, ...metadata } : metadata) as JsonObject }),
      { action: 'member.metadata' },
    );
    return toMemberType(m);
  }

  @Mutation(() => ID, { description: 'Deletes a member; returns its id' })
  async deleteMember(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<string> {
    await ctx.domain.members.delete(ctx.actor, id);
    return id;
  }

  @Mutation(() => Group, { description: 'Creates a group (source ADMIN), optionally with members' })
  async createGroup(@Arg('input', () => CreateGroupInput) input: CreateGroupInput, @Ctx() ctx: GraphqlContext): Promise<Group> {
    const g = await ctx.domain.groups.create(ctx.actor, { displayName: input.displayName, externalId: input.externalId ?? null, memberIds: input.memberIds ?? [] });
    return toGroupType(g);
  }

  @Mutation(() => Group, { description: 'Renames a group or changes its externalId' })
  async updateGroup(@Arg('id', () => ID) id: string, @Arg('input', () => UpdateGroupInput) input: UpdateGroupInput, @Ctx() ctx: GraphqlContext): Promise<Group> {
    return toGroupType(await ctx.domain.groups.update(ctx.actor, id, { displayName: input.displayName ?? undefined, externalId: input.externalId }));
  }

  @Mutation(() => Group, { description: 'Adds members to a group. Refused on SCIM- or import-managed groups (FORBIDDEN group_managed_by_scim / group_managed_by_import)' })
  async addGroupMembers(@Arg('id', () => ID) id: string, @Arg('memberIds', () => [ID]) memberIds: string[], @Ctx() ctx: GraphqlContext): Promise<Group> {
    return toGroupType(await ctx.domain.groups.update(ctx.actor, id, { addMembers: memberIds }));
  }

  @Mutation(() => Group, { description: 'Removes members from a group. Refused on SCIM- or import-managed groups' })
  async removeGroupMembers(@Arg('id', () => ID) id: string, @Arg('memberIds', () => [ID]) memberIds: string[], @Ctx() ctx: GraphqlContext): Promise<Group> {
    return toGroupType(await ctx.domain.groups.update(ctx.actor, id, { removeMembers: memberIds }));
  }

  @Mutation(() => ID, { description: 'Deletes a group and its shares; refused on SCIM- or import-managed groups' })
  async deleteGroup(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<string> {
    await ctx.domain.groups.delete(ctx.actor, id);
    return id;
  }

  @Mutation(() => Place)
  async createPlace(@Arg('input', () => CreatePlaceInput) input: CreatePlaceInput, @Ctx() ctx: GraphqlContext): Promise<Place> {
    return toPlaceType(await ctx.domain.places.createPlace(ctx.actor, { name: input.name, address: input.address ?? null, timeZone: input.timeZone ?? null }));
  }

  @Mutation(() => ID, { description: 'Deletes a place with its locks and shares' })
  async deletePlace(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<string> {
    await ctx.domain.places.deletePlace(ctx.actor, id);
    return id;
  }

  @Mutation(() => Lock)
  async createLock(@Arg('input', () => CreateLockInput) input: CreateLockInput, @Ctx() ctx: GraphqlContext): Promise<Lock> {
    return toLockType(await ctx.domain.places.createLock(ctx.actor, { placeId: input.placeId, name: input.name }));
  }

  @Mutation(() => ID, { description: 'Deletes a lock with its shares' })
  async deleteLock(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<string> {
    await ctx.domain.places.deleteLock(ctx.actor, id);
    return id;
  }

  @Mutation(() => Share, { description: 'Grants a role on a place or lock to a member or group, optionally within a validity window' })
  async grantShare(@Arg('input', () => GrantShareInput) input: GrantShareInput, @Ctx() ctx: GraphqlContext): Promise<Share> {
    const s = await ctx.domain.shares.grant(ctx.actor, {
      memberId: input.memberId ?? null,
      groupId: input.groupId ?? null,
      placeId: input.placeId ?? null,
      lockId: input.lockId ?? null,
      role: input.role ?? undefined,
      validFrom: input.validFrom ?? null,
      validUntil: input.validUntil ?? null,
    });
    return toShareType(s);
  }

  @Mutation(() => Share, { description: 'Revokes a share; returns it as it was' })
  async revokeShare(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphqlContext): Promise<Share> {
    return toShareType(await ctx.domain.shares.revoke(ctx.actor, id));
  }
}
