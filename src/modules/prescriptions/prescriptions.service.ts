import type { Clock } from '../../platform/clock.js';
import { listedPatients, type UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type AllergyLike, conflictingAllergies } from './allergy-match.js';
import { nextStatus, type PrescriptionAction, type PrescriptionStatus } from './prescription-status.js';
import { type PrescriptionRow, PrescriptionsRepository } from './prescriptions.repository.js';
import type { CreatePrescription, Prescription, PrescriptionQuery } from './prescriptions.shapes.js';

/** What this module needs of a patient (app.patients.get: an audited read, 404 when not the organization's). */
export interface PatientSummary {
  id: string;
  status: string;
  allergies: AllergyLike[];
}

/** What this module needs of a medication (app.medications.find). */
export interface MedicationSummary {
  id: string;
  name: string;
  ingredients: string[];
  requiresPriorAuth: boolean;
  active: boolean;
}

/** What this module needs of an encounter (app.encounters.get). */
export interface EncounterSummary {
  id: string;
  patientId: string;
  status: string;
}

export interface PriorAuthorizationState {
  id: string;
  status: string;
}

export interface PrescriptionsDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  patient(ctx: TenantContext, id: string): Promise<PatientSummary>;
  medication(ctx: TenantContext, id: string): Promise<MedicationSummary | undefined>;
  encounter(ctx: TenantContext, id: string): Promise<EncounterSummary | undefined>;
  /** The latest prior-authorization request of each prescription (the insurance module's); empty without it. */
  priorAuthorizations(ctx: TenantContext, prescriptionIds: string[]): Promise<Map<string, PriorAuthorizationState>>;
}

/** What a dispense needs to know once it is counted against the prescription. */
export interface DispenseCounted {
  prescriptionId: string;
  patientId: string;
  status: PrescriptionStatus;
  dispensedQuantity: number;
}

const maxOf = (row: Pick<PrescriptionRow, 'quantity' | 'refills'>) => row.quantity * (row.refills + 1);
const PAST: Record<PrescriptionAction, string> = { complete: 'completed', cancel: 'cancelled' };

