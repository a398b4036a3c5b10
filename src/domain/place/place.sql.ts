// The statements of places and locks.
import type { Sql } from '../db.js';
import { SqlParams } from '../sql-params.js';
import { LOCK_COLUMNS, PLACE_COLUMNS, toLock, toPlace, type Lock, type LockRow, type Place, type PlaceRow } from './place.model.js';

export async function insertPlace(sql: Sql, p: { organizationId: string; id: string; name: string; address: string | null; timeZone: string | null }): Promise<Place> {
  const row = await sql.one<PlaceRow>(
    `insert into places (organization_id, id, name, address, time_zone) values ($1, $2, $3, $4, $5) returning ${PLACE_COLUMNS}`,
    [p.organizationId, p.id, p.name, p.address, p.timeZone],
  );
  return toPlace(row);
}

export async function deletePlace(sql: Sql, organizationId: string, id: string): Promise<Place | undefined> {
  const row = await sql.maybeOne<PlaceRow>(`delete from places where organization_id = $1 and id = $2 returning ${PLACE_COLUMNS}`, [organizationId, id]);
  return row && toPlace(row);
}

/** Places by id, `first` after `afterId`. */
export async function selectPlaces(sql: Sql, organizationId: string, afterId: string | null, first: number): Promise<Place[]> {
  const rows = await sql.all<PlaceRow>(
    `select ${PLACE_COLUMNS} from places where organization_id = $1 ${afterId ? 'and id > $2' : ''} order by id limit ${first}`,
    afterId ? [organizationId, afterId] : [organizationId],
  );
  return rows.map(toPlace);
}

export async function selectPlacesById(sql: Sql, organizationId: string, ids: readonly string[]): Promise<Place[]> {
  const rows = await sql.all<PlaceRow>(`select ${PLACE_COLUMNS} from places where organization_id = $1 and id = any($2::uuid[])`, [organizationId, ids]);
  return rows.map(toPlace);
}

export async function countPlaces(sql: Sql, organizationId: string): Promise<number> {
  const row = await sql.one<{ n: string }>(`select count(*)::text as n from places where organization_id = $1`, [organizationId]);
  return Number(row.n);
}

/** A new lock; a foreign-key violation when the place is not the organisation's. */
export async function insertLock(sql: Sql, l: { organizationId: string; id: string; placeId: string; name: string }): Promise<Lock> {
  const row = await sql.one<LockRow>(`insert into locks (organization_id, id, place_id, name) values ($1, $2, $3, $4) returning ${LOCK_COLUMNS}`, [
    l.organizationId,
    l.id,
    l.placeId,
    l.name,
  ]);
  return toLock(row);
}

export async function deleteLock(sql: Sql, organizationId: string, id: string): Promise<Lock | undefined> {
  const row = await sql.maybeOne<LockRow>(`delete from locks where organization_id = $1 and id = $2 returning ${LOCK_COLUMNS}`, [organizationId, id]);
  return row && toLock(row);
}

/** Locks by id (of one place, if given), `first` after `afterId`. */
export async function selectLocks(sql: Sql, organizationId: string, f: { placeId?: string; afterId?: string }, first: number): Promise<Lock[]> {
  const p = new SqlParams();
  const where = [`organization_id = ${p.add(organizationId)}`];
  if (f.placeId !== undefined) where.push(`place_id = ${p.add(f.placeId)}`);
  if (f.afterId !== undefined) where.push(`id > ${p.add(f.afterId)}`);
  const rows = await sql.all<LockRow>(`select ${LOCK_COLUMNS} from locks where ${where.join(' and ')} order by id limit ${first}`, p.values);
  return rows.map(toLock);
}

export async function selectLocksOfPlaces(sql: Sql, organizationId: string, placeIds: readonly string[]): Promise<Lock[]> {
  const rows = await sql.all<LockRow>(`select ${LOCK_COLUMNS} from locks where organization_id = $1 and place_id = any($2::uuid[]) order by id`, [
    organizationId,
    placeIds,
  ]);
  return rows.map(toLock);
}

export async function selectLocksById(sql: Sql, organizationId: string, ids: readonly string[]): Promise<Lock[]> {
  const rows = await sql.all<LockRow>(`select ${LOCK_COLUMNS} from locks where organization_id = $1 and id = any($2::uuid[])`, [organizationId, ids]);
  return rows.map(toLock);
}

export async function countLocks(sql: Sql, organizationId: string, placeId: string | undefined): Promise<number> {
  const row = await sql.one<{ n: string }>(
    `select count(*)::text as n from locks where organization_id = $1 ${placeId !== undefined ? 'and place_id = $2' : ''}`,
    placeId !== undefined ? [organizationId, placeId] : [organizationId],
  );
  return Number(row.n);
}
