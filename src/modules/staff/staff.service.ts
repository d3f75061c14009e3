import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, type PageQuery, toPage } from '../../platform/http/pagination.js';
import { isRole, type Role } from '../../platform/permissions.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import type { Hospital, Unit } from '../hospitals/hospitals.shapes.js';
import { type ProfileValues, type ShiftRow, StaffRepository, type StaffRow } from './staff.repository.js';
import type {
  OnDuty,
  OnDutyEntry,
  PatchOwnProfile,
  PutStaffProfile,
  Shift,
  StaffMember,
  StaffQuery,
} from './staff.shapes.js';

/** What the staff module needs from others (users, hospitals), read when called: modules load together. */
export interface StaffDependencies {
  member(ctx: TenantContext, userId: string): Promise<{ id: string; role: Role } | undefined>;
  unit(ctx: TenantContext, id: string): Promise<Unit | undefined>;
  hospital(ctx: TenantContext, id: string): Promise<Hospital | undefined>;
}

/**
 * Who is on duty in a unit is cached per organization (namespace `staff`, key `on-duty:<unitId>`), for
 * 20 seconds and without grace (the roster's gaps are what clinical alerts page on). A shift started or
 * ended through this service drops its unit's entry after the commit, on every instance, and so does
 * removing a member who left a shift open (UsersService.remove, through `leaveRosters`): they leave
 * the roster. The short TTL bounds only shifts written around the services (seeds). The staff
 * list is not cached: members join through Better Auth (an accepted invitation), which could not drop
 * it, and its filters and pages would make many keys for little gain.
 */
export const STAFF_CACHE = 'staff';
const ON_DUTY_TTL_MS = 20_000;
export const onDutyKey = (unitId: string) => `on-duty:${unitId}`;

/** A roster entry as cached: JSON (Redis holds it as text), the start as an ISO string. */
type CachedOnDuty = Omit<OnDutyEntry, 'startedAt'> & { startedAt: string };

/** The order of the roster, and of its gaps: those clinical alerts page on first. */
export const ROSTER_ROLES = ['nurse', 'doctor', 'manager', 'operator', 'admin'] as const satisfies readonly Role[];

function role(value: string, what: string): Role {
  // Roles are written only from ROLES; anything else is corruption.
  if (!isRole(value)) throw new Error(`${what} has an unknown role`);
  return value;
}

function toStaff(row: StaffRow): StaffMember {
  const { joinedAt: _, shiftId, shiftHospitalId, shiftUnitId, shiftRole, shiftStartedAt, ...rest } = row;
  const shift =
    shiftId && shiftHospitalId && shiftUnitId && shiftRole && shiftStartedAt
      ? {
          id: shiftId,
          hospitalId: shiftHospitalId,
          unitId: shiftUnitId,
          role: role(shiftRole, `shift ${shiftId}`),
          startedAt: shiftStartedAt,
        }
      : null;
  return { ...rest, role: role(row.role, `member ${row.userId}`), onDuty: shift !== null, shift };
}

function toShift({ organizationId: _, createdAt: __, updatedAt: ___, ...row }: ShiftRow): Shift {
  return { ...row, role: role(row.role, `shift ${row.id}`) };
}

/** Thrown inside a shift's transaction when one is already open; answered as a 409 after it. */
class OpenShift extends Error {
  constructor(readonly shift: ShiftRow) {
    super('a shift is already open');
  }
}

const notFound = (what: string, path?: string) =>
  new AppError('NOT_FOUND', `${what} not found`, path ? [{ path, message: `${what} not found` }] : undefined);

/**
 * Staff profiles (where a member works, licence, contact) and shifts (who is on duty where). Names
 * and phone numbers of staff are personal data: reading them is audited, like the member list.
 */
export class StaffService {
  constructor(
    private readonly uow: Pick<UnitOfWork, 'read' | 'write'>,
    private readonly now: Clock,
    private readonly deps: StaffDependencies,
  ) {}

