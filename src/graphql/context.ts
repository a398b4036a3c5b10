// The per-request GraphQL context: who acts, the domain, and fresh loaders.
import type { Actor } from '../domain/actor.js';
import type { Domain } from '../domain/index.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { AccessHub } from './access-stream.js';

export interface GraphqlContext {
  readonly actor: Actor;
  readonly domain: Domain;
  readonly loaders: Loaders;
  /** PUBLIC_URL: the base of URLs handed out (SAML settings). */
  readonly publicUrl: string;
  /** Push of per-lock changes (subscriptions over graphql-ws and graphql-sse only). */
  readonly hub?: AccessHub;
  /** The request's "now": fields that default their `at` to now share it (and their batch). */
  readonly now: Date;
  /** The session cookie when the caller is a console session (binds an admin consent to it). */
  readonly sessionToken?: string;
}

export function contextFor(domain: Domain, actor: Actor, publicUrl = 'http://localhost:3000'): GraphqlContext {
  return { actor, domain, loaders: createLoaders(domain, actor), publicUrl, now: new Date() };
}
