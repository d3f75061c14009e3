import type { Clock } from '../../platform/clock.js';
import type { UnitOfWork } from '../../platform/db/unit-of-work.js';
import { AppError, databaseError } from '../../platform/http/errors.js';
import { decodeCursor, toPage } from '../../platform/http/pagination.js';
import type { TenantContext } from '../../platform/tenancy/context.js';
import { type MedicationRow, MedicationsRepository } from './medications.repository.js';
import type { CreateMedication, Medication, MedicationQuery, UpdateMedication } from './medications.shapes.js';

const toMedication = ({ organizationId: _, ...row }: MedicationRow): Medication => row;

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
  async find(ctx: TenantContext, id: string): Promise<Medication | undefined> {
    const row = await this.uow.read(ctx, (work) => work.repo(MedicationsRepository).find(id));
    return row && toMedication(row);
  }

  async get(ctx: TenantContext, id: string): Promise<Medication> {
    const medication = await this.find(ctx, id);
    if (!medication) throw new AppError('NOT_FOUND', 'medication not found');
    return medication;
  }

  list(ctx: TenantContext, query: MedicationQuery) {
    return this.uow.read(ctx, async (work) => {
      const rows = await work
        .repo(MedicationsRepository)
        .list({ q: query.q, active: query.active }, query.limit, decodeCursor(query.cursor));
      return toPage(rows, query.limit, (r) => ({ sort: r.createdAt.toISOString(), id: r.id }), toMedication);
    });
  }
}
