import { cachedListHead, cachedStamped, pageFromHead } from '../../platform/cache-values.js';
import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork, Work } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type MedicationRow, MedicationsRepository } from './medications.repository.js';
import type { CreateMedication, Medication, MedicationQuery, UpdateMedication } from './medications.shapes.js';

const toMedication = ({ organizationId: _, ...row }: MedicationRow): Medication => row;

/**
 * The catalog is cached per organization in namespace `medications`: `medication:<id>` (one
 * medication) and `medications-of:<organizationId>` (the head of the list, its first LIST_HEAD_ROWS
 * rows: the first page of any size, unfiltered or by `active`; a search reads the database), for ten
 * minutes and without grace (prescribing checks allergies against the ingredients). Every create or
 * update through this service drops what it changed after its commit, on every instance.
 */
export const MEDICATIONS_CACHE = 'medications';
const TTL_MS = 10 * 60_000;
export const medicationCacheKey = (id: string) => `medication:${id}`;
/** The organization is in the key too: the refill guard across instances tracks keys, not namespaces. */
const listKey = (work: Work) => `medications-of:${work.ctx.organizationId}`;

const slot = (key: string) => ({ namespace: MEDICATIONS_CACHE, key, ttl: TTL_MS });

/** Lower-cased, without repeats: what allergies are matched against. */
const normalIngredients = (ingredients: string[]) => [...new Set(ingredients.map((name) => name.trim().toLowerCase()))];

async function uniqueCode<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (error) {
    const { code, constraint } = databaseError(error);
    if (code === '23505' && constraint === 'medications_code_idx')
      throw new AppError('CONFLICT', 'a medication with this code already exists', [
        { path: 'body.code', message: 'is already used by another medication' },
      ]);
    throw error;
  }
}

/**
 * The organization's medication catalog. Not patient data: reads are not audited. Medications are
 * deactivated, never deleted: prescriptions and the stock ledger refer to them.
 */
export class MedicationsService {
  constructor(
    private readonly uow: Pick<UnitOfWork, 'read' | 'write'>,
    private readonly now: Clock,
  ) {}

  create(ctx: TenantContext, input: CreateMedication): Promise<Medication> {
    const write = this.uow.write(ctx, async (work) => {
      const row = await work.repo(MedicationsRepository).insert({
        ...input,
        ingredients: normalIngredients(input.ingredients),
        active: true,
        at: this.now(),
      });
      work.audit({ action: 'medications.create', resourceType: 'medication', resourceId: row.id });
      work.invalidate(MEDICATIONS_CACHE, [listKey(work)]);
      return toMedication(row);
    });
    return uniqueCode(write);
  }

  update(ctx: TenantContext, id: string, patch: UpdateMedication): Promise<Medication> {
    const write = this.uow.write(ctx, async (work) => {
      const repo = work.repo(MedicationsRepository);
      const current = await repo.find(id, true);
      if (!current) throw new AppError('NOT_FOUND', 'medication not found');
      const row = await repo.update(id, {
        ...patch,
        ...(patch.ingredients ? { ingredients: normalIngredients(patch.ingredients) } : {}),
        updatedAt: this.now(),
      });
      work.invalidate(MEDICATIONS_CACHE, [medicationCacheKey(id), listKey(work)]);
      const { active, ...rest } = patch;
      if (active !== undefined && active !== current.active) {
        work.audit({
          action: `medications.${active ? 'reactivate' : 'deactivate'}`,
          resourceType: 'medication',
          resourceId: id,
        });
      }
      if (Object.keys(rest).length > 0 || active === current.active) {
        work.audit({ action: 'medications.update', resourceType: 'medication', resourceId: id });
      }
      return toMedication(row);
    });
    return uniqueCode(write);
  }

  /** A medication of the caller's organization, or undefined: for other modules (prescriptions, stock). */
  find(ctx: TenantContext, id: string): Promise<Medication | undefined> {
    return this.uow.read(ctx, (work) =>
      cachedStamped(work, slot(medicationCacheKey(id)), async () => {
        const row = await work.repo(MedicationsRepository).find(id);
        return row && toMedication(row);
      }),
    );
  }

  async get(ctx: TenantContext, id: string): Promise<Medication> {
    const medication = await this.find(ctx, id);
    if (!medication) throw new AppError('NOT_FOUND', 'medication not found');
    return medication;
  }

  list(ctx: TenantContext, query: MedicationQuery) {
    return this.uow.read(ctx, (work) =>
      pageFromHead(query, query.q === undefined ? () => this.head(work) : null, async () =>
        (
          await work
            .repo(MedicationsRepository)
            .list({ q: query.q, active: query.active }, query.limit, decodeCursor(query.cursor))
        ).map(toMedication),
      ),
    );
  }

  private head(work: Work) {
    return cachedListHead(work, slot(listKey(work)), async (limit) =>
      (await work.repo(MedicationsRepository).list({}, limit, undefined)).map(toMedication),
    );
  }
}
