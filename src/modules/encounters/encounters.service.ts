import type { Clock } from '../../platform/clock.js';
import { listedPatients, type UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type DiagnosisRow, type EncounterRow, EncountersRepository, type VitalRow } from './encounters.repository.js';
import type {
  AddDiagnosis,
  Diagnosis,
  Encounter,
  EncounterDetail,
  EncounterQuery,
  OpenEncounter,
  PatientEncounterQuery,
  Vital,
  VitalHistoryQuery,
} from './encounters.shapes.js';
import { NotesRepository } from './notes.repository.js';
import { openEncounterFor } from './open-encounter.js';
import { NotesService, toNote } from './notes.service.js';
import { toCanonical, type VitalInput } from './vital-signs.js';

/** What this module needs of an appointment (the appointments module's `get`). */
export interface AppointmentSummary {
  id: string;
  patientId: string;
  status: string;
  hospitalId?: string | null;
}

export interface EncountersDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** An appointment of the caller's organization (app.appointments.get); may throw NOT_FOUND. */
  appointment(ctx: TenantContext, id: string): Promise<AppointmentSummary | undefined>;
  /**
   * Whether the patient is in the caller's organization and active (app.patients), or undefined when
   * that cannot be asked: the database's reference still refuses a patient of another tenant then.
   */
  patientState(ctx: TenantContext, patientId: string): Promise<'active' | 'archived' | 'missing' | undefined>;
  /** Moves a checked-in appointment to in-progress (app.appointments.start), inside the opening's transaction. */
  startAppointment(ctx: TenantContext, id: string): Promise<unknown>;
}

/** Appointment states an encounter may be opened from. */
const OPENS_FROM = ['checked-in', 'in-progress'];
/** How far in the future a measurement's time may be (clocks of devices and servers differ a little). */
const CLOCK_SKEW_MS = 5 * 60_000;

export function toEncounter(row: EncounterRow): Encounter {
  return {
    id: row.id,
    patientId: row.patientId,
    appointmentId: row.appointmentId,
    hospitalId: row.hospitalId,
    status: row.status === 'signed' ? 'signed' : 'open',
    openedBy: row.openedBy,
    openedAt: row.createdAt,
    signedAt: row.signedAt,
    signedBy: row.signedBy,
  };
}

const toDiagnosis = (row: DiagnosisRow): Diagnosis => ({
  id: row.id,
  encounterId: row.encounterId,
  patientId: row.patientId,
  code: row.code,
  text: row.text,
  primary: row.primary,
  recordedBy: row.recordedBy,
  createdAt: row.createdAt,
});

const toVital = (row: VitalRow): Vital => ({
  id: row.id,
  encounterId: row.encounterId,
  patientId: row.patientId,
  type: row.type,
  value: row.value,
  secondaryValue: row.secondaryValue,
  unit: row.unit,
  recordedAt: row.recordedAt,
  recordedBy: row.recordedBy,
});

function notFound(what: string, field: string): AppError {
  return new AppError('NOT_FOUND', `${what} not found`, [{ path: `body.${field}`, message: `no such ${what}` }]);
}

/** Encounters, their diagnoses and vitals; notes are `notes` (a NotesService). */
export class EncountersService {
  readonly notes: NotesService;
  private readonly uow: Pick<UnitOfWork, 'read' | 'write'>;
  private readonly now: Clock;

  constructor(private readonly deps: EncountersDependencies) {
    this.uow = deps.uow;
    this.now = deps.now;
    this.notes = new NotesService(deps.uow, deps.now);
  }

