// Places and their locks (doors).
import crypto from 'node:crypto';
import { requireAdmin, requireDirectoryReader, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { isForeignKeyViolation } from '../db-errors.js';
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { writeAudit } from '../audit/audit.service.js';
import { recordAccessChange } from '../access/access-feed.js';
import { fromIdCursor, idCursor, pageOf, pageSize, type Page } from '../paging.js';
import type { Lock, Place } from './place.model.js';
import * as placeSql from './place.sql.js';

function checkName(v: unknown, field = 'name'): string {
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > 200 || v.includes('\u0000')) {
    throw new Invalid('invalid_name', `${field} must be 1 to 200 characters`, field);
  }
  return v.trim();
}

function checkOptional(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > 1024 || v.includes('\u0000')) throw new Invalid('invalid_value', `${field} must be at most 1024 characters`, field);
  return v;
}

function checkTimeZone(v: unknown): string | null {
  const tz = checkOptional(v, 'timeZone');
  if (tz === null) return null;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new Invalid('invalid_time_zone', `"${tz}" is not an IANA time zone`, 'timeZone');
  }
  return tz;
}

export class PlaceService {
  constructor(private readonly db: Db) {}

  async createPlace(actor: Actor, input: { name: string; address?: string | null; timeZone?: string | null }): Promise<Place> {
    requireAdmin(actor);
    const name = checkName(input.name);
    const address = checkOptional(input.address, 'address');
    const timeZone = checkTimeZone(input.timeZone);
    return this.db.transaction(async (tx) => {
      const place = await placeSql.insertPlace(tx, { organizationId: actor.organizationId, id: crypto.randomUUID(), name, address, timeZone });
      await writeAudit(tx, actor, { action: 'place.create', resourceType: 'place', resourceId: place.id, resourceLabel: name });
      return place;
    });
  }

  async deletePlace(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('place', id);
    await this.db.transaction(async (tx) => {
      const place = await placeSql.deletePlace(tx, actor.organizationId, id);
      if (!place) throw new NotFound('place', id);
      await recordAccessChange(tx, actor.organizationId, { kind: 'place_deleted', placeId: id });
      await writeAudit(tx, actor, { action: 'place.delete', resourceType: 'place', resourceId: id, resourceLabel: place.name });
    });
  }

  /** A page of places ordered by id (`first` 0–1000, default 100; `after` a cursor of an earlier page). */
  async listPlaces(actor: Actor, opts: { after?: string; first?: number } = {}): Promise<Page<Place>> {
    requireDirectoryReader(actor);
    const first = pageSize(opts.first, 100, 0, 1000);
    const after = fromIdCursor(opts.after) ?? null;
    const rows = first === 0 ? [] : await placeSql.selectPlaces(this.db.lagTolerant, actor.organizationId, after, first + 1);
    return pageOf(rows, first, (p) => p, (p) => idCursor(p.id));
  }

  async getPlaces(actor: Actor, ids: readonly string[]): Promise<Place[]> {
    requireDirectoryReader(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    return placeSql.selectPlacesById(this.db.lagTolerant, actor.organizationId, valid);
  }

  async createLock(actor: Actor, input: { placeId: string; name: string }): Promise<Lock> {
    requireAdmin(actor);
    const name = checkName(input.name);
    if (!isUuid(input.placeId)) throw new NotFound('place', input.placeId);
    return this.db.transaction(async (tx) => {
      try {
        const lock = await placeSql.insertLock(tx, { organizationId: actor.organizationId, id: crypto.randomUUID(), placeId: input.placeId, name });
        await writeAudit(tx, actor, { action: 'lock.create', resourceType: 'lock', resourceId: lock.id, resourceLabel: name, detail: { placeId: input.placeId } });
        return lock;
      } catch (e) {
        if (isForeignKeyViolation(e)) throw new NotFound('place', input.placeId);
        throw e;
      }
    });
  }

  async deleteLock(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('lock', id);
    await this.db.transaction(async (tx) => {
      const lock = await placeSql.deleteLock(tx, actor.organizationId, id);
      if (!lock) throw new NotFound('lock', id);
      await recordAccessChange(tx, actor.organizationId, { kind: 'lock_deleted', lockId: id, placeId: lock.placeId });
      await writeAudit(tx, actor, { action: 'lock.delete', resourceType: 'lock', resourceId: id, resourceLabel: lock.name });
    });
  }

  /** A page of locks (of one place, if given) ordered by id, as listPlaces. */
  async listLocks(actor: Actor, opts: { placeId?: string; after?: string; first?: number } = {}): Promise<Page<Lock>> {
    requireDirectoryReader(actor);
    const first = pageSize(opts.first, 100, 0, 1000);
    const afterId = fromIdCursor(opts.after);
    if (first === 0 || (opts.placeId !== undefined && !isUuid(opts.placeId))) return { items: [], cursors: [], hasNextPage: false };
    const rows = await placeSql.selectLocks(this.db.lagTolerant, actor.organizationId, { placeId: opts.placeId, afterId }, first + 1);
    return pageOf(rows, first, (l) => l, (l) => idCursor(l.id));
  }

  /** The locks of these places, in one statement (DataLoader). */
  async locksOfPlaces(actor: Actor, placeIds: readonly string[]): Promise<Lock[]> {
    requireDirectoryReader(actor);
    const valid = placeIds.filter(isUuid);
    if (valid.length === 0) return [];
    return placeSql.selectLocksOfPlaces(this.db.lagTolerant, actor.organizationId, valid);
  }

  async countPlaces(actor: Actor): Promise<number> {
    requireDirectoryReader(actor);
    return placeSql.countPlaces(this.db.lagTolerant, actor.organizationId);
  }

  async countLocks(actor: Actor, opts: { placeId?: string } = {}): Promise<number> {
    requireDirectoryReader(actor);
    if (opts.placeId !== undefined && !isUuid(opts.placeId)) return 0;
    return placeSql.countLocks(this.db.lagTolerant, actor.organizationId, opts.placeId);
  }

  async getLocks(actor: Actor, ids: readonly string[]): Promise<Lock[]> {
    requireDirectoryReader(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    return placeSql.selectLocksById(this.db.lagTolerant, actor.organizationId, valid);
  }
}
