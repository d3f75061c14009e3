import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { Role } from '../../platform/permissions.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type AppointmentAction, isAppointmentStatus, nextStatus } from './appointment-status.js';
import {
  type AppointmentQuery,
  type AppointmentRow,
  AppointmentsRepository,
  type Slot,
} from './appointments.repository.js';
import type {
  Appointment,
  AppointmentFilter,
  BookAppointment,
  RescheduleAppointment,
  UnitDayQuery,
} from './appointments.shapes.js';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
/** The longest appointment. */
export const MAX_DURATION_MS = 24 * HOUR;
/** How far back a start may lie: a walk-in recorded after it began, the same day. */
export const MAX_PAST_MS = DAY;
/** How far ahead a start may lie. */
export const MAX_AHEAD_MS = 2 * 366 * DAY;

/** The roles an appointment can be with. */
const PRACTITIONER_ROLES: readonly Role[] = ['doctor', 'nurse'];

export interface AppointmentsDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** A member of the caller's organization, with their role (app.users.member). */
  member(ctx: TenantContext, userId: string): Promise<{ role: Role } | undefined>;
  /**
   * Whether the patient is in the caller's organization and active (app.patients), or undefined when
   * that cannot be asked: the database's reference still refuses a patient of another tenant then.
   */
  patientState(ctx: TenantContext, patientId: string): Promise<'active' | 'archived' | 'missing' | undefined>;
  /** A room of the caller's organization (app.hospitals). */
  room(ctx: TenantContext, roomId: string): Promise<{ hospitalId: string; active: boolean } | undefined>;
  /** A unit of the caller's organization: its hospital's time zone and its rooms (app.hospitals). */
  unit(ctx: TenantContext, unitId: string): Promise<{ timezone: string; roomIds: string[] } | undefined>;
}

