import { cachedListHead, cachedStamped } from '../../platform/cache-values.js';
import type { Work } from '../../platform/db/unit-of-work.js';
import { type HospitalRow, HospitalsRepository, type RoomRow, type UnitRow } from './hospitals.repository.js';
import type { Hospital, Room, Unit } from './hospitals.shapes.js';

/**
 * Hospitals, units and rooms are cached per organization in namespace `hospitals`, for ten minutes
 * and without grace:
 *
 *   hospital:<id>, unit:<id>, room:<id>   one record
 *   hospitals-of:<organizationId>         the head of the organization's hospital list
 *   units-of:<hospitalId>                 the head of a hospital's unit list
 *   rooms-of:<unitId>                     the head of a unit's room list
 *
 * A list head is its first LIST_HEAD_ROWS rows in page order, active or not: it answers the first
 * page of any size and either `active` filter, so a change drops one key per list it touches. Every
 * change through HospitalsService drops the keys of what it changed after its commit, on every
 * instance (a default switch also drops the hospital that stopped being the default); the TTL only
 * bounds rows written around the service (seeds, fixtures).
 */
export const HOSPITALS_CACHE = 'hospitals';
const TTL_MS = 10 * 60_000;

export const hospitalKey = (id: string) => `hospital:${id}`;
export const unitKey = (id: string) => `unit:${id}`;
export const roomKey = (id: string) => `room:${id}`;
/** The organization is in the key too: the refill guard across instances tracks keys, not namespaces. */
export const hospitalListKey = (organizationId: string) => `hospitals-of:${organizationId}`;
export const unitListKey = (hospitalId: string) => `units-of:${hospitalId}`;
export const roomListKey = (unitId: string) => `rooms-of:${unitId}`;

export const hospitalOf = ({ organizationId: _, ...row }: HospitalRow): Hospital => row;
export const unitOf = ({ organizationId: _, ...row }: UnitRow): Unit => row;
export const roomOf = ({ organizationId: _, ...row }: RoomRow): Room => row;

const slot = (key: string) => ({ namespace: HOSPITALS_CACHE, key, ttl: TTL_MS });

/** The cache-aside reads of the hospitals module, in one unit of work (inside a write: its transaction, uncached). */
export function hospitalsCache(work: Work) {
  const repo = () => work.repo(HospitalsRepository);
  return {
    hospital: (id: string) =>
      cachedStamped(work, slot(hospitalKey(id)), async () => {
        const row = await repo().findHospital(id);
        return row && hospitalOf(row);
      }),
    unit: (id: string) =>
      cachedStamped(work, slot(unitKey(id)), async () => {
        const row = await repo().findUnit(id);
        return row && unitOf(row);
      }),
    room: (id: string) =>
      cachedStamped(work, slot(roomKey(id)), async () => {
        const row = await repo().findRoom(id);
        return row && roomOf(row);
      }),
    hospitals: () =>
      cachedListHead(work, slot(hospitalListKey(work.ctx.organizationId)), async (limit) =>
        (await repo().listHospitals(limit, undefined)).map(hospitalOf),
      ),
    units: (hospitalId: string) =>
      cachedListHead(work, slot(unitListKey(hospitalId)), async (limit) =>
        (await repo().listUnits(hospitalId, limit, undefined)).map(unitOf),
      ),
    rooms: (unitId: string) =>
      cachedListHead(work, slot(roomListKey(unitId)), async (limit) =>
        (await repo().listRooms(unitId, limit, undefined)).map(roomOf),
      ),
  };
}
