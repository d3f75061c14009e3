import { pageFromHead } from '../../platform/cache-values.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor } from '../../platform/http/pagination.js';
import type { Clock } from '../../platform/clock.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import {
  HOSPITALS_CACHE,
  hospitalKey,
  hospitalListKey,
  hospitalOf,
  hospitalsCache,
  roomKey,
  roomListKey,
  roomOf,
  unitKey,
  unitListKey,
  unitOf,
} from './hospitals-cache.js';
import { HospitalsRepository } from './hospitals.repository.js';
import type {
  CreateHospital,
  CreateRoom,
  CreateUnit,
  Hospital,
  ListQuery,
  Room,
  Unit,
  UpdateHospital,
  UpdateRoom,
  UpdateUnit,
} from './hospitals.shapes.js';

/** Runs `operation`, turning the named unique constraints into a clear 409 (the transaction is over by then). */
async function uniquely<T>(operation: Promise<T>, messages: Record<string, string>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    const { code, constraint } = databaseError(error);
    if (code === '23505' && constraint && messages[constraint]) throw new AppError('CONFLICT', messages[constraint]);
    throw error;
  }
}

/**
 * A delete that something still refers to becomes a 409 that says what to do instead. ON DELETE
 * RESTRICT answers 23001 (restrict_violation), which the error handler does not map; NO ACTION, 23503.
 */
async function unlessReferenced<T>(operation: Promise<T>, what: string): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    const { code } = databaseError(error);
    if (code === '23001' || code === '23503') {
      throw new AppError('CONFLICT', `the ${what} is referred to by other records: deactivate it instead`);
    }
    throw error;
  }
}

const HOSPITAL_NAMES = { hospitals_name_idx: 'a hospital with this name already exists' };
const UNIT_NAMES = { units_hospital_name_idx: 'a unit with this name already exists in this hospital' };
const ROOM_NAMES = { rooms_unit_name_idx: 'a room with this name already exists in this unit' };

/** After hospitals changed (a default switch changes two): their records, and the list that shows them. */
function invalidateHospitals(work: Work, ids: string[]): void {
  work.invalidate(HOSPITALS_CACHE, [hospitalListKey(work.ctx.organizationId), ...ids.map(hospitalKey)]);
}

function activeAction(resource: string, before: boolean, after: boolean | undefined): string | undefined {
  if (after === undefined || after === before) return undefined;
  return `${resource}.${after ? 'reactivate' : 'deactivate'}`;
}

type Uow = Pick<UnitOfWork, 'read' | 'write'>;

/**
 * Hospitals, their units and rooms. Records are deactivated rather than deleted once anything refers
 * to them; nothing new is created under a deactivated parent. Not patient data: reads are not audited.
 * Records and the first pages of their lists are cached (hospitals-cache.ts); every change here drops
 * what it changed.
 */
export class HospitalsService {
  constructor(
    private readonly uow: Uow,
    private readonly now: Clock,
  ) {}

  listHospitals(ctx: TenantContext, query: ListQuery) {
    return this.uow.read(ctx, (work) =>
      pageFromHead(
        query,
        () => hospitalsCache(work).hospitals(),
        async () =>
          (
            await work.repo(HospitalsRepository).listHospitals(query.limit, decodeCursor(query.cursor), query.active)
          ).map(hospitalOf),
      ),
    );
  }

  /** A hospital of the caller's organization, or undefined. */
  findHospital(ctx: TenantContext, id: string): Promise<Hospital | undefined> {
    return this.uow.read(ctx, (work) => hospitalsCache(work).hospital(id));
  }

  async getHospital(ctx: TenantContext, id: string): Promise<Hospital> {
    const hospital = await this.findHospital(ctx, id);
    if (!hospital) throw new AppError('NOT_FOUND', 'hospital not found');
    return hospital;
  }

