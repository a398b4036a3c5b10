// One DataLoader per relation, created per request (per actor): every list of
// nodes costs one statement per relation, whatever its length.
import DataLoader from 'dataloader';
import type { Actor } from '../domain/actor.js';
import type { Domain } from '../domain/index.js';
import type { Member } from '../domain/member/member.model.js';
import type { Group, GroupMembersPage } from '../domain/group/group.model.js';
import type { Lock, Place } from '../domain/place/place.model.js';
import type { Share } from '../domain/share/share.model.js';
import type { LockAccess } from '../domain/access/access.service.js';

/**
 * A DataLoader whose values may also be known already (loaded with a page,
 * or with a parent): `get` then answers synchronously, so graphql-js
 * completes the field without a promise per node.
 */
export class Relation<V> {
  private readonly known = new Map<string, V>();
  constructor(private readonly loader: DataLoader<string, V>) {}

  get(key: string): V | Promise<V> {
    return this.known.has(key) ? this.known.get(key)! : this.loader.load(key);
  }

  prime(key: string, value: V): void {
    this.known.set(key, value);
  }
}

export interface Subject {
  readonly id: string;
  readonly kind: 'member' | 'group' | 'place' | 'lock';
  readonly label: string;
  readonly sub: string | null;
}

export interface Loaders {
  readonly member: Relation<Member | null>;
  readonly group: Relation<Group | null>;
  readonly place: Relation<Place | null>;
  readonly lock: Relation<Lock | null>;
  readonly groupsOfMember: Relation<Group[]>;
  readonly sharesOfMember: Relation<Share[]>;
  readonly sharesOfGroup: Relation<Share[]>;
  readonly locksOfPlace: Relation<Lock[]>;
  /** Names of ids audit events carry (members, groups, places, locks); null for ids of nothing (deleted since). Admins only. */
  readonly subject: Relation<Subject | null>;
  /** Whether each member is an organisation admin (may open the admin console). */
  readonly organizationAdmin: Relation<boolean>;
  /** Pages of group members, one loader per (first, after) pair. */
  groupMembers(first: number, after: string | undefined, count: boolean): DataLoader<string, GroupMembersPage>;
  /** Effective access of members at a time, one loader per `at` (null: a member not found). */
  accessOfMember(at: Date): DataLoader<string, LockAccess[] | null>;
}

function byId<T extends { id: string }>(keys: readonly string[], rows: T[]): (T | null)[] {
  const map = new Map(rows.map((r) => [r.id, r]));
  return keys.map((k) => map.get(k) ?? null);
}

function grouped<T>(keys: readonly string[], rows: T[], keyOf: (r: T) => string | null): T[][] {
  const map = new Map<string, T[]>();
  for (const r of rows) {
    const k = keyOf(r);
    if (k === null) continue;
    let list = map.get(k);
    if (!list) map.set(k, (list = []));
    list.push(r);
  }
  return keys.map((k) => map.get(k) ?? []);
}

export function createLoaders(domain: Domain, actor: Actor): Loaders {
  const pages = new Map<string, DataLoader<string, GroupMembersPage>>();
  const accessAt = new Map<number, DataLoader<string, LockAccess[] | null>>();
  const place = new Relation(new DataLoader<string, Place | null>(async (ids) => byId(ids, await domain.places.getPlaces(actor, ids))));
  const lock = new Relation(new DataLoader<string, Lock | null>(async (ids) => byId(ids, await domain.places.getLocks(actor, ids))));
  return {
    place,
    lock,
    // A signed-in member may load itself; for anything else the domain decides.
    member: new Relation(
      new DataLoader(async (ids) => byId(ids, await domain.members.getMany(actor, ids, actor.kind === 'member' && ids.every((id) => id === actor.id)))),
    ),
    group: new Relation(new DataLoader(async (ids) => byId(ids, await domain.groups.getMany(actor, ids)))),
    groupsOfMember: new Relation(
      new DataLoader(async (ids) => grouped(ids, await domain.groups.groupsOfMembers(actor, ids), (r) => r.memberId).map((rows) => rows.map((r) => r.group))),
    ),
    // Shares come with their lock and place, primed into those loaders:
    // `shares { lock { place } }` costs this one statement.
    sharesOfMember: new Relation(
      new DataLoader(async (ids) => {
        const found = await domain.shares.forMembersWithTargets(actor, ids);
        for (const l of found.locks) lock.prime(l.id, l);
        for (const p of found.places) place.prime(p.id, p);
        return grouped(ids, found.shares, (s) => s.memberId);
      }),
    ),
    sharesOfGroup: new Relation(new DataLoader(async (ids) => grouped(ids, await domain.shares.forGrantees(actor, [], ids), (s) => s.groupId))),
    locksOfPlace: new Relation(new DataLoader(async (ids) => grouped(ids, await domain.places.locksOfPlaces(actor, ids), (l) => l.placeId))),
    subject: new Relation(
      new DataLoader(
        async (ids) => {
          const names = await domain.admins.labels(actor, ids);
          return ids.map((id) => (names[id] ? { id, ...names[id] } : null));
        },
        { maxBatchSize: 2000 },
      ),
    ),
    organizationAdmin: new Relation(
      new DataLoader(async (ids) => {
        const admins = await domain.admins.adminIds(actor, ids);
        return ids.map((id) => admins.has(id));
      }),
    ),
    groupMembers(first, after, count) {
      const key = `${first}:${after ?? ''}:${count}`;
      let loader = pages.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const found = await domain.groups.membersOfGroups(actor, ids, { first, after, count });
          return ids.map((id) => found.get(id) ?? { items: [], cursors: [], hasNextPage: false, totalCount: count ? 0 : undefined });
        });
        pages.set(key, loader);
      }
      return loader;
    },
    accessOfMember(at) {
      let loader = accessAt.get(at.getTime());
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const found = await domain.access.accessOfMany(actor, ids, at);
          return ids.map((id) => found.get(id) ?? null);
        });
        accessAt.set(at.getTime(), loader);
      }
      return loader;
    },
  };
}
