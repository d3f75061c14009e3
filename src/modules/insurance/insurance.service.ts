import { cachedListHead, cachedStamped, pageFromHead } from '../../platform/cache-values.js';
import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type CoverageRow, InsuranceRepository, type InsurerRow } from './insurance.repository.js';
import type {
  Coverage,
  CoverageQuery,
  CreateCoverage,
  CreateInsurer,
  Insurer,
  InsurerQuery,
  UpdateCoverage,
  UpdateInsurer,
} from './insurance.shapes.js';

export interface InsuranceDependencies {
  uow: Pick<UnitOfWork, 'read' | 'write'>;
  now: Clock;
  /** Whether the patient is the caller's organization's (app.patients), or undefined when that cannot be asked. */
  patientExists(ctx: TenantContext, patientId: string): Promise<boolean | undefined>;
}

const notFound = (what: string, field?: string) =>
  new AppError(
    'NOT_FOUND',
    `${what} not found`,
    field ? [{ path: `body.${field}`, message: `${what} not found` }] : undefined,
  );

const insurerOf = ({ organizationId: _, ...row }: InsurerRow): Insurer => row;

/**
 * Insurers (not coverages, which are patient data) are cached per organization in namespace
 * `insurers`: `insurer:<id>` (one insurer) and `insurers-of:<organizationId>` (the head of the list,
 * its first LIST_HEAD_ROWS rows: the first page of any size, unfiltered or by `active`), for ten
 * minutes and without grace. Every create or update through this service drops what it changed after
 * its commit, on every instance. A new coverage checks its insurer in its own transaction, not here.
 */
export const INSURERS_CACHE = 'insurers';
const INSURER_TTL_MS = 10 * 60_000;
export const insurerCacheKey = (id: string) => `insurer:${id}`;
/** The organization is in the key too: the refill guard across instances tracks keys, not namespaces. */
const insurerListKey = (work: Work) => `insurers-of:${work.ctx.organizationId}`;

const insurerSlot = (key: string) => ({ namespace: INSURERS_CACHE, key, ttl: INSURER_TTL_MS });

export function coverageOf({ organizationId: _, ...row }: CoverageRow): Coverage {
  return { ...row, priority: row.priority === 'secondary' ? 'secondary' : 'primary' };
}

const overlapping = (other: CoverageRow) =>
  new AppError(
    'CONFLICT',
    `the patient already has an active ${other.priority} coverage from ${other.validFrom} to ${other.validTo ?? 'open-ended'} (coverage ${other.id})`,
  );

/**
 * The insurers catalog (not patient data: reads are not audited) and patients' coverages (patient
 * data: every read is audited with the patient). Two active coverages of one patient with the same
 * priority never overlap: checked here to name the one in the way, and enforced by an exclusion
 * constraint so that racing requests cannot both succeed.
 */
export class InsuranceService {
  constructor(private readonly deps: InsuranceDependencies) {}

  private get uow() {
    return this.deps.uow;
  }

  listInsurers(ctx: TenantContext, query: InsurerQuery) {
    return this.uow.read(ctx, (work) =>
      pageFromHead(
        query,
        () =>
          cachedListHead(work, insurerSlot(insurerListKey(work)), async (limit) =>
            (await work.repo(InsuranceRepository).listInsurers(limit, undefined)).map(insurerOf),
          ),
        async () =>
          (
            await work.repo(InsuranceRepository).listInsurers(query.limit, decodeCursor(query.cursor), query.active)
          ).map(insurerOf),
      ),
    );
  }

  /** An insurer of the caller's organization (cached); 404 otherwise. */
  async getInsurer(ctx: TenantContext, id: string): Promise<Insurer> {
    const insurer = await this.uow.read(ctx, (work) =>
      cachedStamped(work, insurerSlot(insurerCacheKey(id)), async () => {
        const row = await work.repo(InsuranceRepository).findInsurer(id);
        return row && insurerOf(row);
      }),
    );
    if (!insurer) throw new AppError('NOT_FOUND', 'insurer not found');
    return insurer;
  }

  createInsurer(ctx: TenantContext, input: CreateInsurer): Promise<Insurer> {
    return this.uniqueName(
      this.uow.write(ctx, async (work) => {
        const now = this.deps.now();
        const row = await work.repo(InsuranceRepository).insertInsurer({
          name: input.name,
          payerId: input.payerId ?? null,
          phone: input.phone ?? null,
          createdAt: now,
          updatedAt: now,
        });
        work.audit({ action: 'insurers.create', resourceType: 'insurer', resourceId: row.id });
        work.invalidate(INSURERS_CACHE, [insurerListKey(work)]);
        return insurerOf(row);
      }),
    );
  }

  updateInsurer(ctx: TenantContext, id: string, patch: UpdateInsurer): Promise<Insurer> {
    return this.uniqueName(
      this.uow.write(ctx, async (work) => {
        const repo = work.repo(InsuranceRepository);
        const current = await repo.findInsurer(id);
        if (!current) throw new AppError('NOT_FOUND', 'insurer not found');
        const row = (await repo.updateInsurer(id, { ...patch, updatedAt: this.deps.now() }))!;
        work.invalidate(INSURERS_CACHE, [insurerCacheKey(id), insurerListKey(work)]);
        const { active, ...rest } = patch;
        if (active !== undefined && active !== current.active) {
          work.audit({
            action: active ? 'insurers.reactivate' : 'insurers.deactivate',
            resourceType: 'insurer',
            resourceId: id,
          });
        }
        if (Object.keys(rest).length > 0 || active === current.active) {
          work.audit({ action: 'insurers.update', resourceType: 'insurer', resourceId: id });
        }
        return insurerOf(row);
      }),
    );
  }

