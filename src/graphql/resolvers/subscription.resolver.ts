// Subscriptions: per-lock access changes pushed to door controllers.
import { Arg, Ctx, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphqlContext } from '../context.js';
import { LockAccessEntry } from '../types/access.type.js';
import { Invalid, Unauthenticated } from '../../domain/errors.js';

interface LockAccessArgs {
  lockIds?: string[] | null;
  placeIds?: string[] | null;
  after?: string | null;
}

@Resolver()
export class SubscriptionResolver {
  @Subscription(() => LockAccessEntry, {
    description:
      'Per-lock access changes of these locks (and of every lock of these places, also added later), pushed as they commit, ' +
      'in commit order: first everything after `after` (a cursor of lockSnapshot, lockAccessChanges or an entry already ' +
      'applied), then live. Reconnect with the last applied entry\'s cursor: nothing is lost or repeated. Over WebSocket ' +
      '(graphql-ws) or Server-Sent Events (graphql-sse, Accept: text/event-stream) on /graphql with the same credentials. ' +
      'An API key revoked while subscribed ends the subscription with an UNAUTHENTICATED error before anything more is sent.',
    subscribe: ({ args, context }) => {
      const ctx = context as GraphqlContext;
      const a = args as LockAccessArgs;
      if (!ctx.hub) throw new Invalid('invalid_value', 'Subscribe over WebSocket (graphql-ws) or Server-Sent Events (graphql-sse)');
      return ctx.hub.subscribe(ctx.actor, { lockIds: a.lockIds ?? [], placeIds: a.placeIds ?? [] }, a.after ?? null);
    },
  })
  lockAccess(
    @Root() entry: LockAccessEntry | Unauthenticated,
    @Ctx() _ctx: GraphqlContext,
    @Arg('lockIds', () => [ID], { nullable: true }) _lockIds?: string[] | null,
    @Arg('placeIds', () => [ID], { nullable: true }) _placeIds?: string[] | null,
    @Arg('after', () => String, { nullable: true }) _after?: string | null,
  ): LockAccessEntry {
    // The key was revoked while subscribed (AccessHub): the subscription's last event is this error.
    if (entry instanceof Unauthenticated) throw entry;
    return entry;
  }
}
