// Places and their locks (doors).
import crypto from 'node:crypto';
import { requireAdmin, requireDirectoryReader, type Actor } from '../actor.js';
import type { Db } from '../db.js';
import { isForeignKeyViolation } from '../db-errors.js';
import { toDate } from '../rows.js';
import { Invalid, NotFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { writeAudit } from '../audit/audit.service.js';
import { recordAccessChange } from '../access/access-feed.js';
import { pageSize } from '../paging.js';

export interface Place {
  readonly id: string;
  readonly organizationId: string;
  readonly name: string;
  readonly address: string | null;
  readonly timeZone: string | null;
  readonly createdAt: Date;
}

export interface Lock {
  readonly id: string;
  readonly organizationId: string;
  readonly placeId: string;
  readonly name: string;
  readonly createdAt: Date;
}

interface PlaceRow {
  organization_id: string;
  id: string;
  name: string;
  address: string | null;
  time_zone: string | null;
  created_at: string;
}
interface LockRow {
  organization_id: string;
  id: string;
  place_id: string;
  name: string;
  created_at: string;
}

const PLACE_COLUMNS = 'organization_id, id, name, address, time_zone, created_at';
const LOCK_COLUMNS = 'organization_id, id, place_id, name, created_at';

export const toPlace = (r: PlaceRow): Place => ({
  id: r.id,
  organizationId: r.organization_id,
  name: r.name,
  address: r.address,
  timeZone: r.time_zone,
  createdAt: toDate(r.created_at),
});
export const toLock = (r: LockRow): Lock => ({ id: r.id, organizationId: r.organization_id, placeId: r.place_id, name: r.name, createdAt: toDate(r.created_at) });

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
      const row = await tx.one<PlaceRow>(
        `insert into places (organization_id, id, name, address, time_zone) values (?, ?, ?, ?, ?) returning ${PLACE_COLUMNS}`,
        [actor.organizationId, crypto.randomUUID(), name, address, timeZone],
      );
      await writeAudit(tx, actor, { action: 'place.create', resourceType: 'place', resourceId: row.id, resourceLabel: name });
      return toPlace(row);
    });
  }

  async deletePlace(actor: Actor, id: string): Promise<void> {
    requireAdmin(actor);
    if (!isUuid(id)) throw new NotFound('place', id);
    await this.db.transaction(async (tx) => {
      const row = await tx.maybeOne<PlaceRow>(`delete from places where organization_id = ? and id = ? returning ${PLACE_COLUMNS}`, [actor.organizationId, id]);
      if (!row) throw new NotFound('place', id);
      await recordAccessChange(tx, actor.organizationId, { kind: 'place_deleted', placeId: id });
      await writeAudit(tx, actor, { action: 'place.delete', resourceType: 'place', resourceId: id, resourceLabel: row.name });
    });
  }

  async listPlaces(actor: Actor, opts: { afterId?: string; first?: number } = {}): Promise<Place[]> {
    requireDirectoryReader(actor);
    const first = pageSize(opts.first, 100, 1, 1000);
    const after = opts.afterId && isUuid(opts.afterId) ? opts.afterId : null;
    const rows = await this.db.sql.all<PlaceRow>(
      `select ${PLACE_COLUMNS} from places where organization_id = ? ${after ? 'and id > ?' : ''} order by id limit ${first}`,
      after ? [actor.organizationId, after] : [actor.organizationId],
    );
    return rows.map(toPlace);
  }

  async getPlaces(actor: Actor, ids: readonly string[]): Promise<Place[]> {
    requireDirectoryReader(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.db.sql.all<PlaceRow>(`select ${PLACE_COLUMNS} from places where organization_id = ? and id = any(?::uuid[])`, [
      actor.organizationId,
      valid,
    ]);
    return rows.map(toPlace);
  }

  async createLock(actor: Actor, input: { placeId: string; name: string }): Promise<Lock> {
    requireAdmin(actor);
    const name = checkName(input.name);
    if (!isUuid(input.placeId)) throw new NotFound('place', input.placeId);
    return this.db.transaction(async (tx) => {
      try {
        const row = await tx.one<LockRow>(
          `insert into locks (organization_id, id, place_id, name) values (?, ?, ?, ?) returning ${LOCK_COLUMNS}`,
          [actor.organizationId, crypto.randomUUID(), input.placeId, name],
        );
        await writeAudit(tx, actor, { action: 'lock.create', resourceType: 'lock', resourceId: row.id, resourceLabel: name, detail: { placeId: input.placeId } });
        return toLock(row);
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
      const row = await tx.maybeOne<LockRow>(`delete from locks where organization_id = ? and id = ? returning ${LOCK_COLUMNS}`, [actor.organizationId, id]);
      if (!row) throw new NotFound('lock', id);
      await recordAccessChange(tx, actor.organizationId, { kind: 'lock_deleted', lockId: id, placeId: row.place_id });
      await writeAudit(tx, actor, { action: 'lock.delete', resourceType: 'lock', resourceId: id, resourceLabel: row.name });
    });
  }

  async listLocks(actor: Actor, opts: { placeId?: string; afterId?: string; first?: number } = {}): Promise<Lock[]> {
    requireDirectoryReader(actor);
    const first = pageSize(opts.first, 100, 1, 1000);
    const where = ['organization_id = ?'];
    const params: string[] = [actor.organizationId];
    if (opts.placeId !== undefined) {
      if (!isUuid(opts.placeId)) return [];
      where.push('place_id = ?');
      params.push(opts.placeId);
    }
    if (opts.afterId && isUuid(opts.afterId)) {
      where.push('id > ?');
      params.push(opts.afterId);
    }
    const rows = await this.db.sql.all<LockRow>(`select ${LOCK_COLUMNS} from locks where ${where.join(' and ')} order by id limit ${first}`, params);
    return rows.map(toLock);
  }

  /** The locks of these places, in one statement (DataLoader). */
  async locksOfPlaces(actor: Actor, placeIds: readonly string[]): Promise<Lock[]> {
    requireDirectoryReader(actor);
    const valid = placeIds.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.db.sql.all<LockRow>(
      `select ${LOCK_COLUMNS} from locks where organization_id = ? and place_id = any(?::uuid[]) order by id`,
      [actor.organizationId, valid],
    );
    return rows.map(toLock);
  }

  async countPlaces(actor: Actor): Promise<number> {
    requireDirectoryReader(actor);
    const row = await this.db.sql.one<{ n: string }>(`select count(*)::text as n from places where organization_id = ?`, [actor.organizationId]);
    return Number(row.n);
  }

  async countLocks(actor: Actor, opts: { placeId?: string } = {}): Promise<number> {
    requireDirectoryReader(actor);
    if (opts.placeId !== undefined && !isUuid(opts.placeId)) return 0;
    const row = await this.db.sql.one<{ n: string }>(
      `select count(*)::text as n from locks where organization_id = ? ${opts.placeId !== undefined ? 'and place_id = ?' : ''}`,
      opts.placeId !== undefined ? [actor.organizationId, opts.placeId] : [actor.organizationId],
    );
    return Number(row.n);
  }

  async getLocks(actor: Actor, ids: readonly string[]): Promise<Lock[]> {
    requireDirectoryReader(actor);
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return [];
    const rows = await this.db.sql.all<LockRow>(`select ${LOCK_COLUMNS} from locks where organization_id = ? and id = any(?::uuid[])`, [
      actor.organizationId,
      valid,
    ]);
    return rows.map(toLock);
  }
}
