// Who acts. Every use case takes the actor first; its organisation scopes
// every query, and its kind and role decide what it may do.
import { Forbidden } from './errors.js';

export type ApiKeyRole = 'reader' | 'admin' | 'controller';

/** What a controller key may read: these locks, and every lock of these places. */
export interface ControllerScope {
  readonly lockIds: readonly string[];
  readonly placeIds: readonly string[];
}

export type Actor =
  /** Gatehouse itself or an operator at the CLI: every right in the organisation. */
  | { readonly kind: 'system'; readonly organizationId: string; readonly label: string }
  /** An internal app holding an API key. */
  | {
      readonly kind: 'api_key';
      readonly organizationId: string;
      readonly id: string;
      readonly label: string;
      readonly role: ApiKeyRole;
      /** For the controller role: the locks and places it may read (and nothing else). */
      readonly scope?: ControllerScope;
    }
  /** Entra (or another SCIM client) holding the organisation's SCIM token. */
  | { readonly kind: 'scim'; readonly organizationId: string; readonly label: string }
  /** The Entra group import of one integration. */
  | { readonly kind: 'import'; readonly organizationId: string; readonly id: string; readonly label: string }
  /** A signed-in member: sees itself only. */
  | { readonly kind: 'member'; readonly organizationId: string; readonly id: string; readonly label: string }
  /** A signed-in member who is an organisation admin, acting through the /admin console (id: the member). */
  | { readonly kind: 'admin'; readonly organizationId: string; readonly id: string; readonly label: string };

export type ActorKind = Actor['kind'];

export function systemActor(organizationId: string, label = 'system'): Actor {
  return { kind: 'system', organizationId, label };
}

export function actorId(actor: Actor): string | null {
  return 'id' in actor ? actor.id : null;
}

/** Reading the directory: everyone but a member (who only sees itself). */
export function requireDirectoryReader(actor: Actor): void {
  if (actor.kind === 'member') throw new Forbidden('directory_read_forbidden', 'Members may only read their own profile and access');
  if (actor.kind === 'api_key' && actor.role === 'controller') {
    throw new Forbidden('controller_read_forbidden', 'A controller key reads only the allow-lists and changes of its locks');
  }
}

/** Changing the directory: system, admin API keys, SCIM and the import. */
export function requireDirectoryWriter(actor: Actor): void {
  if (actor.kind === 'member') throw new Forbidden('directory_write_forbidden', 'Members may not change the directory');
  if (actor.kind === 'api_key' && actor.role !== 'admin') {
    throw new Forbidden('admin_role_required', `This API key has the ${actor.role} role; changes need an admin key`);
  }
}

/** Organisation settings (SCIM, SAML, keys, places and shares): system, admin keys and console admins. */
export function requireAdmin(actor: Actor): void {
  if (actor.kind === 'system' || actor.kind === 'admin') return;
  if (actor.kind === 'api_key' && actor.role === 'admin') return;
  throw new Forbidden('admin_role_required', 'Only an administrator may do this');
}
