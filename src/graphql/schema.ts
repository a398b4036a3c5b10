// Builds the executable schema from the resolver classes (code-first).
import { buildSchema } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { QueryResolver } from './resolvers/query.resolver.js';
import { MutationResolver } from './resolvers/mutation.resolver.js';
import { GuardResolver, HeldChangeRelationsResolver } from './resolvers/guard.resolver.js';
import { ScimResolver, ScimStatusFieldsResolver } from './resolvers/scim.resolver.js';
import { ImportResolver } from './resolvers/import.resolver.js';
import { EventsResolver } from './resolvers/events.resolver.js';
import { ApiKeyResolver } from './resolvers/api-key.resolver.js';
import { SubscriptionResolver } from './resolvers/subscription.resolver.js';
import {
  GroupRelationsResolver,
  LockRelationsResolver,
  MemberRelationsResolver,
  PlaceRelationsResolver,
  ShareRelationsResolver,
  AuditEventRelationsResolver,
} from './resolvers/relations.resolver.js';

let built: Promise<GraphQLSchema> | undefined;

/** The schema, built once per process (src/server.ts starts it while the database opens). */
export function buildGraphqlSchema(): Promise<GraphQLSchema> {
  return (built ??= generateSchema());
}

function generateSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [QueryResolver, MutationResolver, ImportResolver, GuardResolver, HeldChangeRelationsResolver, ScimResolver, ScimStatusFieldsResolver, EventsResolver, ApiKeyResolver, SubscriptionResolver, MemberRelationsResolver, GroupRelationsResolver, PlaceRelationsResolver, LockRelationsResolver, ShareRelationsResolver, AuditEventRelationsResolver],
    // Inputs are checked by the domain (one set of rules for every edge).
    validate: false,
    // Subscriptions bring their own source (access-stream.ts); type-graphql still wants a PubSub to exist.
    pubSub: {
      publish: () => undefined,
      subscribe: () => {
        throw new Error('no topic-based subscriptions');
      },
    },
  });
}
