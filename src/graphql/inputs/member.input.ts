// Member inputs. Absent fields keep their value on update; null clears them.
import { Field, ID, InputType } from 'type-graphql';
import { JSONObject, MemberOrder, Source } from '../types/scalars.js';

@InputType()
export class MemberNameInput {
  @Field(() => String, { nullable: true }) givenName?: string | null;
  @Field(() => String, { nullable: true }) familyName?: string | null;
  @Field(() => String, { nullable: true }) middleName?: string | null;
  @Field(() => String, { nullable: true }) formatted?: string | null;
  @Field(() => String, { nullable: true }) honorificPrefix?: string | null;
  @Field(() => String, { nullable: true }) honorificSuffix?: string | null;
}

@InputType()
export class MultiValueInput {
  @Field(() => String) value!: string;
  @Field(() => String, { nullable: true }) type?: string | null;
  @Field(() => Boolean, { nullable: true }) primary?: boolean | null;
  @Field(() => String, { nullable: true }) display?: string | null;
}

@InputType()
export class AddressInput {
  @Field(() => String, { nullable: true }) type?: string | null;
  @Field(() => String, { nullable: true }) formatted?: string | null;
  @Field(() => String, { nullable: true }) streetAddress?: string | null;
  @Field(() => String, { nullable: true }) locality?: string | null;
  @Field(() => String, { nullable: true }) region?: string | null;
  @Field(() => String, { nullable: true }) postalCode?: string | null;
  @Field(() => String, { nullable: true }) country?: string | null;
  @Field(() => Boolean, { nullable: true }) primary?: boolean | null;
}

@InputType()
export class EnterpriseInput {
  @Field(() => String, { nullable: true }) employeeNumber?: string | null;
  @Field(() => String, { nullable: true }) costCenter?: string | null;
  @Field(() => String, { nullable: true }) organization?: string | null;
  @Field(() => String, { nullable: true }) division?: string | null;
  @Field(() => String, { nullable: true }) department?: string | null;
  @Field(() => ID, { nullable: true, description: 'Id of another member of the organisation' }) managerId?: string | null;
}

@InputType({ description: 'Attributes of a member. On update, absent fields keep their value and null clears them.' })
export class MemberAttributesInput {
  @Field(() => String, { nullable: true }) externalId?: string | null;
  @Field(() => String, { nullable: true }) displayName?: string | null;
  @Field(() => String, { nullable: true }) nickName?: string | null;
  @Field(() => String, { nullable: true }) profileUrl?: string | null;
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => String, { nullable: true }) userType?: string | null;
  @Field(() => String, { nullable: true }) preferredLanguage?: string | null;
  @Field(() => String, { nullable: true }) locale?: string | null;
  @Field(() => String, { nullable: true }) timezone?: string | null;
  @Field(() => MemberNameInput, { nullable: true }) name?: MemberNameInput | null;
  @Field(() => [MultiValueInput], { nullable: true }) emails?: MultiValueInput[] | null;
  @Field(() => [MultiValueInput], { nullable: true }) phoneNumbers?: MultiValueInput[] | null;
  @Field(() => [AddressInput], { nullable: true }) addresses?: AddressInput[] | null;
  @Field(() => EnterpriseInput, { nullable: true }) enterprise?: EnterpriseInput | null;
  @Field(() => JSONObject, { nullable: true }) metadata?: Record<string, unknown> | null;
}

@InputType()
export class CreateMemberInput extends MemberAttributesInput {
  @Field(() => String, { description: 'Unique in the organisation, case-insensitively' }) userName!: string;
  @Field(() => Boolean, { nullable: true, description: 'Default true' }) active?: boolean | null;
}

@InputType()
export class UpdateMemberInput extends MemberAttributesInput {
  @Field(() => String, { nullable: true }) userName?: string | null;
  @Field(() => Boolean, { nullable: true }) active?: boolean | null;
}

@InputType()
export class MemberFilter {
  @Field(() => String, { nullable: true, description: 'Case-insensitive text in userName, displayName, name or emails' }) text?: string | null;
  @Field(() => Boolean, { nullable: true }) active?: boolean | null;
  @Field(() => Source, { nullable: true }) source?: Source | null;
  @Field(() => ID, { nullable: true, description: 'Only members of this group' }) groupId?: string | null;
}

export { MemberOrder };
