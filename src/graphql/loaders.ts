// One DataLoader per relation, created per request (per actor): every list of
// nodes costs one statement per relation, whatever its length.
import DataLoader from 'dataloader';
import type { Actor } from '../domain/actor.js';
import type { Domain } from '../domain/index.js';
import type { Member } from '../domain/member/member.model.js';
import type { Group, GroupMembersPage } from '../domain/group/group.service.js';
import type { Lock, Place } from '../domain/place/place.service.js';
import type { Share } from '../domain/share/share.service.js';

export interface Loaders {
  readonly member: DataLoader<string, Member | null>;
  readonly group: DataLoader<string, Group | null>;
  readonly place: DataLoader<string, Place | null>;
  readonly lock: DataLoader<string, Lock | null>;
  readonly groupsOfMember: DataLoader<string, Group[]>;
  readonly sharesOfMember: DataLoader<string, Share[]>;
  readonly sharesOfGroup: DataLoader<string, Share[]>;
  readonly locksOfPlace: DataLoader<string, Lock[]>;
  /** Pages of group members, one loader per (first, after) pair. */
  groupMembers(first: number, afterId: string | undefined): DataLoader<string, GroupMembersPage>;
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
  const place = new DataLoader<string, Place | null>(async (ids) => byId(ids, await domain.places.getPlaces(actor, ids)));
  const lock = new DataLoader<string, Lock | null>(async (ids) => byId(ids, await domain.places.getLocks(actor, ids)));
  return {
    place,
    lock,
    // A signed-in member may load itself; for anything else the domain decides.
    member: new DataLoader(async (ids) =>
      byId(ids, await domain.members.getMany(actor, ids, actor.kind === 'member' && ids.every((id) => id === actor.id))),
    ),
    group: new DataLoader(async (ids) => byId(ids, await domain.groups.getMany(actor, ids))),
    groupsOfMember: new DataLoader(async (ids) =>
      grouped(ids, await domain.groups.groupsOfMembers(actor, ids), (r) => r.memberId).map((rows) => rows.map((r) => r.group)),
    ),
    // Shares come with their lock and place, primed into those loaders:
    // `shares { lock { place } }` costs this one statement.
    sharesOfMember: new DataLoader(async (ids) => {
      const found = await domain.shares.forMembersWithTargets(actor, ids);
      for (const l of found.locks) lock.prime(l.id, l);
      for (const p of found.places) place.prime(p.id, p);
      return grouped(ids, found.shares, (s) => s.memberId);
    }),
    sharesOfGroup: new DataLoader(async (ids) => grouped(ids, await domain.shares.forGrantees(actor, [], ids), (s) => s.groupId)),
    locksOfPlace: new DataLoader(async (ids) => grouped(ids, await domain.places.locksOfPlaces(actor, ids), (l) => l.placeId)),
    groupMembers(first, afterId) {
      const key = `${first}:${afterId ?? ''}`;
      let loader = pages.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => {
          const found = await domain.groups.membersOfGroups(actor, ids, { first, afterId });
          return ids.map((id) => found.get(id) ?? { members: [], hasNextPage: false, totalCount: 0 });
        });
        pages.set(key, loader);
      }
      return loader;
    },
  };
}