  async open(ctx: TenantContext, input: OpenEncounter): Promise<Encounter> {
    const state = await this.deps.patientState(ctx, input.patientId);
    if (state === 'missing') throw notFound('patient', 'patientId');
    if (state === 'archived') throw new AppError('CONFLICT', 'the patient is archived: an encounter cannot be opened');
    let hospitalId = input.hospitalId ?? null;
    let startsAppointment = false;
    if (input.appointmentId) {
      const appointment = await this.deps.appointment(ctx, input.appointmentId).catch((error: unknown) => {
        if (error instanceof AppError && error.code === 'NOT_FOUND') return undefined;
        throw error;
      });
      if (!appointment) throw notFound('appointment', 'appointmentId');
      if (appointment.patientId !== input.patientId) {
        throw new AppError('VALIDATION_FAILED', 'the appointment is for another patient', [
          { path: 'body.appointmentId', message: 'is not an appointment of this patient' },
        ]);
      }
      if (!OPENS_FROM.includes(appointment.status)) {
        throw new AppError(
          'CONFLICT',
          `the appointment is ${appointment.status}: an encounter opens from a checked-in or in-progress appointment`,
        );
      }
      hospitalId ??= appointment.hospitalId ?? null;
      startsAppointment = appointment.status === 'checked-in';
    }
    return this.uow.write(ctx, async (work) => {
      const row = await work
        .repo(EncountersRepository)
        .insert({
          patientId: input.patientId,
          appointmentId: input.appointmentId ?? null,
          hospitalId,
          openedBy: ctx.user.id,
          at: this.now(),
        })
        .catch((error: unknown) => {
          const { code, constraint } = databaseError(error);
          if (code === '23505') throw new AppError('CONFLICT', 'this appointment already has an encounter');
          if (code === '23503' && constraint === 'encounters_patient_fk') throw notFound('patient', 'patientId');
          if (code === '23503' && constraint === 'encounters_hospital_fk') throw notFound('hospital', 'hospitalId');
          if (code === '23503' && constraint === 'encounters_appointment_fk')
            throw notFound('appointment', 'appointmentId');
          throw error;
        });
      work.audit({
        action: 'encounters.open',
        resourceType: 'encounter',
        resourceId: row.id,
        patientId: row.patientId,
      });
      // The visit has begun: the appointment goes in progress with the encounter, or neither does.
      if (startsAppointment) await this.deps.startAppointment(ctx, input.appointmentId!);
      return toEncounter(row);
    });
  }

  /**
   * An encounter of the caller's organization, or undefined: for other modules (an order placed in
   * an encounter). Not audited by itself; the caller's own operation is.
   */
  async get(ctx: TenantContext, id: string): Promise<Encounter | undefined> {
    const row = await this.uow.read(ctx, (work) => work.repo(EncountersRepository).find(id));
    return row ? toEncounter(row) : undefined;
  }

  /** Whether the caller opened an encounter for the patient (a treating relationship). Not audited. */
  isTreating(ctx: TenantContext, patientId: string): Promise<boolean> {
    return this.uow.read(ctx, (work) => work.repo(EncountersRepository).hasOpenedFor(ctx.user.id, patientId));
  }

  /** One encounter with its notes (current versions), diagnoses and vitals. */
  detail(ctx: TenantContext, id: string): Promise<EncounterDetail> {
    return this.uow.read(ctx, async (work) => {
      const repo = work.repo(EncountersRepository);
      const row = await repo.find(id);
      if (!row) throw new AppError('NOT_FOUND', 'encounter not found');
      const [notes, diagnoses, vitals] = await Promise.all([
        work.repo(NotesRepository).ofEncounter(id),
        repo.diagnosesOf(id),
        repo.vitalsOf(id),
      ]);
      work.audit({ action: 'encounters.read', resourceType: 'encounter', resourceId: id, patientId: row.patientId });
      return {
        ...toEncounter(row),
        notes: notes.map(toNote),
        diagnoses: diagnoses.map(toDiagnosis),
        vitals: vitals.map(toVital),
      };
    });
  }

