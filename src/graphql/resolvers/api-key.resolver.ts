// API keys (admin keys and console admins): list, create (shown once), revoke.
// A controller key reads only the allow-lists and changes of its locks and places.
import { Arg, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { DateTime } from '../types/scalars.js';

@ObjectType('ApiKey', { simpleResolvers: true, description: 'An API key for an internal app (never its secret)' })
export class ApiKeyType {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { description: 'reader, admin or controller' }) role!: string;
  @Field(() => [ID], { description: 'Controller keys: the locks they may read' }) lockIds!: string[];
  @Field(() => [ID], { description: 'Controller keys: the places (all their locks, also added later) they may read' }) placeIds!: string[];
  @Field(() => String, { description: 'The first characters, to recognise it' }) prefix!: string;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime, { nullable: true }) lastUsedAt!: Date | null;
  @Field(() => DateTime, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'A new API key: `key` is shown in this answer only' })
export class CreatedApiKey {
  @Field(() => String) key!: string;
  @Field(() => ApiKeyType) apiKey!: ApiKeyType;
}

@Resolver()
export class ApiKeyResolver {
  @Query(() => [ApiKeyType], { description: 'The organisation\'s API keys (admins only)' })
  async apiKeys(@Ctx() ctx: GraphqlContext): Promise<ApiKeyType[]> {
    return ctx.domain.apiKeys.list(ctx.actor);
  }

  @Mutation(() => CreatedApiKey, {
    description:
      'Creates an API key (admins only). Role reader, admin, or controller: a controller key names the locks and places whose ' +
      'allow-lists and changes it may read (lockSnapshot, lockAccessChanges, the lockAccess subscription) and nothing else.',
  })
  async createApiKey(
    @Ctx() ctx: GraphqlContext,
    @Arg('name', () => String) name: string,
    @Arg('role', () => String) role: string,
    @Arg('lockIds', () => [ID], { nullable: true }) lockIds?: string[] | null,
    @Arg('placeIds', () => [ID], { nullable: true }) placeIds?: string[] | null,
  ): Promise<CreatedApiKey> {
    return ctx.domain.apiKeys.create(ctx.actor, { name, role, lockIds: lockIds ?? [], placeIds: placeIds ?? [] });
  }

  @Mutation(() => ApiKeyType, { description: 'Revokes an API key at once (admins only)' })
  async revokeApiKey(@Ctx() ctx: GraphqlContext, @Arg('id', () => ID) id: string): Promise<ApiKeyType> {
    return ctx.domain.apiKeys.revoke(ctx.actor, id);
  }
}
