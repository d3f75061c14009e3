import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { InsuranceRepository, type PriorAuthorizationRow } from './insurance.repository.js';
import type {
  ApprovePriorAuthorization,
  CreatePriorAuthorization,
  PriorAuthorization,
  PriorAuthorizationQuery,
  SubmitPriorAuthorization,
} from './insurance.shapes.js';
import {
  isPriorAuthStatus,
  nextPriorAuthStatus,
  PRIOR_AUTH_ACTION_WORDS,
  type PriorAuthAction,
} from './prior-authorization-status.js';

/** What this module needs of a prescription (app.prescriptions.get). */
export interface PrescriptionSummary {
  id: string;
  patientId: string;
  medicationId: string;
  status: string;
  requiresPriorAuth: boolean;
}

export interface PriorAuthorizationsDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** A prescription of the caller's organization (an audited read), or a 404 AppError / undefined. */
  prescription(ctx: TenantContext, id: string): Promise<PrescriptionSummary | undefined>;
}

const PRIOR_AUTH_NOT_FOUND = 'prior authorization not found';

const notFound = (what: string, field: string) =>
  new AppError('NOT_FOUND', `${what} not found`, [{ path: `body.${field}`, message: `${what} not found` }]);

function toPriorAuthorization({ organizationId: _, ...row }: PriorAuthorizationRow): PriorAuthorization {
  if (!isPriorAuthStatus(row.status)) throw new Error(`prior authorization ${row.id} has an unknown status`);
  return { ...row, status: row.status };
}

const openAlready = (id: string) =>
  new AppError('CONFLICT', `the prescription already has an open prior authorization (${id})`);

/**
 * Prior-authorization requests for prescriptions: draft -> submitted -> approved | denied. Doctors and
 * operators request and submit, operators record the insurer's decision. At most one request of a
 * prescription is open at a time (a partial unique index makes sure of it under races).
 */