function toAppointment(row: AppointmentRow): Appointment {
  // Statuses are only written through the machine; anything else is corruption.
  if (!isAppointmentStatus(row.status)) throw new Error(`appointment ${row.id} has an unknown status`);
  return {
    id: row.id,
    patientId: row.patientId,
    practitionerId: row.practitionerId,
    hospitalId: row.hospitalId,
    roomId: row.roomId,
    start: row.startsAt,
    end: row.endsAt,
    reason: row.reason,
    status: row.status,
    cancelReason: row.cancelReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

const invalid = (path: string, message: string) =>
  new AppError('VALIDATION_FAILED', 'the appointment times are not valid', [{ path, message }]);

// A reference the database refused (SQLSTATE 23503), by the constraint that refused it.
const MISSING: Record<string, { field: string; what: string }> = {
  appointments_patient_fk: { field: 'patientId', what: 'patient' },
  appointments_room_fk: { field: 'roomId', what: 'room' },
  appointments_practitioner_id_users_id_fk: { field: 'practitionerId', what: 'practitioner' },
};

const notFound = (what: string, field: string) =>
  new AppError('NOT_FOUND', `${what} not found`, [{ path: `body.${field}`, message: `${what} not found` }]);

/** A double booking names the appointment in the way (id and times), never its patient. */
function doubleBooking(conflict: AppointmentRow, by: 'practitioner' | 'room'): AppError {
  const range = `${conflict.startsAt.toISOString()} to ${conflict.endsAt.toISOString()}`;
  return new AppError('CONFLICT', `the ${by} is already booked from ${range} (appointment ${conflict.id})`, [
    { path: `body.${by}Id`, message: `overlaps appointment ${conflict.id} (${range})` },
  ]);
}

/** Booking, rescheduling and the status machine of appointments; per practitioner, room and patient. */
/** How long before its start an appointment can be checked in (a patient early for a morning visit). */
export const CHECK_IN_OPENS_MS = 12 * 3600_000;

export class AppointmentsService {
  constructor(private readonly deps: AppointmentsDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  /** An appointment, or 404. A read of patient data: audited. */
  get(ctx: TenantContext, id: string): Promise<Appointment> {
    return this.uow.read(ctx, async (work) => {
      const row = await work.repo(AppointmentsRepository).find(id);
      if (!row) throw new AppError('NOT_FOUND', 'appointment not found');
      work.audit({
        action: 'appointments.read',
        resourceType: 'appointment',
        resourceId: id,
        patientId: row.patientId,
      });
      return toAppointment(row);
    });
  }

  list(ctx: TenantContext, filter: AppointmentFilter) {
    return this.page(ctx, filter, {
      practitionerId: filter.practitionerId,
      patientId: filter.patientId,
      roomId: filter.roomId,
      status: filter.status,
      startFrom: filter.from,
      startBefore: filter.to,
      day: filter.day ? { date: filter.day, timezone: 'UTC' } : undefined,
    });
  }

  /** The appointments in the rooms of a unit on one day of its hospital's calendar. */
  async unitDay(ctx: TenantContext, unitId: string, query: UnitDayQuery) {
    const unit = await this.deps.unit(ctx, unitId);
    if (!unit) throw new AppError('NOT_FOUND', 'unit not found');
    return this.page(ctx, query, {
      roomIds: unit.roomIds,
      status: query.status,
      day: { date: query.day, timezone: unit.timezone },
    });
  }

  /**
   * One event per appointment listed, naming its patient, so that a patient's access history shows
   * every list they appeared in; an empty page records the list itself.
   */
  private page(ctx: TenantContext, page: { limit: number; cursor?: string }, query: AppointmentQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(AppointmentsRepository).list(query, page.limit, decodeCursor(page.cursor));
      const result = toPage(
        rows,
        page.limit,
        (row) => ({ sort: row.startsAt.toISOString(), id: row.id }),
        toAppointment,
      );
      for (const appointment of result.data) {
        work.audit({
          action: 'appointments.list',
          resourceType: 'appointment',
          resourceId: appointment.id,
          patientId: appointment.patientId,
        });
      }
      if (result.data.length === 0) work.audit({ action: 'appointments.list', resourceType: 'appointment' });
      return result;
    });
  }

  /**
   * Whether the caller is the practitioner of any appointment of the patient (any status). For the
   * patients module's access log; not audited by itself, the caller's own operation is.
   */
  isTreating(ctx: TenantContext, patientId: string): Promise<boolean> {
    return this.uow.read(ctx, (work) => work.repo(AppointmentsRepository).hasPractitioner(patientId, ctx.user.id));
  }

  async book(ctx: TenantContext, input: BookAppointment): Promise<Appointment> {
    this.checkTimes(input.start, input.end);
    await this.checkPractitioner(ctx, input.practitionerId);
    await this.checkPatient(ctx, input.patientId);
    const hospitalId = input.roomId ? await this.roomHospital(ctx, input.roomId) : null;
    const slot: Slot = { ...input, roomId: input.roomId ?? null };
    return this.holdingSlot(
      ctx,
      () => slot,
      () =>
        this.uow.write(ctx, async (work) => {
          const row = await work.repo(AppointmentsRepository).insert({
            patientId: input.patientId,
            practitionerId: input.practitionerId,
            roomId: input.roomId ?? null,
            hospitalId,
            startsAt: input.start,
            endsAt: input.end,
            reason: input.reason ?? null,
            status: 'booked',
          });
          work.audit({
            action: 'appointments.book',
            resourceType: 'appointment',
            resourceId: row.id,
            patientId: row.patientId,
          });
          return toAppointment(row);
        }),
    );
  }

  /** New times, room or practitioner for a booked appointment. */
  async reschedule(ctx: TenantContext, id: string, changes: RescheduleAppointment): Promise<Appointment> {
    if (changes.start && changes.end) this.checkTimes(changes.start, changes.end);
    if (changes.practitionerId) await this.checkPractitioner(ctx, changes.practitionerId);
    const newHospitalId = changes.roomId ? await this.roomHospital(ctx, changes.roomId) : null;
    let slot: Slot | undefined;
    return this.holdingSlot(
      ctx,
      () => slot,
      () =>
        this.uow.write(ctx, async (work) => {
          const repo = work.repo(AppointmentsRepository);
          const { current } = await this.transitionable(repo, id, 'reschedule');
          const roomId = changes.roomId === undefined ? current.roomId : changes.roomId;
          const hospitalId = changes.roomId === undefined ? current.hospitalId : newHospitalId;
          slot = {
            practitionerId: changes.practitionerId ?? current.practitionerId,
            roomId,
            start: changes.start ?? current.startsAt,
            end: changes.end ?? current.endsAt,
            excludeId: id,
          };
          const row = await repo.update(
            id,
            { practitionerId: slot.practitionerId, roomId, hospitalId, startsAt: slot.start, endsAt: slot.end },
            this.deps.now(),
          );
          work.audit({
            action: 'appointments.reschedule',
            resourceType: 'appointment',
            resourceId: id,
            patientId: row.patientId,
          });
          return toAppointment(row);
        }),
    );
  }

  checkIn(ctx: TenantContext, id: string) {
    return this.transition(ctx, id, 'check-in');
  }

  start(ctx: TenantContext, id: string) {
    return this.transition(ctx, id, 'start');
  }

  complete(ctx: TenantContext, id: string) {
    return this.transition(ctx, id, 'complete');
  }

  cancel(ctx: TenantContext, id: string, reason: string) {
    return this.transition(ctx, id, 'cancel', reason);
  }

  noShow(ctx: TenantContext, id: string) {
    return this.transition(ctx, id, 'no-show');
  }

  private transition(ctx: TenantContext, id: string, action: AppointmentAction, cancelReason?: string) {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(AppointmentsRepository);
      const { current, next } = await this.transitionable(repo, id, action);
      const now = this.deps.now();
      if (action === 'check-in' && now.getTime() < current.startsAt.getTime() - CHECK_IN_OPENS_MS) {
        throw new AppError(
          'CONFLICT',
          `the appointment starts at ${current.startsAt.toISOString()}: check-in opens ${CHECK_IN_OPENS_MS / 3600_000} hours before`,
        );
      }
      if (action === 'no-show' && now < current.startsAt) {
        throw new AppError(
          'CONFLICT',
          `the appointment starts at ${current.startsAt.toISOString()}: it can be marked a no-show only once it has started`,
        );
      }
      const row = await repo.update(id, { status: next, ...(cancelReason ? { cancelReason } : {}) }, now);
      work.audit({
        action: `appointments.${action}`,
        resourceType: 'appointment',
        resourceId: id,
        patientId: row.patientId,
      });
      return toAppointment(row);
    });
  }

  /** The appointment, locked, if the machine allows `action` from its status; 404 or 409 otherwise. */
  private async transitionable(repo: AppointmentsRepository, id: string, action: AppointmentAction) {
    const current = await repo.find(id, { lock: true });
    if (!current) throw new AppError('NOT_FOUND', 'appointment not found');
    const next = isAppointmentStatus(current.status) ? nextStatus(current.status, action) : undefined;
    if (!next) throw new AppError('CONFLICT', `the appointment is ${current.status}: it cannot be ${PAST[action]}`);
    return { current, next };
  }

  private checkTimes(start: Date, end: Date): void {
    if (end <= start) throw invalid('body.end', 'must be after start');
    if (end.getTime() - start.getTime() > MAX_DURATION_MS)
      throw invalid('body.end', 'must be at most 24 hours after start');
    const now = this.deps.now().getTime();
    if (start.getTime() < now - MAX_PAST_MS) throw invalid('body.start', 'must not be more than 24 hours ago');
    if (start.getTime() > now + MAX_AHEAD_MS) throw invalid('body.start', 'must be within two years from now');
  }

  private async checkPractitioner(ctx: TenantContext, userId: string): Promise<void> {
    const member = await this.deps.member(ctx, userId);
    if (!member) throw notFound('practitioner', 'practitionerId');
    if (!PRACTITIONER_ROLES.includes(member.role)) {
      throw new AppError('VALIDATION_FAILED', 'the practitioner must be a doctor or a nurse', [
        { path: 'body.practitionerId', message: `is a member with the ${member.role} role, not a doctor or a nurse` },
      ]);
    }
  }

  private async checkPatient(ctx: TenantContext, patientId: string): Promise<void> {
    const state = await this.deps.patientState(ctx, patientId);
    if (state === 'missing') throw notFound('patient', 'patientId');
    if (state === 'archived')
      throw new AppError('CONFLICT', 'the patient is archived: an appointment cannot be booked');
  }

  /**
   * The hospital of a room that takes bookings; 404 for no such room in this tenant. (A room
   * deactivated between this check and the write still gets the appointment: deactivation closes a
   * room to new bookings, it does not protect a booking in flight.)
   */
  private async roomHospital(ctx: TenantContext, roomId: string): Promise<string> {
    const room = await this.deps.room(ctx, roomId);
    if (!room) throw notFound('room', 'roomId');
    if (!room.active) throw new AppError('CONFLICT', 'the room is deactivated: it takes no new appointments');
    return room.hospitalId;
  }

  /**
   * Runs a write that takes a slot. When the database's exclusion constraints refuse it (another
   * booking holds the practitioner or the room then, possibly one committed a moment ago by a
   * concurrent request), answers 409 naming that appointment. If the appointment in the way was
   * cancelled in the meantime the write is tried again.
   */
  private async holdingSlot<T>(ctx: TenantContext, slot: () => Slot | undefined, write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        const { code, constraint } = databaseError(error);
        const missing = code === '23503' && constraint ? MISSING[constraint] : undefined;
        if (missing) throw notFound(missing.what, missing.field);
        const wanted = slot();
        if (code !== '23P01' || !wanted) throw error;
        const by = constraint === 'appointments_room_no_overlap' ? 'room' : 'practitioner';
        const conflict = await this.uow.read(ctx, (work) => work.repo(AppointmentsRepository).conflicting(wanted, by));
        if (conflict) throw doubleBooking(conflict, by);
        if (attempt === 3) throw new AppError('CONFLICT', `the ${by} is already booked at that time`);
      }
    }
  }
}

/** "it cannot be checked in": each action in the words of the 409. */
const PAST: Record<AppointmentAction, string> = {
  reschedule: 'rescheduled',
  'check-in': 'checked in',
  start: 'started',
  complete: 'completed',
  cancel: 'cancelled',
  'no-show': 'marked a no-show',
};
