import { randomUUID } from 'node:crypto';
import { AuditRepository } from '../../platform/audit/audit.repository.js';
import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, type PageQuery, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { decodeNameCursor, toNamePage } from './name-cursor.js';
import { foldForSearch, phoneDigits } from './patient-names.js';
import {
  type PatientChanges,
  type PatientRow,
  PatientsRepository,
  type PatientSummaryRow,
} from './patients.repository.js';
import type {
  CreatePatient,
  Patient,
  PatientListQuery,
  PatientLookupQuery,
  PatientStatus,
  PatientSummary,
  UpdatePatient,
} from './patients.shapes.js';

/** Whether the caller (a doctor) treats the patient: an appointment or an encounter with them. */
export type TreatingCheck = (ctx: TenantContext, patientId: string) => Promise<boolean>;

const MRN_COUNTER = 'mrn';
/**
 * MRNs each process takes from the counter at once. A restart skips what is left of its blocks
 * (at most this many less one per organization).
 */
const MRN_BLOCK = 20;
/** Generated MRNs skip values someone gave by hand; this many in a row would mean something is wrong. */
const MRN_ATTEMPTS = 50;
// The earliest time zone is UTC+14: a birth date is "in the future" only if it is after today there.
const EARLIEST_ZONE_MS = 14 * 60 * 60 * 1000;

export const formatMrn = (n: number) => `MRN-${String(n).padStart(6, '0')}`;

/**
 * Patients by id are cached per organization (namespace `patients`, key `patient:<id>`), in each
 * process's memory only (never in Redis: see cache-stores.ts), for five minutes and without grace: every
 * change through this service drops the entry after its commit, on every instance, and an expired
 * record is read again rather than served old (allergies matter).
 */
export const PATIENTS_CACHE = 'patients';
const PATIENT_TTL_MS = 5 * 60_000;
export const patientCacheKey = (id: string) => `patient:${id}`;

/** A patient as cached: JSON (the memory layer keeps it as text), dates as ISO strings. */
type CachedPatient = Omit<Patient, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

const toCached = (row: PatientRow): CachedPatient => {
  const patient = toPatient(row);
  return { ...patient, createdAt: patient.createdAt.toISOString(), updatedAt: patient.updatedAt.toISOString() };
};
const fromCached = (cached: CachedPatient): Patient => ({
  ...cached,
  createdAt: new Date(cached.createdAt),
  updatedAt: new Date(cached.updatedAt),
});

function toSummary(row: PatientSummaryRow): PatientSummary {
  return {
    id: row.id,
    mrn: row.mrn,
    givenName: row.givenName,
    familyName: row.familyName,
    birthDate: row.birthDate,
    sex: row.sex,
    status: row.status as PatientStatus,
    primaryHospitalId: row.primaryHospitalId,
  };
}