  /** Encounters in the order they were opened, optionally of one patient or in one state. */
  list(ctx: TenantContext, query: EncounterQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(EncountersRepository)
        .list({ patientId: query.patientId, status: query.status }, query.limit, decodeCursor(query.cursor));
      const page = toPage(rows, query.limit, (row) => ({ sort: row.createdAt.toISOString(), id: row.id }), toEncounter);
      // Every patient whose encounters the caller saw: the trail answers "who saw this patient's records".
      // An empty page is a read too (of the patient filtered on, if any).
      work.audit({
        action: 'encounters.list',
        resourceType: 'encounter',
        ...listedPatients(page.data, query.patientId),
      });
      return page;
    });
  }

  /** A patient's encounters (404 for a patient not in the caller's organization). */
  async listOfPatient(ctx: TenantContext, patientId: string, query: PatientEncounterQuery) {
    await this.patientMustExist(ctx, patientId);
    return this.list(ctx, { ...query, patientId });
  }

  /** A patient's vitals across encounters, in the order they were taken, optionally of one type. */
  async vitalsOfPatient(ctx: TenantContext, patientId: string, query: VitalHistoryQuery) {
    await this.patientMustExist(ctx, patientId);
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(EncountersRepository)
        .vitalsOfPatient(patientId, query.type, query.limit, decodeCursor(query.cursor));
      work.audit({ action: 'vitals.list', resourceType: 'vital', patientId });
      return toPage(rows, query.limit, (row) => ({ sort: row.recordedAt.toISOString(), id: row.id }), toVital);
    });
  }

  private async patientMustExist(ctx: TenantContext, patientId: string): Promise<void> {
    if ((await this.deps.patientState(ctx, patientId)) === 'missing')
      throw new AppError('NOT_FOUND', 'patient not found');
  }

  /** Signs the encounter and every note on it not signed yet, closing it. */
  sign(ctx: TenantContext, id: string): Promise<Encounter> {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(EncountersRepository);
      const encounter = await repo.find(id, true);
      if (!encounter) throw new AppError('NOT_FOUND', 'encounter not found');
      if (encounter.status !== 'open') throw new AppError('CONFLICT', `the encounter is already ${encounter.status}`);
      const at = this.now();
      const signed = await repo.sign(id, ctx.user.id, at);
      const notes = await work.repo(NotesRepository).signAllOf(id, ctx.user.id, at);
      const patientId = encounter.patientId;
      work.audit({ action: 'encounters.sign', resourceType: 'encounter', resourceId: id, patientId });
      for (const note of notes) {
        work.audit({ action: 'notes.sign', resourceType: 'note', resourceId: note.id, patientId });
      }
      return toEncounter(signed);
    });
  }

  /** Adds a diagnosis; a new primary one demotes the encounter's previous primary, in the same transaction. */
  addDiagnosis(ctx: TenantContext, encounterId: string, input: AddDiagnosis): Promise<Diagnosis> {
    return this.uow.write(ctx, async (work) => {
      const encounter = await openEncounterFor(work, encounterId, 'diagnoses');
      const repo = work.repo(EncountersRepository);
      const at = this.now();
      // The encounter's lock orders concurrent primaries: the last one to commit is the primary.
      if (input.primary) await repo.demotePrimary(encounterId, at);
      const row = await repo.insertDiagnosis({
        encounterId,
        patientId: encounter.patientId,
        code: input.code,
        text: input.text,
        primary: input.primary,
        recordedBy: ctx.user.id,
        at,
      });
      work.audit({
        action: 'diagnoses.create',
        resourceType: 'diagnosis',
        resourceId: row.id,
        patientId: row.patientId,
      });
      return toDiagnosis(row);
    });
  }

  /** Records a measurement, converted to its type's canonical unit after its range is checked. */
  recordVital(ctx: TenantContext, encounterId: string, input: VitalInput): Promise<Vital> {
    return this.uow.write(ctx, async (work) => {
      // The encounter first: another organization's gets its 404 whatever the body holds.
      const encounter = await openEncounterFor(work, encounterId, 'vitals');
      const vital = toCanonical(input);
      const now = this.now();
      const recordedAt = input.recordedAt ? new Date(input.recordedAt) : now;
      if (recordedAt.getTime() > now.getTime() + CLOCK_SKEW_MS) {
        throw new AppError('VALIDATION_FAILED', 'recordedAt is in the future', [
          { path: 'body.recordedAt', message: 'must not be in the future' },
        ]);
      }
      const row = await work.repo(EncountersRepository).insertVital({
        ...vital,
        encounterId,
        patientId: encounter.patientId,
        recordedAt,
        recordedBy: ctx.user.id,
        at: now,
      });
      work.audit({ action: 'vitals.record', resourceType: 'vital', resourceId: row.id, patientId: row.patientId });
      return toVital(row);
    });
  }
}
