// Places, locks, shares, members and effective access.
import { optionalDate, required, table, type Command } from './command.js';
import { idCursor } from '../domain/paging.js';

export const directoryCommands: Command[] = [
  {
    name: 'place create',
    usage: 'place create --org DOMAIN --name NAME [--address TEXT] [--time-zone Europe/Berlin]',
    options: { org: { type: 'string' }, name: { type: 'string' }, address: { type: 'string' }, 'time-zone': { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const place = await ctx.domain.places.createPlace(actor, {
        name: required(o, 'name'),
        address: (o.address as string | undefined) ?? null,
        timeZone: (o['time-zone'] as string | undefined) ?? null,
      });
      return { json: { place }, text: `Created place ${place.name} (id ${place.id})` };
    },
  },
  {
    name: 'place list',
    usage: 'place list --org DOMAIN',
    options: { org: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const places = (await ctx.domain.places.listPlaces(actor, { first: 1000 })).items;
      return { json: { places }, text: table(places as unknown as Record<string, unknown>[], ['id', 'name', 'address', 'timeZone']) };
    },
  },
  {
    name: 'lock create',
    usage: 'lock create --org DOMAIN --place PLACE_ID --name NAME',
    options: { org: { type: 'string' }, place: { type: 'string' }, name: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const lock = await ctx.domain.places.createLock(actor, { placeId: required(o, 'place'), name: required(o, 'name') });
      return { json: { lock }, text: `Created lock ${lock.name} (id ${lock.id})` };
    },
  },
  {
    name: 'lock list',
    usage: 'lock list --org DOMAIN [--place PLACE_ID]',
    options: { org: { type: 'string' }, place: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const locks = (await ctx.domain.places.listLocks(actor, { placeId: o.place as string | undefined, first: 1000 })).items;
      return { json: { locks }, text: table(locks as unknown as Record<string, unknown>[], ['id', 'name', 'placeId']) };
    },
  },
  {
    name: 'share grant',
    usage: 'share grant --org DOMAIN (--member ID | --group ID) (--place ID | --lock ID) [--role user|manager|administrator] [--from ISO] [--until ISO]',
    options: {
      org: { type: 'string' },
      member: { type: 'string' },
      group: { type: 'string' },
      place: { type: 'string' },
      lock: { type: 'string' },
      role: { type: 'string' },
      from: { type: 'string' },
      until: { type: 'string' },
    },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const share = await ctx.domain.shares.grant(actor, {
        memberId: (o.member as string | undefined) ?? null,
        groupId: (o.group as string | undefined) ?? null,
        placeId: (o.place as string | undefined) ?? null,
        lockId: (o.lock as string | undefined) ?? null,
        role: (o.role as string | undefined) ?? 'user',
        validFrom: optionalDate(o, 'from'),
        validUntil: optionalDate(o, 'until'),
      });
      return { json: { share }, text: `Granted share ${share.id}` };
    },
  },
  {
    name: 'share revoke',
    usage: 'share revoke --org DOMAIN --id SHARE_ID',
    options: { org: { type: 'string' }, id: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const share = await ctx.domain.shares.revoke(actor, required(o, 'id'));
      return { json: { share }, text: `Revoked share ${share.id}` };
    },
  },
  {
    name: 'member list',
    usage: 'member list --org DOMAIN [--search TEXT] [--first N] [--after CURSOR]',
    options: { org: { type: 'string' }, search: { type: 'string' }, first: { type: 'string' }, after: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const page = await ctx.domain.members.list(actor, {
        text: o.search as string | undefined,
        first: o.first ? Number(o.first) : 100,
        after: o.after as string | undefined,
      });
      const rows = page.items.map((m) => ({ id: m.id, userName: m.userName, displayName: m.displayName, active: m.active, source: m.source }));
      const next = page.hasNextPage ? `\n(more: --after ${page.cursors.at(-1)})` : '';
      return {
        json: { members: page.items, totalCount: page.totalCount, hasNextPage: page.hasNextPage, endCursor: page.cursors.at(-1) ?? null },
        text: `${table(rows, ['id', 'userName', 'displayName', 'active', 'source'])}\n${page.totalCount} member(s)${next}`,
      };
    },
  },
  {
    name: 'access of',
    usage: 'access of --org DOMAIN --member ID [--at ISO]',
    options: { org: { type: 'string' }, member: { type: 'string' }, at: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const locks = await ctx.domain.access.accessOf(actor, required(o, 'member'), optionalDate(o, 'at') ?? new Date());
      const rows = locks.flatMap((l) =>
        l.grants.map((g) => ({ lock: l.lockName, place: l.placeName, share: g.shareId, via: g.groupName ? `group ${g.groupName}` : 'direct', scope: g.scope, until: g.validUntil })),
      );
      return { json: { locks }, text: table(rows, ['lock', 'place', 'via', 'scope', 'share', 'until']) };
    },
  },
  {
    name: 'access who',
    usage: 'access who --org DOMAIN --lock ID [--at ISO] [--first N] [--after MEMBER_ID]',
    options: { org: { type: 'string' }, lock: { type: 'string' }, at: { type: 'string' }, first: { type: 'string' }, after: { type: 'string' } },
    async run(ctx, o) {
      const actor = await ctx.orgActor(required(o, 'org'));
      const page = await ctx.domain.access.whoCanOpen(actor, required(o, 'lock'), optionalDate(o, 'at') ?? undefined, {
        first: o.first ? Number(o.first) : 100,
        // --after takes the last member id shown (the page's cursor is that id, opaque).
        after: o.after === undefined ? undefined : idCursor(o.after as string),
      });
      const rows = page.items.map((m) => ({
        id: m.member.id,
        userName: m.member.userName,
        via: m.grants.map((g) => (g.groupName ? `group ${g.groupName}` : 'direct')).join(', '),
      }));
      return {
        json: { members: page.items.map((m) => ({ member: { id: m.member.id, userName: m.member.userName, displayName: m.member.displayName }, grants: m.grants })), hasNextPage: page.hasNextPage },
        text: table(rows, ['id', 'userName', 'via']) + (page.hasNextPage ? `\n(more: --after ${page.items.at(-1)?.member.id})` : ''),
      };
    },
  },
];