export class PriorAuthorizationsService {
  constructor(private readonly deps: PriorAuthorizationsDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  get(ctx: TenantContext, id: string): Promise<PriorAuthorization> {
    return this.uow.read(ctx, async (work) => {
      const row = await work.repo(InsuranceRepository).findPriorAuthorization(id);
      if (!row) throw new AppError('NOT_FOUND', PRIOR_AUTH_NOT_FOUND);
      this.audit(work, 'prior-authorizations.read', row);
      return toPriorAuthorization(row);
    });
  }

  list(ctx: TenantContext, query: PriorAuthorizationQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(InsuranceRepository)
        .listPriorAuthorizations(query, query.limit, decodeCursor(query.cursor));
      const page = toPage(
        rows,
        query.limit,
        (row) => ({ sort: row.createdAt.toISOString(), id: row.id }),
        toPriorAuthorization,
      );
      for (const item of page.data) {
        work.audit({
          action: 'prior-authorizations.list',
          resourceType: 'prior-authorization',
          resourceId: item.id,
          patientId: item.patientId,
        });
      }
      if (page.data.length === 0) {
        work.audit({
          action: 'prior-authorizations.list',
          resourceType: 'prior-authorization',
          patientId: query.patientId ?? null,
        });
      }
      return page;
    });
  }

  /**
   * Each prescription's latest request ({ id, status }), for the prescriptions module to show. Not
   * audited by itself: the prescriptions read that asks is.
   */
  async latestFor(ctx: TenantContext, prescriptionIds: string[]): Promise<Map<string, { id: string; status: string }>> {
    if (prescriptionIds.length === 0) return new Map();
    const rows = await this.uow.read(ctx, (work) => work.repo(InsuranceRepository).latestFor(prescriptionIds));
    return new Map(rows.map((row) => [row.prescriptionId, { id: row.id, status: row.status }]));
  }

  /** A draft request for an active prescription, optionally with the patient's coverage. */
  async create(ctx: TenantContext, input: CreatePriorAuthorization): Promise<PriorAuthorization> {
    const prescription = await this.prescription(ctx, input.prescriptionId);
    if (prescription.status !== 'active') {
      throw new AppError(
        'CONFLICT',
        `the prescription is ${prescription.status}: only an active prescription gets a prior authorization`,
      );
    }
    return this.uniquelyOpen(
      this.uow.write(ctx, async (work) => {
        const repo = work.repo(InsuranceRepository);
        const open = await repo.openPriorAuthorization(prescription.id);
        if (open) throw openAlready(open.id);
        if (input.coverageId) await this.checkCoverage(repo, input.coverageId, prescription.patientId);
        const now = this.deps.now();
        const row = await repo.insertPriorAuthorization({
          prescriptionId: prescription.id,
          patientId: prescription.patientId,
          coverageId: input.coverageId ?? null,
          status: 'draft',
          justification: input.justification ?? null,
          createdBy: ctx.user.id,
          createdAt: now,
          updatedAt: now,
        });
        this.audit(work, 'prior-authorizations.create', row);
        return toPriorAuthorization(row);
      }),
      input.prescriptionId,
    );
  }

  /** Submits a draft to the insurer of its coverage (given now, or when it was drafted). */
  submit(ctx: TenantContext, id: string, input: SubmitPriorAuthorization): Promise<PriorAuthorization> {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(InsuranceRepository);
      const current = await this.transitionable(repo, id, 'submit');
      const coverageId = input?.coverageId ?? current.coverageId;
      if (!coverageId) {
        throw new AppError('CONFLICT', 'the prior authorization has no coverage to go to: give coverageId');
      }
      if (input?.coverageId) await this.checkCoverage(repo, input.coverageId, current.patientId);
      const now = this.deps.now();
      const row = await repo.updatePriorAuthorization(id, {
        status: 'submitted',
        coverageId,
        ...(input?.justification ? { justification: input.justification } : {}),
        submittedAt: now,
        submittedBy: ctx.user.id,
        updatedAt: now,
      });
      this.audit(work, 'prior-authorizations.submit', row);
      return toPriorAuthorization(row);
    });
  }

  approve(ctx: TenantContext, id: string, input: ApprovePriorAuthorization): Promise<PriorAuthorization> {
    const now = this.deps.now();
    if (input?.validUntil && input.validUntil < now.toISOString().slice(0, 10)) {
      throw new AppError('VALIDATION_FAILED', 'the approval would end before it is given', [
        { path: 'body.validUntil', message: 'must not be before today' },
      ]);
    }
    return this.decide(ctx, id, 'approve', {
      decisionNotes: input?.notes ?? null,
      authorizationNumber: input?.authorizationNumber ?? null,
      validUntil: input?.validUntil ?? null,
    });
  }

  deny(ctx: TenantContext, id: string, notes: string): Promise<PriorAuthorization> {
    return this.decide(ctx, id, 'deny', { decisionNotes: notes });
  }

  private decide(
    ctx: TenantContext,
    id: string,
    action: 'approve' | 'deny',
    decision: Partial<PriorAuthorizationRow>,
  ): Promise<PriorAuthorization> {
    return this.uow.write(ctx, async (work) => {
      const repo = work.repo(InsuranceRepository);
      await this.transitionable(repo, id, action);
      const now = this.deps.now();
      const row = await repo.updatePriorAuthorization(id, {
        ...decision,
        status: action === 'approve' ? 'approved' : 'denied',
        decidedAt: now,
        decidedBy: ctx.user.id,
        updatedAt: now,
      });
      this.audit(work, `prior-authorizations.${action}`, row);
      return toPriorAuthorization(row);
    });
  }

  private audit(work: Work, action: string, row: PriorAuthorizationRow): void {
    work.audit({ action, resourceType: 'prior-authorization', resourceId: row.id, patientId: row.patientId });
  }

  /** The prescription, through its module; a 404 naming the field when it is not the organization's. */
  private async prescription(ctx: TenantContext, id: string): Promise<PrescriptionSummary> {
    try {
      const found = await this.deps.prescription(ctx, id);
      if (found) return found;
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'NOT_FOUND')) throw error;
    }
    throw notFound('prescription', 'prescriptionId');
  }

  /** A coverage of the prescription's patient that is active; 404, 400 or 409 otherwise. */
  private async checkCoverage(repo: InsuranceRepository, coverageId: string, patientId: string): Promise<void> {
    const coverage = await repo.findCoverage(coverageId);
    if (!coverage) throw notFound('coverage', 'coverageId');
    if (coverage.patientId !== patientId) {
      throw new AppError('VALIDATION_FAILED', "the coverage is another patient's", [
        { path: 'body.coverageId', message: "is not a coverage of the prescription's patient" },
      ]);
    }
    if (!coverage.active) throw new AppError('CONFLICT', 'the coverage is deactivated');
  }

  /** The request, locked, if the machine allows `action` from its status; 404 or 409 otherwise. */
  private async transitionable(repo: InsuranceRepository, id: string, action: PriorAuthAction) {
    const current = await repo.findPriorAuthorization(id, true);
    if (!current) throw new AppError('NOT_FOUND', PRIOR_AUTH_NOT_FOUND);
    const next = isPriorAuthStatus(current.status) ? nextPriorAuthStatus(current.status, action) : undefined;
    if (!next) {
      throw new AppError(
        'CONFLICT',
        `the prior authorization is ${current.status}: it cannot be ${PRIOR_AUTH_ACTION_WORDS[action]}`,
      );
    }
    return current;
  }

  /** A second open request made at the same moment as another: the partial unique index refused it. */
  private async uniquelyOpen<T>(write: Promise<T>, prescriptionId: string): Promise<T> {
    try {
      return await write;
    } catch (error) {
      const { code, constraint } = databaseError(error);
      if (code === '23505' && constraint === 'prior_authorizations_open_idx') {
        throw new AppError('CONFLICT', `the prescription ${prescriptionId} already has an open prior authorization`);
      }
      throw error;
    }
  }
}