  createHospital(ctx: TenantContext, input: CreateHospital): Promise<Hospital> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(HospitalsRepository);
      let cleared: string[] = [];
      if (input.isDefault) {
        await repo.lockHospitals();
        cleared = await repo.clearDefault();
      }
      const at = this.now();
      const row = await repo.insertHospital({
        name: input.name,
        address: input.address ?? null,
        timezone: input.timezone,
        isDefault: input.isDefault,
        active: true,
        createdAt: at,
        updatedAt: at,
      });
      work.audit({ action: 'hospitals.create', resourceType: 'hospital', resourceId: row.id });
      invalidateHospitals(work, cleared);
      return hospitalOf(row);
    });
    return uniquely(write, HOSPITAL_NAMES);
  }

  updateHospital(ctx: TenantContext, id: string, patch: UpdateHospital): Promise<Hospital> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(HospitalsRepository);
      // The default changes under a lock on all the organization's hospitals; other changes lock only this one.
      if (patch.isDefault === true) await repo.lockHospitals();
      const current = await repo.findHospital(id, true);
      if (!current) throw new AppError('NOT_FOUND', 'hospital not found');
      const active = patch.active ?? current.active;
      const isDefault = patch.isDefault ?? current.isDefault;
      if (isDefault && !active) {
        throw new AppError(
          'CONFLICT',
          patch.isDefault
            ? 'the hospital is deactivated: a deactivated hospital cannot be the default'
            : 'the hospital is the default: make another the default (or send isDefault: false) before deactivating it',
        );
      }
      const cleared = patch.isDefault === true ? await repo.clearDefault(id) : [];
      const row = await repo.updateHospital(id, { ...patch, updatedAt: this.now() });
      invalidateHospitals(work, [id, ...cleared]);
      const toggled = activeAction('hospitals', current.active, patch.active);
      const { active: _, ...rest } = patch;
      if (toggled) work.audit({ action: toggled, resourceType: 'hospital', resourceId: id });
      if (Object.keys(rest).length > 0 || !toggled) {
        work.audit({ action: 'hospitals.update', resourceType: 'hospital', resourceId: id });
      }
      return hospitalOf(row);
    });
    return uniquely(write, HOSPITAL_NAMES);
  }

  /** Deletes a hospital nothing refers to (no units, staff, patients...); otherwise 409: deactivate it. */
  deleteHospital(ctx: TenantContext, id: string): Promise<void> {
    const write = this.uow.write(ctx, async (work) => {
      if (!(await work.repo(HospitalsRepository).deleteHospital(id)))
        throw new AppError('NOT_FOUND', 'hospital not found');
      work.audit({ action: 'hospitals.delete', resourceType: 'hospital', resourceId: id });
      invalidateHospitals(work, [id]);
      work.invalidate(HOSPITALS_CACHE, [unitListKey(id)]);
    });
    return unlessReferenced(write, 'hospital');
  }

  listUnits(ctx: TenantContext, hospitalId: string, query: ListQuery) {
    return this.uow.read(ctx, async (work) => {
      const cache = hospitalsCache(work);
      if (!(await cache.hospital(hospitalId))) throw new AppError('NOT_FOUND', 'hospital not found');
      return pageFromHead(
        query,
        () => cache.units(hospitalId),
        async () =>
          (
            await work
              .repo(HospitalsRepository)
              .listUnits(hospitalId, query.limit, decodeCursor(query.cursor), query.active)
          ).map(unitOf),
      );
    });
  }

  /** A unit of the caller's organization, or undefined. */
  findUnit(ctx: TenantContext, id: string): Promise<Unit | undefined> {
    return this.uow.read(ctx, (work) => hospitalsCache(work).unit(id));
  }

  async getUnit(ctx: TenantContext, id: string): Promise<Unit> {
    const unit = await this.findUnit(ctx, id);
    if (!unit) throw new AppError('NOT_FOUND', 'unit not found');
    return unit;
  }

  createUnit(ctx: TenantContext, hospitalId: string, input: CreateUnit): Promise<Unit> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(HospitalsRepository);
      // Locked against a concurrent deactivation, which would otherwise miss the new unit.
      const hospital = await repo.findHospital(hospitalId, true);
      if (!hospital) throw new AppError('NOT_FOUND', 'hospital not found');
      if (!hospital.active) throw new AppError('CONFLICT', 'the hospital is deactivated: no new units in it');
      const at = this.now();
      const row = await repo.insertUnit({
        hospitalId,
        name: input.name,
        kind: input.kind,
        createdAt: at,
        updatedAt: at,
      });
      work.audit({ action: 'units.create', resourceType: 'unit', resourceId: row.id });
      work.invalidate(HOSPITALS_CACHE, [unitListKey(hospitalId)]);
      return unitOf(row);
    });
    return uniquely(write, UNIT_NAMES);
  }

  updateUnit(ctx: TenantContext, id: string, patch: UpdateUnit): Promise<Unit> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(HospitalsRepository);
      const current = await repo.findUnit(id, true);
      if (!current) throw new AppError('NOT_FOUND', 'unit not found');
      if (patch.active === true && !current.active) {
        const hospital = await repo.findHospital(current.hospitalId);
        if (!hospital?.active) throw new AppError('CONFLICT', 'the hospital is deactivated: reactivate it first');
      }
      const row = await repo.updateUnit(id, { ...patch, updatedAt: this.now() });
      work.invalidate(HOSPITALS_CACHE, [unitKey(id), unitListKey(current.hospitalId)]);
      const toggled = activeAction('units', current.active, patch.active);
      const { active: _, ...rest } = patch;
      if (toggled) work.audit({ action: toggled, resourceType: 'unit', resourceId: id });
      if (Object.keys(rest).length > 0 || !toggled) {
        work.audit({ action: 'units.update', resourceType: 'unit', resourceId: id });
      }
      return unitOf(row);
    });
    return uniquely(write, UNIT_NAMES);
  }

  deleteUnit(ctx: TenantContext, id: string): Promise<void> {
    const write = this.uow.write(ctx, async (work) => {
      const deleted = await work.repo(HospitalsRepository).deleteUnit(id);
      if (!deleted) throw new AppError('NOT_FOUND', 'unit not found');
      work.audit({ action: 'units.delete', resourceType: 'unit', resourceId: id });
      work.invalidate(HOSPITALS_CACHE, [unitKey(id), unitListKey(deleted.hospitalId), roomListKey(id)]);
    });
    return unlessReferenced(write, 'unit');
  }

  listRooms(ctx: TenantContext, unitId: string, query: ListQuery) {
    return this.uow.read(ctx, async (work) => {
      const cache = hospitalsCache(work);
      if (!(await cache.unit(unitId))) throw new AppError('NOT_FOUND', 'unit not found');
      return pageFromHead(
        query,
        () => cache.rooms(unitId),
        async () =>
          (
            await work
              .repo(HospitalsRepository)
              .listRooms(unitId, query.limit, decodeCursor(query.cursor), query.active)
          ).map(roomOf),
      );
    });
  }

  /** A room of the caller's organization, or undefined. */
  findRoom(ctx: TenantContext, id: string): Promise<Room | undefined> {
    return this.uow.read(ctx, (work) => hospitalsCache(work).room(id));
  }

  async getRoom(ctx: TenantContext, id: string): Promise<Room> {
    const room = await this.findRoom(ctx, id);
    if (!room) throw new AppError('NOT_FOUND', 'room not found');
    return room;
  }

  createRoom(ctx: TenantContext, unitId: string, input: CreateRoom): Promise<Room> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(HospitalsRepository);
      const unit = await repo.findUnit(unitId, true);
      if (!unit) throw new AppError('NOT_FOUND', 'unit not found');
      if (!unit.active) throw new AppError('CONFLICT', 'the unit is deactivated: no new rooms in it');
      const hospital = await repo.findHospital(unit.hospitalId);
      if (!hospital?.active) throw new AppError('CONFLICT', 'the hospital is deactivated: no new rooms in it');
      const at = this.now();
      const row = await repo.insertRoom({
        hospitalId: unit.hospitalId,
        unitId,
        name: input.name,
        createdAt: at,
        updatedAt: at,
      });
      work.audit({ action: 'rooms.create', resourceType: 'room', resourceId: row.id });
      work.invalidate(HOSPITALS_CACHE, [roomListKey(unitId)]);
      return roomOf(row);
    });
    return uniquely(write, ROOM_NAMES);
  }

  updateRoom(ctx: TenantContext, id: string, patch: UpdateRoom): Promise<Room> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(HospitalsRepository);
      const current = await repo.findRoom(id);
      if (!current) throw new AppError('NOT_FOUND', 'room not found');
      if (patch.active === true && !current.active) {
        const unit = await repo.findUnit(current.unitId);
        if (!unit?.active) throw new AppError('CONFLICT', 'the unit is deactivated: reactivate it first');
      }
      const row = await repo.updateRoom(id, { ...patch, updatedAt: this.now() });
      work.invalidate(HOSPITALS_CACHE, [roomKey(id), roomListKey(current.unitId)]);
      const toggled = activeAction('rooms', current.active, patch.active);
      const { active: _, ...rest } = patch;
      if (toggled) work.audit({ action: toggled, resourceType: 'room', resourceId: id });
      if (Object.keys(rest).length > 0 || !toggled) {
        work.audit({ action: 'rooms.update', resourceType: 'room', resourceId: id });
      }
      return roomOf(row);
    });
    return uniquely(write, ROOM_NAMES);
  }

  deleteRoom(ctx: TenantContext, id: string): Promise<void> {
    const write = this.uow.write(ctx, async (work) => {
      const deleted = await work.repo(HospitalsRepository).deleteRoom(id);
      if (!deleted) throw new AppError('NOT_FOUND', 'room not found');
      work.audit({ action: 'rooms.delete', resourceType: 'room', resourceId: id });
      work.invalidate(HOSPITALS_CACHE, [roomKey(id), roomListKey(deleted.unitId)]);
    });
    return unlessReferenced(write, 'room');
  }
}