  /** A coverage, audited as a read of its patient's data; 404 otherwise. */
  getCoverage(ctx: TenantContext, id: string): Promise<Coverage> {
    return this.uow.read(ctx, async (work) => {
      const row = await work.repo(InsuranceRepository).findCoverage(id);
      if (!row) throw new AppError('NOT_FOUND', 'coverage not found');
      this.audit(work, 'coverages.read', row);
      return coverageOf(row);
    });
  }

  /** A coverage of the caller's organization, or undefined; not audited (the caller's operation is). */
  findCoverage(ctx: TenantContext, id: string): Promise<Coverage | undefined> {
    return this.uow.read(ctx, async (work) => {
      const row = await work.repo(InsuranceRepository).findCoverage(id);
      return row && coverageOf(row);
    });
  }

  /** Coverages in creation order; one `coverages.list` event per coverage on the page, with its patient. */
  listCoverages(ctx: TenantContext, query: CoverageQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work.repo(InsuranceRepository).listCoverages(query, query.limit, decodeCursor(query.cursor));
      const page = toPage(
        rows,
        query.limit,
        (row) => ({ sort: row.createdAt.toISOString(), id: row.id }),
        (r) => r,
      );
      for (const row of page.data) this.audit(work, 'coverages.list', row);
      if (page.data.length === 0) {
        work.audit({ action: 'coverages.list', resourceType: 'coverage', patientId: query.patientId ?? null });
      }
      return { data: page.data.map(coverageOf), nextCursor: page.nextCursor };
    });
  }

  async createCoverage(ctx: TenantContext, input: CreateCoverage): Promise<Coverage> {
    if ((await this.deps.patientExists(ctx, input.patientId)) === false) throw notFound('patient', 'patientId');
    return this.noOverlap(
      this.uow.write(ctx, async (work) => {
        const repo = work.repo(InsuranceRepository);
        const insurer = await repo.findInsurer(input.insurerId);
        if (!insurer) throw notFound('insurer', 'insurerId');
        if (!insurer.active) throw new AppError('CONFLICT', 'the insurer is deactivated: it takes no new coverages');
        const range = { ...input, validTo: input.validTo ?? null };
        const other = await repo.overlappingCoverage(range);
        if (other) throw overlapping(other);
        const now = this.deps.now();
        const row = await repo.insertCoverage({
          patientId: input.patientId,
          insurerId: input.insurerId,
          memberId: input.memberId,
          plan: input.plan ?? null,
          groupNumber: input.groupNumber ?? null,
          priority: input.priority,
          validFrom: input.validFrom,
          validTo: input.validTo ?? null,
          createdAt: now,
          updatedAt: now,
        });
        this.audit(work, 'coverages.create', row);
        return coverageOf(row);
      }),
    );
  }

  /** Changes a coverage; `validTo` ends it, `active: false` deactivates it. */
  updateCoverage(ctx: TenantContext, id: string, patch: UpdateCoverage): Promise<Coverage> {
    return this.noOverlap(
      this.uow.write(ctx, async (work) => {
        const repo = work.repo(InsuranceRepository);
        const current = await repo.findCoverage(id, true);
        if (!current) throw new AppError('NOT_FOUND', 'coverage not found');
        const next = { ...current, ...patch };
        if (next.validTo !== null && next.validTo < next.validFrom) {
          throw new AppError('VALIDATION_FAILED', 'the coverage would end before it starts', [
            { path: 'body.validTo', message: `must be on or after validFrom (${next.validFrom})` },
          ]);
        }
        if (next.active) {
          const other = await repo.overlappingCoverage({ ...next, excludeId: id });
          if (other) throw overlapping(other);
        }
        const row = await repo.updateCoverage(id, { ...patch, updatedAt: this.deps.now() });
        const { active, ...rest } = patch;
        if (active !== undefined && active !== current.active) {
          this.audit(work, active ? 'coverages.reactivate' : 'coverages.deactivate', row);
        }
        if (Object.keys(rest).length > 0 || active === current.active) this.audit(work, 'coverages.update', row);
        return coverageOf(row);
      }),
    );
  }

  private audit(work: Work, action: string, row: CoverageRow): void {
    work.audit({ action, resourceType: 'coverage', resourceId: row.id, patientId: row.patientId });
  }

  private async uniqueName<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (error) {
      const { code, constraint } = databaseError(error);
      if (code === '23505' && constraint === 'insurers_name_idx') {
        throw new AppError('CONFLICT', 'an insurer with this name already exists');
      }
      throw error;
    }
  }

  /** The database's refusals, for a request that raced another past the checks above. */
  private async noOverlap<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (error) {
      const { code, constraint } = databaseError(error);
      if (code === '23P01' && constraint === 'coverages_no_overlap') {
        throw new AppError('CONFLICT', 'the patient already has an active coverage of this priority at those dates');
      }
      if (code === '23503' && constraint === 'coverages_patient_fk') throw notFound('patient', 'patientId');
      if (code === '23503' && constraint === 'coverages_insurer_fk') throw notFound('insurer', 'insurerId');
      throw error;
    }
  }
}