function toPrescription(row: PrescriptionRow, priorAuthorization: PriorAuthorizationState | null): Prescription {
  return {
    id: row.id,
    patientId: row.patientId,
    encounterId: row.encounterId,
    medicationId: row.medicationId,
    prescriberId: row.prescriberId,
    dose: row.dose,
    route: row.route,
    frequency: row.frequency,
    durationDays: row.durationDays,
    quantity: row.quantity,
    refills: row.refills,
    instructions: row.instructions,
    status: row.status as PrescriptionStatus,
    dispensedQuantity: row.dispensedQuantity,
    maxDispensable: maxOf(row),
    requiresPriorAuth: row.requiresPriorAuth,
    priorAuthorization,
    overrideReason: row.overrideReason,
    overriddenAllergies: row.overriddenAllergies ?? null,
    completedAt: row.completedAt,
    cancelledAt: row.cancelledAt,
    cancelledBy: row.cancelledBy,
    cancelReason: row.cancelReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function notFound(what: string, field?: string): AppError {
  return new AppError(
    'NOT_FOUND',
    `${what} not found`,
    field ? [{ path: `body.${field}`, message: `no such ${what}` }] : undefined,
  );
}

const isNotFound = (error: unknown) => error instanceof AppError && error.code === 'NOT_FOUND';

/**
 * Prescriptions: written by doctors against the patient's recorded allergies, dispensed by the
 * pharmacy (which counts each dispense here, in its own transaction), completed or cancelled.
 * Every read is on the audit trail with the patient's id.
 */
export class PrescriptionsService {
  constructor(private readonly deps: PrescriptionsDependencies) {}

  async create(ctx: TenantContext, input: CreatePrescription): Promise<Prescription> {
    // The patient's record is read (and that read audited) whether or not the prescription is written.
    const patient = await this.deps.patient(ctx, input.patientId).catch((error: unknown) => {
      throw isNotFound(error) ? notFound('patient', 'patientId') : error;
    });
    const medication = await this.deps.medication(ctx, input.medicationId);
    if (!medication) throw notFound('medication', 'medicationId');
    if (input.encounterId) await this.checkEncounter(ctx, input.encounterId, input.patientId);
    if (patient.status !== 'active')
      throw new AppError('CONFLICT', `the patient is ${patient.status}: no new prescriptions for them`);
    if (!medication.active)
      throw new AppError('CONFLICT', 'the medication is deactivated: it cannot be prescribed', [
        { path: 'body.medicationId', message: 'is deactivated' },
      ]);

    const conflicts = conflictingAllergies(patient.allergies, medication).map(({ substance, severity }) => ({
      substance,
      ...(severity ? { severity } : {}),
    }));
    if (conflicts.length > 0 && !input.overrideReason) {
      // The refusal is a clinical safety event: on the trail, with the patient, though nothing is written.
      await this.deps.uow.write(ctx, async (work) => {
        work.audit({
          action: 'prescriptions.allergy-conflict',
          resourceType: 'prescription',
          patientId: patient.id,
          outcome: 'denied',
        });
      });
      const named = conflicts.map((allergy) => `"${allergy.substance}"`).join(', ');
      throw new AppError(
        'CONFLICT',
        `the patient has a recorded allergy to ${named}, which this medication matches: send overrideReason to prescribe it anyway`,
        conflicts.map((allergy) => ({
          path: 'body.medicationId',
          message: `allergy: ${allergy.substance}${allergy.severity ? ` (${allergy.severity})` : ''}`,
        })),
      );
    }

    const overridden = conflicts.length > 0;
    const row = await this.deps.uow.write(ctx, async (work) => {
      const row = await work.repo(PrescriptionsRepository).insert(
        {
          patientId: input.patientId,
          encounterId: input.encounterId ?? null,
          medicationId: input.medicationId,
          prescriberId: ctx.user.id,
          dose: input.dose,
          route: input.route,
          frequency: input.frequency,
          durationDays: input.durationDays,
          quantity: input.quantity,
          refills: input.refills,
          instructions: input.instructions ?? null,
          requiresPriorAuth: medication.requiresPriorAuth,
          // A reason with nothing to override overrides nothing: it is not kept.
          overrideReason: overridden ? input.overrideReason! : null,
          overriddenAllergies: overridden ? conflicts : null,
        },
        this.deps.now(),
      );
      const event = { resourceType: 'prescription', resourceId: row.id, patientId: row.patientId };
      work.audit({ action: 'prescriptions.create', ...event });
      if (overridden) work.audit({ action: 'prescriptions.allergy-override', ...event });
      return row;
    });
    return toPrescription(row, null);
  }

  /** One prescription, audited as a read (`prescriptions.read`); 404 when not the organization's. */
  async get(ctx: TenantContext, id: string): Promise<Prescription> {
    const row = await this.deps.uow.read(ctx, async (work) => {
      const row = await work.repo(PrescriptionsRepository).find(id);
      if (!row) throw new AppError('NOT_FOUND', 'prescription not found');
      work.audit({
        action: 'prescriptions.read',
        resourceType: 'prescription',
        resourceId: id,
        patientId: row.patientId,
      });
      return row;
    });
    const states = await this.deps.priorAuthorizations(ctx, [row.id]);
    return toPrescription(row, states.get(row.id) ?? null);
  }

  /** Prescriptions in the order they were written, optionally of one patient or in one status. */
  async list(ctx: TenantContext, query: PrescriptionQuery) {
    const page = await this.deps.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(PrescriptionsRepository)
        .list({ patientId: query.patientId, status: query.status }, query.limit, decodeCursor(query.cursor));
      const page = toPage(
        rows,
        query.limit,
        (row) => ({ sort: row.createdAt.toISOString(), id: row.id }),
        (row) => row,
      );
      // Every patient whose prescriptions the caller saw; an empty page reads the patient filtered on.
      work.audit({
        action: 'prescriptions.list',
        resourceType: 'prescription',
        ...listedPatients(page.data, query.patientId),
      });
      return page;
    });
    const states = await this.deps.priorAuthorizations(
      ctx,
      page.data.map((row) => row.id),
    );
    return {
      data: page.data.map((row) => toPrescription(row, states.get(row.id) ?? null)),
      nextCursor: page.nextCursor,
    };
  }

  complete(ctx: TenantContext, id: string): Promise<Prescription> {
    return this.transition(ctx, id, 'complete');
  }

  cancel(ctx: TenantContext, id: string, reason: string): Promise<Prescription> {
    return this.transition(ctx, id, 'cancel', reason);
  }

  /**
   * Counts a dispense of `quantity` units of `medicationId` against the prescription, for the pharmacy,
   * inside its transaction (this write joins it). Refused (409) unless the prescription is active, for
   * that medication, within quantity x (refills + 1), and, when it needs one, prior-authorized. The
   * dispense that reaches the total completes it.
   */
  dispense(
    ctx: TenantContext,
    id: string,
    request: { medicationId: string; quantity: number },
  ): Promise<DispenseCounted> {
    return this.deps.uow.write(ctx, async (work) => {
      const repo = work.repo(PrescriptionsRepository);
      const current = await repo.find(id);
      if (!current) throw notFound('prescription', 'prescriptionId');
      if (current.medicationId !== request.medicationId)
        throw new AppError('CONFLICT', 'the prescription is for another medication', [
          { path: 'body.medicationId', message: "is not the prescription's medication" },
        ]);
      if (current.status !== 'active')
        throw new AppError('CONFLICT', `the prescription is ${current.status}: nothing more is dispensed against it`);
      if (current.requiresPriorAuth) {
        const latest = (await this.deps.priorAuthorizations(ctx, [id])).get(id);
        if (latest?.status !== 'approved')
          throw new AppError(
            'CONFLICT',
            `the prescription needs an approved prior authorization before it is dispensed (${latest ? `the latest request is ${latest.status}` : 'none was requested'})`,
          );
      }
      const updated = await repo.addDispensed(id, request.quantity, this.deps.now());
      if (!updated) {
        // Refused by the statement itself: another dispense or a cancellation came first.
        const now = (await repo.find(id))!;
        if (now.status !== 'active')
          throw new AppError('CONFLICT', `the prescription is ${now.status}: nothing more is dispensed against it`);
        const left = maxOf(now) - now.dispensedQuantity;
        throw new AppError(
          'CONFLICT',
          `dispensing ${request.quantity} would exceed the prescription: ${left} of ${maxOf(now)} left to dispense`,
        );
      }
      if (updated.status === 'completed') {
        work.audit({
          action: 'prescriptions.complete',
          resourceType: 'prescription',
          resourceId: id,
          patientId: updated.patientId,
        });
      }
      return {
        prescriptionId: id,
        patientId: updated.patientId,
        status: updated.status as PrescriptionStatus,
        dispensedQuantity: updated.dispensedQuantity,
      };
    });
  }

  private async checkEncounter(ctx: TenantContext, encounterId: string, patientId: string): Promise<void> {
    const encounter = await this.deps.encounter(ctx, encounterId);
    if (!encounter) throw notFound('encounter', 'encounterId');
    if (encounter.patientId !== patientId)
      throw new AppError('VALIDATION_FAILED', 'the encounter is of another patient', [
        { path: 'body.encounterId', message: 'is not an encounter of this patient' },
      ]);
    if (encounter.status !== 'open')
      throw new AppError('CONFLICT', `the encounter is ${encounter.status}: nothing more is added to it`);
  }

  private async transition(
    ctx: TenantContext,
    id: string,
    action: PrescriptionAction,
    reason?: string,
  ): Promise<Prescription> {
    const row = await this.deps.uow.write(ctx, async (work) => {
      const repo = work.repo(PrescriptionsRepository);
      const current = await repo.find(id, true);
      if (!current) throw new AppError('NOT_FOUND', 'prescription not found');
      const next = nextStatus(current.status, action);
      if (!next) throw new AppError('CONFLICT', `the prescription is ${current.status}: it cannot be ${PAST[action]}`);
      const row = await repo.close(id, next as 'completed' | 'cancelled', { by: ctx.user.id, reason }, this.deps.now());
      work.audit({
        action: `prescriptions.${action}`,
        resourceType: 'prescription',
        resourceId: id,
        patientId: current.patientId,
      });
      return row!;
    });
    const states = await this.deps.priorAuthorizations(ctx, [row.id]);
    return toPrescription(row, states.get(row.id) ?? null);
  }
}
