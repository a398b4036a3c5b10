// The per-request GraphQL context: who acts, the domain, and fresh loaders.
import type { Actor } from '../domain/actor.js';
import type { Domain } from '../domain/index.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface GraphqlContext {
  readonly actor: Actor;
  readonly domain: Domain;
  readonly loaders: Loaders;
}

export function contextFor(domain: Domain, actor: Actor): GraphqlContext {
  return { actor, domain, loaders: createLoaders(domain, actor) };
}
