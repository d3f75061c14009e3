import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type LabRanges, rangeProblems } from './lab-flag.js';
import { type LabTestRow, LabTestsRepository } from './labs.repository.js';
import { type CreateLabTest, type LabTest, type LabTestQuery, rangesOf, type UpdateLabTest } from './labs.shapes.js';

export const toLabTest = ({ organizationId: _, ...row }: LabTestRow): LabTest => row;

export const rangesOfTest = (test: LabTestRow): LabRanges => ({
  referenceLow: test.referenceLow,
  referenceHigh: test.referenceHigh,
  criticalLow: test.criticalLow,
  criticalHigh: test.criticalHigh,
});

async function uniqueCode<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    const { code, constraint } = databaseError(error);
    if (code === '23505' && constraint === 'lab_tests_code_idx')
      throw new AppError('CONFLICT', 'a lab test with this code already exists', [
        { path: 'body.code', message: 'is already used by another lab test' },
      ]);
    throw error;
  }
}

/** The ranges after a patch: a bound given (a decimal, or null to clear it) replaces the current one. */
function mergedRanges(current: LabRanges, patch: Partial<LabRanges>): LabRanges {
  const pick = (key: keyof LabRanges) => (patch[key] === undefined ? current[key] : patch[key]);
  return {
    referenceLow: pick('referenceLow'),
    referenceHigh: pick('referenceHigh'),
    criticalLow: pick('criticalLow'),
    criticalHigh: pick('criticalHigh'),
  };
}

function checkRanges(ranges: LabRanges): void {
  const problems = rangeProblems(ranges);
  if (problems.length > 0) throw new AppError('VALIDATION_FAILED', 'the ranges are not in order', problems);
}

/**
 * The organization's lab test catalog. Not patient data: reads are not audited, changes are. Tests
 * are deactivated, never deleted: orders refer to them.
 */
export class LabTestsService {
  constructor(
    private readonly uow: Pick<UnitOfWork, 'read' | 'write'>,
    private readonly now: Clock,
  ) {}

  create(ctx: TenantContext, input: CreateLabTest): Promise<LabTest> {
    const write = this.uow.write(ctx, async (work) => {
      const row = await work.repo(LabTestsRepository).insert({
        code: input.code,
        name: input.name,
        unit: input.unit,
        ...rangesOf(input),
        active: true,
        at: this.now(),
      });
      work.audit({ action: 'lab-tests.create', resourceType: 'lab-test', resourceId: row.id });
      return toLabTest(row);
    });
    return uniqueCode(write);
  }

  /** Changes a test; its ranges, old and new together, must still be in order. */
  update(ctx: TenantContext, id: string, patch: UpdateLabTest): Promise<LabTest> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(LabTestsRepository);
      const current = await repo.find(id, true);
      if (!current) throw new AppError('NOT_FOUND', 'lab test not found');
      checkRanges(mergedRanges(rangesOfTest(current), patch));
      const row = await repo.update(id, { ...patch, updatedAt: this.now() });
      const { active, ...rest } = patch;
      if (active !== undefined && active !== current.active) {
        work.audit({
          action: `lab-tests.${active ? 'reactivate' : 'deactivate'}`,
          resourceType: 'lab-test',
          resourceId: id,
        });
      }
      if (Object.keys(rest).length > 0 || active === current.active) {
        work.audit({ action: 'lab-tests.update', resourceType: 'lab-test', resourceId: id });
      }
      return toLabTest(row);
    });
    return uniqueCode(write);
  }

  /** A test of the caller's organization, or undefined (inside a write: on its transaction, locked with `lock`). */
  find(ctx: TenantContext, id: string, lock = false): Promise<LabTestRow | undefined> {
    return this.uow.read(ctx, (work) => work.repo(LabTestsRepository).find(id, lock));
  }

  async get(ctx: TenantContext, id: string): Promise<LabTest> {
    const test = await this.find(ctx, id);
    if (!test) throw new AppError('NOT_FOUND', 'lab test not found');
    return toLabTest(test);
  }

  list(ctx: TenantContext, query: LabTestQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(LabTestsRepository)
        .list({ q: query.q, active: query.active }, query.limit, decodeCursor(query.cursor));
      return toPage(rows, query.limit, (r) => ({ sort: r.createdAt.toISOString(), id: r.id }), toLabTest);
    });
  }
}