function toPatient(row: PatientRow): Patient {
  return {
    ...toSummary(row),
    phone: row.phone,
    email: row.email,
    address: row.address,
    emergencyContact: row.emergencyContact,
    allergies: row.allergies,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function isForeignKeyError(error: unknown, constraint: string): boolean {
  const refused = databaseError(error);
  return refused.code === '23503' && refused.constraint === constraint;
}

const patientNotFound = () => new AppError('NOT_FOUND', 'patient not found');

/**
 * Patients of the caller's organization: registration with a unique MRN, search, the two-identifier
 * lookup, archiving, and the access log. Every read of a patient is on the audit trail with its id.
 */
export class PatientsService {
  constructor(
    private readonly uow: Pick<UnitOfWork, 'read' | 'write' | 'takeNumber'>,
    private readonly now: Clock,
    private readonly isTreating: TreatingCheck,
  ) {}

  async create(ctx: TenantContext, input: CreatePatient): Promise<Patient> {
    this.checkBirthDate(input.birthDate);
    if (input.mrn !== undefined) {
      const created = await this.register(ctx, input, input.mrn);
      if (!created) throw new AppError('CONFLICT', 'a patient with this MRN already exists');
      return created;
    }
    for (let attempt = 0; attempt < MRN_ATTEMPTS; attempt++) {
      // Numbered before the write (a gap if it then fails), from a block this process took, so that
      // registrations neither wait for each other's commits on the counter's row nor each pay a
      // statement of their own for it.
      const next = await this.uow.takeNumber(ctx, MRN_COUNTER, MRN_BLOCK);
      const created = await this.register(ctx, input, formatMrn(next));
      if (created) return created;
      // Someone gave this number by hand: the next one (rare).
    }
    throw new Error(`no free MRN after ${MRN_ATTEMPTS} attempts`);
  }

  /**
   * The patient registered under `mrn`, or null (nothing written) when the MRN is taken. Its id and
   * times are made here, so nothing is read back: the INSERT leaves with the audit event and the
   * COMMIT, one round trip, and a taken MRN rolls the three back.
   */
  private async register(ctx: TenantContext, input: CreatePatient, mrn: string): Promise<Patient | null> {
    try {
      return await this.uow.write(ctx, async (work) => {
        const at = this.now();
        const row: PatientRow = {
          id: randomUUID(),
          organizationId: ctx.organizationId,
          mrn,
          givenName: input.givenName,
          familyName: input.familyName,
          searchGiven: foldForSearch(input.givenName),
          searchFamily: foldForSearch(input.familyName),
          birthDate: input.birthDate,
          sex: input.sex,
          phone: input.phone ?? null,
          phoneDigits: input.phone === undefined ? null : phoneDigits(input.phone),
          email: input.email ?? null,
          address: input.address ?? null,
          emergencyContact: input.emergencyContact ?? null,
          allergies: input.allergies,
          primaryHospitalId: input.primaryHospitalId ?? null,
          status: 'active',
          createdAt: at,
          updatedAt: at,
        };
        work.answerAtCommit(this.hospitalChecked(() => work.repo(PatientsRepository).insert(row)));
        work.audit({ action: 'patients.create', resourceType: 'patient', resourceId: row.id, patientId: row.id });
        return toPatient(row);
      });
    } catch (error) {
      const refused = databaseError(error);
      if (refused.code === '23505' && refused.constraint === 'patients_mrn_idx') return null;
      throw error;
    }
  }

  update(ctx: TenantContext, id: string, patch: UpdatePatient): Promise<Patient> {
    if (patch.birthDate !== undefined) this.checkBirthDate(patch.birthDate);
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(PatientsRepository);
      const current = await repo.lock(id);
      if (!current) throw patientNotFound();
      if (current.status === 'archived') throw new AppError('CONFLICT', 'the patient is archived: unarchive first');
      const changes: PatientChanges = { ...patch, updatedAt: this.now() };
      if (patch.givenName !== undefined) changes.searchGiven = foldForSearch(patch.givenName);
      if (patch.familyName !== undefined) changes.searchFamily = foldForSearch(patch.familyName);
      if (patch.phone !== undefined) changes.phoneDigits = patch.phone === null ? null : phoneDigits(patch.phone);
      const row = await this.hospitalChecked(() => repo.update(id, changes));
      work.audit({ action: 'patients.update', resourceType: 'patient', resourceId: id, patientId: id });
      work.invalidate(PATIENTS_CACHE, [patientCacheKey(id)]);
      return toPatient(row!);
    });
  }

  archive(ctx: TenantContext, id: string): Promise<Patient> {
    return this.setStatus(ctx, id, 'active', 'archived', 'patients.archive');
  }

  unarchive(ctx: TenantContext, id: string): Promise<Patient> {
    return this.setStatus(ctx, id, 'archived', 'active', 'patients.unarchive');
  }

  /**
   * One patient, audited as a read (`patients.read`); 404 when not in the caller's organization.
   * Served from the cache when warm; the audit event still goes to the group commit, durable before
   * the answer.
   */
  get(ctx: TenantContext, id: string): Promise<Patient> {
    return this.uow.read(ctx, async (work) => {
      const cached = await this.cachedPatient(work, id);
      if (!cached) throw patientNotFound();
      work.audit({ action: 'patients.read', resourceType: 'patient', resourceId: id, patientId: id });
      return fromCached(cached);
    });
  }

  /**
   * Whether the patient is in the caller's organization (and active, with `activeOnly`), for other
   * modules that attach records to a patient by id. Reveals no patient data, so it is not audited.
   * Inside a write it reads the transaction (the cache is for reads of their own).
   */
  async exists(ctx: TenantContext, id: string, options: { activeOnly?: boolean } = {}): Promise<boolean> {
    const status = await this.uow.read(ctx, async (work) =>
      work.cache ? (await this.cachedPatient(work, id))?.status : work.repo(PatientsRepository).status(id),
    );
    return status !== undefined && (!options.activeOnly || status === 'active');
  }

  /** The patient from the cache, or the database (then cached); null when there is none (not cached). */
  private cachedPatient(work: Work, id: string): Promise<CachedPatient | null> {
    return work.cached(PATIENTS_CACHE, {
      key: patientCacheKey(id),
      ttl: PATIENT_TTL_MS,
      factory: async () => {
        const row = await work.repo(PatientsRepository).find(id);
        return row ? toCached(row) : null;
      },
    });
  }

  /**
   * A page of patients sorted by (family, given, id). Audited as one `patients.list` event
   * (resourceType `patient-list`) with every patient returned in its patientIds.
   */
  list(ctx: TenantContext, query: PatientListQuery) {
    return this.uow.read(ctx, async (work) => {
      const digits = query.phone === undefined ? undefined : phoneDigits(query.phone);
      const rows = await work
        .repo(PatientsRepository)
        .search(
          { status: query.status, q: query.q, birthDate: query.birthDate, mrn: query.mrn, phoneDigits: digits },
          query.limit,
          decodeNameCursor(query.cursor),
        );
      const page = toNamePage(rows, query.limit, toSummary);
      work.audit({ action: 'patients.list', resourceType: 'patient-list', patientIds: page.data.map((p) => p.id) });
      return page;
    });
  }

  /**
   * The one patient that two identifiers select: an MRN, or a family name (and optionally the given
   * name) with the birth date. A name alone never selects a patient. Active patients only.
   */
  lookup(ctx: TenantContext, query: PatientLookupQuery): Promise<Patient> {
    const named = query.familyName !== undefined || query.givenName !== undefined;
    if (query.mrn === undefined) {
      if (!named || query.birthDate === undefined) {
        throw new AppError(
          'VALIDATION_FAILED',
          'a name alone never selects a patient: give mrn, or a name and birthDate',
          [{ path: 'querystring', message: 'a second identifier is needed: mrn, or familyName with birthDate' }],
        );
      }
      if (query.familyName === undefined) {
        throw new AppError('VALIDATION_FAILED', 'a lookup by name needs the family name', [
          { path: 'querystring.familyName', message: 'is required with givenName and birthDate' },
        ]);
      }
    }
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(PatientsRepository).lookup(query);
      if (rows.length === 0) throw patientNotFound();
      if (rows.length > 1) throw new AppError('CONFLICT', 'several patients match: give the MRN to choose one');
      auditRead(work, 'patients.lookup', rows[0]!.id);
      return toPatient(rows[0]!);
    });
  }

  /**
   * Who read or changed the patient's record, newest first, from the audit trail. Admins and managers
   * see it for any patient; a doctor only for a patient they treat. Reading it is audited too.
   */
  async accessLog(ctx: TenantContext, id: string, page: PageQuery) {
    if (!(await this.exists(ctx, id))) throw patientNotFound();
    const seesAll = ctx.role === 'admin' || ctx.role === 'manager';
    if (!seesAll && !(await this.isTreating(ctx, id))) {
      throw new AppError(
        'FORBIDDEN',
        "only the patient's treating doctor, a manager or an admin may read the access log",
      );
    }
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(AuditRepository).list({ patientId: id }, page.limit, decodeCursor(page.cursor));
      work.audit({ action: 'patients.access-log', resourceType: 'patient', resourceId: id, patientId: id });
      return toPage(
        rows,
        page.limit,
        (row) => ({ sort: row.occurredAt.toISOString(), id: row.id }),
        (row) => ({
          id: row.id,
          occurredAt: row.occurredAt,
          actorType: row.actorType,
          actorId: row.actorId,
          actorRole: row.actorRole,
          action: row.action,
          resourceType: row.resourceType,
          resourceId: row.resourceId,
          outcome: row.outcome,
        }),
      );
    });
  }

  private setStatus(ctx: TenantContext, id: string, from: PatientStatus, to: PatientStatus, action: string) {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(PatientsRepository);
      const current = await repo.lock(id);
      if (!current) throw patientNotFound();
      if (current.status !== from) throw new AppError('CONFLICT', `the patient is already ${current.status}`);
      const row = await repo.update(id, { status: to, updatedAt: this.now() });
      work.audit({ action, resourceType: 'patient', resourceId: id, patientId: id });
      work.invalidate(PATIENTS_CACHE, [patientCacheKey(id)]);
      return toPatient(row!);
    });
  }

  private checkBirthDate(birthDate: string): void {
    const latest = new Date(this.now().getTime() + EARLIEST_ZONE_MS).toISOString().slice(0, 10);
    if (birthDate > latest) {
      throw new AppError('VALIDATION_FAILED', 'the body is not valid', [
        { path: 'body.birthDate', message: 'must not be in the future' },
      ]);
    }
  }

  /** A primaryHospitalId that is not one of the organization's hospitals is named as such. */
  private async hospitalChecked<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isForeignKeyError(error, 'patients_primary_hospital_fk')) {
        throw new AppError('NOT_FOUND', 'hospital not found', [
          { path: 'body.primaryHospitalId', message: 'no such hospital in this organization' },
        ]);
      }
      throw error;
    }
  }
}

function auditRead(work: Work, action: string, patientId: string): void {
  work.audit({ action, resourceType: 'patient', resourceId: patientId, patientId });
}