  list(ctx: TenantContext, query: StaffQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(StaffRepository).list(query, query.limit, decodeCursor(query.cursor));
      work.audit({ action: 'staff.list', resourceType: 'staff-profile' });
      return toPage(rows, query.limit, (r) => ({ sort: r.joinedAt.toISOString(), id: r.userId }), toStaff);
    });
  }

  get(ctx: TenantContext, userId: string): Promise<StaffMember> {
    return this.uow.read(ctx, async (work) => {
      const row = await work.repo(StaffRepository).find(userId);
      if (!row) throw notFound('user');
      work.audit({ action: 'staff.read', resourceType: 'staff-profile', resourceId: userId });
      return toStaff(row);
    });
  }

  /** Replaces a member's profile (fields left out are cleared); a unit implies its hospital. */
  async put(ctx: TenantContext, userId: string, input: PutStaffProfile): Promise<StaffMember> {
    if (!(await this.deps.member(ctx, userId))) throw notFound('user');
    const place = await this.placeOf(ctx, input);
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(StaffRepository);
      const current = await repo.currentProfile(userId);
      // A deactivated unit or hospital takes nobody new; someone already placed there keeps it.
      if (place.unit && !place.unit.active && current?.unitId !== place.unit.id) {
        throw new AppError('CONFLICT', 'the unit is deactivated: nobody new is placed in it');
      }
      if (place.hospital && !place.hospital.active && current?.hospitalId !== place.hospital.id) {
        throw new AppError('CONFLICT', 'the hospital is deactivated: nobody new is placed in it');
      }
      const values: ProfileValues = {
        hospitalId: place.hospital?.id ?? null,
        unitId: place.unit?.id ?? null,
        licenceNumber: input.licenceNumber ?? null,
        specialization: input.specialization ?? null,
        phone: input.phone ?? null,
      };
      await repo.upsertProfile(userId, values, this.now());
      work.audit({ action: 'staff-profiles.update', resourceType: 'staff-profile', resourceId: userId });
      return toStaff((await repo.find(userId))!);
    });
  }

  /** A member's own contact details: specialization and phone. */
  updateOwn(ctx: TenantContext, patch: PatchOwnProfile): Promise<StaffMember> {
    const userId = ctx.user.id;
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(StaffRepository);
      await repo.upsertProfile(userId, patch, this.now());
      work.audit({ action: 'staff-profiles.update', resourceType: 'staff-profile', resourceId: userId });
      const row = await repo.find(userId);
      if (!row) throw notFound('user');
      return toStaff(row);
    });
  }

  private async placeOf(ctx: TenantContext, input: PutStaffProfile): Promise<{ hospital?: Hospital; unit?: Unit }> {
    const unit = input.unitId ? await this.deps.unit(ctx, input.unitId) : undefined;
    if (input.unitId && !unit) throw notFound('unit', 'body.unitId');
    const hospitalId = input.hospitalId ?? unit?.hospitalId;
    if (unit && hospitalId !== unit.hospitalId) {
      throw new AppError('VALIDATION_FAILED', 'the unit is not in that hospital', [
        { path: 'body.unitId', message: 'is not a unit of body.hospitalId' },
      ]);
    }
    const hospital = hospitalId ? await this.deps.hospital(ctx, hospitalId) : undefined;
    if (hospitalId && !hospital) throw notFound('hospital', 'body.hospitalId');
    return { hospital, unit };
  }

  /** The role a user works a shift in: the caller's, or (for a manager acting for them) theirs; 404 for a non-member. */
  private async roleOf(ctx: TenantContext, userId: string): Promise<Role> {
    if (userId === ctx.user.id) return ctx.role;
    const member = await this.deps.member(ctx, userId);
    if (!member) throw notFound('user');
    return member.role;
  }

  async startShift(ctx: TenantContext, userId: string, unitId: string): Promise<Shift> {
    const shiftRole = await this.roleOf(ctx, userId);
    const unit = await this.deps.unit(ctx, unitId);
    if (!unit) throw notFound('unit', 'body.unitId');
    if (!unit.active) throw new AppError('CONFLICT', 'the unit is deactivated: no shift starts in it');
    const hospital = await this.deps.hospital(ctx, unit.hospitalId);
    if (!hospital?.active) throw new AppError('CONFLICT', 'the hospital is deactivated: no shift starts in it');
    try {
      return await this.uow.write(ctx, async (work) => {
        const repo = work.repo(StaffRepository);
        const open = await repo.openShift(userId);
        // The answer names the unit, looked up once this transaction is over (PGlite has one connection).
        if (open) throw new OpenShift(open);
        const row = await repo.insertShift({
          userId,
          hospitalId: unit.hospitalId,
          unitId,
          role: shiftRole,
          startedAt: this.now(),
          startedBy: ctx.user.id,
        });
        work.audit({ action: 'shifts.start', resourceType: 'shift', resourceId: row.id });
        work.invalidate(STAFF_CACHE, [onDutyKey(unitId)]);
        return toShift(row);
      });
    } catch (error) {
      if (error instanceof OpenShift) throw await this.alreadyOnDuty(ctx, error.shift);
      const { code, constraint } = databaseError(error);
      // Two starts at once: both saw no open shift, the unique index let one in. Name the winner's unit.
      if (code === '23505' && constraint === 'shifts_open_user_idx') {
        const open = await this.uow.read(ctx, (work) => work.repo(StaffRepository).openShift(userId));
        if (open) throw await this.alreadyOnDuty(ctx, open);
        throw new AppError('CONFLICT', 'a shift was started at the same time: try again');
      }
      if (code === '23503') throw notFound('unit', 'body.unitId');
      throw error;
    }
  }

  private async alreadyOnDuty(ctx: TenantContext, open: ShiftRow): Promise<AppError> {
    const unit = await this.deps.unit(ctx, open.unitId);
    const where = unit ? `unit "${unit.name}" (${open.unitId})` : `unit ${open.unitId}`;
    return new AppError(
      'CONFLICT',
      `a shift is already open, in ${where} since ${open.startedAt.toISOString()}: end it first`,
      [{ path: 'unitId', message: open.unitId }],
    );
  }

  async endShift(ctx: TenantContext, userId: string): Promise<Shift> {
    await this.roleOf(ctx, userId);
    return this.uow.write(ctx, async (work) => {
      const row = await work.repo(StaffRepository).endShift(userId, this.now(), ctx.user.id);
      if (!row) throw new AppError('CONFLICT', 'no shift is open: there is nothing to end');
      work.audit({ action: 'shifts.end', resourceType: 'shift', resourceId: row.id });
      work.invalidate(STAFF_CACHE, [onDutyKey(row.unitId)]);
      return toShift(row);
    });
  }

  /** A member's shifts, newest first. */
  async shifts(ctx: TenantContext, userId: string, page: PageQuery) {
    await this.roleOf(ctx, userId);
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(StaffRepository).shiftsOf(userId, page.limit, decodeCursor(page.cursor));
      work.audit({ action: 'shifts.list', resourceType: 'shift' });
      return toPage(rows, page.limit, (r) => ({ sort: r.startedAt.toISOString(), id: r.id }), toShift);
    });
  }

  /**
   * For the write that removes a member (UsersService.remove): once it commits, the cached roster of
   * the unit where they left a shift open is dropped, since they are no longer on duty in it.
   */
  leaveRosters(ctx: TenantContext, userId: string): Promise<void> {
    // A read joins the removal's transaction; its invalidation is done after that commits.
    return this.uow.read(ctx, async (work) => {
      const open = await work.repo(StaffRepository).openShift(userId);
      if (open) work.invalidate(STAFF_CACHE, [onDutyKey(open.unitId)]);
    });
  }

  /**
   * Who is on duty in a unit now, by role, and the roles with nobody (`gaps`, nurse and doctor first).
   * Served from the cache when warm; the read is audited all the same.
   */
  async onDuty(ctx: TenantContext, unitId: string): Promise<OnDuty> {
    const unit = await this.deps.unit(ctx, unitId);
    if (!unit) throw notFound('unit');
    return this.uow.read(ctx, async (work) => {
      const entries = await work.cached(STAFF_CACHE, {
        key: onDutyKey(unitId),
        ttl: ON_DUTY_TTL_MS,
        factory: async (): Promise<CachedOnDuty[]> =>
          (await work.repo(StaffRepository).onDuty(unitId)).map((row) => ({
            userId: row.userId,
            name: row.name,
            role: role(row.role, `shift ${row.shiftId}`),
            shiftId: row.shiftId,
            startedAt: row.startedAt.toISOString(),
          })),
      });
      work.audit({ action: 'shifts.on-duty', resourceType: 'unit', resourceId: unitId });
      const onDuty = Object.fromEntries(ROSTER_ROLES.map((r) => [r, []])) as unknown as OnDuty['onDuty'];
      for (const entry of entries) onDuty[entry.role].push({ ...entry, startedAt: new Date(entry.startedAt) });
      return { unitId, hospitalId: unit.hospitalId, onDuty, gaps: ROSTER_ROLES.filter((r) => onDuty[r].length === 0) };
    });
  }
}
