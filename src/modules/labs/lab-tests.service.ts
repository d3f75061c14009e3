import { cachedListHead, cachedStamped, pageFromHead } from '../../platform/cache-values.js';
import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type LabRanges, rangeProblems } from './lab-flag.js';
import { type LabTestRow, LabTestsRepository } from './labs.repository.js';
import { type CreateLabTest, type LabTest, type LabTestQuery, rangesOf, type UpdateLabTest } from './labs.shapes.js';

export const toLabTest = ({ organizationId: _, ...row }: LabTestRow): LabTest => row;

/**
 * The catalog is cached per organization in namespace `lab-tests`: `lab-test:<id>` (one test) and
 * `lab-tests-of:<organizationId>` (the head of the list, its first LIST_HEAD_ROWS rows: the first page
 * of any size, unfiltered or by `active`; a search reads the database), for ten minutes and without
 * grace (the ranges flag results). Every create or update through this service drops what it changed
 * after its commit, on every instance. Lab orders read their test in their own transaction, not from
 * here.
 */
export const LAB_TESTS_CACHE = 'lab-tests';
const TTL_MS = 10 * 60_000;
export const labTestCacheKey = (id: string) => `lab-test:${id}`;
/** The organization is in the key too: the refill guard across instances tracks keys, not namespaces. */
const listKey = (work: Work) => `lab-tests-of:${work.ctx.organizationId}`;

const slot = (key: string) => ({ namespace: LAB_TESTS_CACHE, key, ttl: TTL_MS });

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
      work.invalidate(LAB_TESTS_CACHE, [listKey(work)]);
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
      work.invalidate(LAB_TESTS_CACHE, [labTestCacheKey(id), listKey(work)]);
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

  /** A test of the caller's organization (cached); 404 otherwise. */
  async get(ctx: TenantContext, id: string): Promise<LabTest> {
    const test = await this.uow.read(ctx, (work) =>
      cachedStamped(work, slot(labTestCacheKey(id)), async () => {
        const row = await work.repo(LabTestsRepository).find(id);
        return row && toLabTest(row);
      }),
    );
    if (!test) throw new AppError('NOT_FOUND', 'lab test not found');
    return test;
  }

  list(ctx: TenantContext, query: LabTestQuery) {
    return this.uow.read(ctx, (work) =>
      pageFromHead(query, query.q === undefined ? () => this.head(work) : null, async () =>
        (
          await work
            .repo(LabTestsRepository)
            .list({ q: query.q, active: query.active }, query.limit, decodeCursor(query.cursor))
        ).map(toLabTest),
      ),
    );
  }

  private head(work: Work) {
    return cachedListHead(work, slot(listKey(work)), async (limit) =>
      (await work.repo(LabTestsRepository).list({}, limit, undefined)).map(toLabTest),
    );
  }
}
