// A member: every SCIM core and enterprise attribute, custom metadata and
// extensions. Relations (groups, shares, manager, access) are field resolvers
// in resolvers/member.resolver.ts, batched by DataLoader.
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTime, JSONObject, Source } from './scalars.js';

@ObjectType({ simpleResolvers: true, description: 'SCIM name parts' })
export class MemberName {
  @Field(() => String, { nullable: true }) givenName!: string | null;
  @Field(() => String, { nullable: true }) familyName!: string | null;
  @Field(() => String, { nullable: true }) middleName!: string | null;
  @Field(() => String, { nullable: true }) formatted!: string | null;
  @Field(() => String, { nullable: true }) honorificPrefix!: string | null;
  @Field(() => String, { nullable: true }) honorificSuffix!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'One entry of a multi-valued SCIM attribute (emails, phoneNumbers)' })
export class MultiValue {
  @Field(() => String) value!: string;
  @Field(() => String, { nullable: true }) type!: string | null;
  @Field(() => Boolean) primary!: boolean;
  @Field(() => String, { nullable: true }) display!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A SCIM address' })
export class Address {
  @Field(() => String, { nullable: true }) type!: string | null;
  @Field(() => String, { nullable: true }) formatted!: string | null;
  @Field(() => String, { nullable: true }) streetAddress!: string | null;
  @Field(() => String, { nullable: true }) locality!: string | null;
  @Field(() => String, { nullable: true }) region!: string | null;
  @Field(() => String, { nullable: true }) postalCode!: string | null;
  @Field(() => String, { nullable: true }) country!: string | null;
  @Field(() => Boolean) primary!: boolean;
}

@ObjectType({ simpleResolvers: true, description: 'The SCIM enterprise extension (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User)' })
export class Enterprise {
  @Field(() => String, { nullable: true }) employeeNumber!: string | null;
  @Field(() => String, { nullable: true }) costCenter!: string | null;
  @Field(() => String, { nullable: true }) organization!: string | null;
  @Field(() => String, { nullable: true }) division!: string | null;
  @Field(() => String, { nullable: true }) department!: string | null;
  @Field(() => ID, { nullable: true, description: 'Id of the manager (see Member.manager)' }) managerId!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'A person of the organisation' })
export class Member {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'Unique in the organisation, case-insensitively (Entra: userPrincipalName)' }) userName!: string;
  @Field(() => String, { nullable: true, description: "Entra's id for this member (objectId)" }) externalId!: string | null;
  @Field(() => Boolean, { description: 'Inactive members may open nothing' }) active!: boolean;
  @Field(() => String, { nullable: true }) displayName!: string | null;
  @Field(() => String, { nullable: true }) nickName!: string | null;
  @Field(() => String, { nullable: true }) profileUrl!: string | null;
  @Field(() => String, { nullable: true }) title!: string | null;
  @Field(() => String, { nullable: true }) userType!: string | null;
  @Field(() => String, { nullable: true }) preferredLanguage!: string | null;
  @Field(() => String, { nullable: true }) locale!: string | null;
  @Field(() => String, { nullable: true }) timezone!: string | null;
  @Field(() => MemberName) name!: MemberName;
  @Field(() => [MultiValue]) emails!: MultiValue[];
  @Field(() => [MultiValue]) phoneNumbers!: MultiValue[];
  @Field(() => [Address]) addresses!: Address[];
  @Field(() => Enterprise) enterprise!: Enterprise;
  @Field(() => JSONObject, { description: 'Custom attributes (Entra `metadata.city` arrives as `{ "city": ... }`)' }) metadata!: Record<string, unknown>;
  @Field(() => JSONObject, { description: 'Custom SCIM extension namespaces: URN → attributes' }) extensions!: Record<string, unknown>;
  @Field(() => Source, { description: 'SCIM-provisioned members are owned by Entra: only their metadata may be changed here' }) source!: Source;
  @Field(() => Source, { nullable: true, description: 'Which source deactivated the member; only that source may re-activate it (null while active)' })
  deactivatedBy!: Source | null;
  @Field(() => Int, { description: 'Increases with every change' }) version!: number;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime) updatedAt!: Date;
}
