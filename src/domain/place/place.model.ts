// Places and locks: their shape and row mapping.
import { toDate } from '../rows.js';

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

export interface PlaceRow {
  organization_id: string;
  id: string;
  name: string;
  address: string | null;
  time_zone: string | null;
  created_at: string;
}

export interface LockRow {
  organization_id: string;
  id: string;
  place_id: string;
  name: string;
  created_at: string;
}

export const PLACE_COLUMNS = 'organization_id, id, name, address, time_zone, created_at';
export const LOCK_COLUMNS = 'organization_id, id, place_id, name, created_at';

export const toPlace = (r: PlaceRow): Place => ({
  id: r.id,
  organizationId: r.organization_id,
  name: r.name,
  address: r.address,
  timeZone: r.time_zone,
  createdAt: toDate(r.created_at),
});

export const toLock = (r: LockRow): Lock => ({ id: r.id, organizationId: r.organization_id, placeId: r.place_id, name: r.name, createdAt: toDate(r.created_at) });
